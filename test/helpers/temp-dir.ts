/**
 * A temp folder removed after the test, and a promise bounded in time: what many tests share.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestContext {
  after(fn: () => unknown): void;
}

/**
 * A fresh folder under the system's temp folder, removed when the test ends. node:test runs a
 * test's `after` hooks in the order they were added, so this removal comes before the closes a test
 * adds later: a component still writing into the folder (a DHT node saving its state) can add a
 * file while it is removed, and the removal is tried again (ENOTEMPTY) instead of failing the test.
 */
export async function tempDir(t: TestContext, prefix = 'bitstate-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/**
 * `p`, or a rejection naming `what` after `ms`: a guard against a hang, not a measure — 60 s or more
 * (docs/testing.md, "On a loaded machine").
 */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
