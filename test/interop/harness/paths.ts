/**
 * Finds the harness's non-TypeScript files (the python scripts) both when run from source with tsx
 * and when compiled to dist/ (the benchmark's `npm run bench`), where they are not copied.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function findRootAbove(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'interop'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The repository root: the nearest folder above this file (else above the working directory)
 * with a package.json and a test/interop folder.
 */
export function repoRoot(): string {
  const root = findRootAbove(here) ?? findRootAbove(process.cwd());
  if (root === undefined) throw new Error(`no repository root above ${here} or ${process.cwd()}`);
  return root;
}

/** Absolute path of a file kept in test/interop/harness/. */
export function harnessFile(name: string): string {
  const local = join(here, name);
  return existsSync(local) ? local : join(repoRoot(), 'test', 'interop', 'harness', name);
}
