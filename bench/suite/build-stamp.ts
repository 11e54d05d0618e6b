/**
 * Which bitstate build a part measured: the git commit, the source files changed since, and when
 * dist/ was last built. The work tree is shared with other engineers who rebuild dist/ at any time,
 * so the suite notes the stamp before and after every part and says when it changed in between.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/interop/harness/paths.js';

export interface BuildStamp {
  readonly commit: string;
  /** Files under src/ and machines/ that differ from the commit. */
  readonly dirty: readonly string[];
  /** mtime of dist/cli/main.js, the CLI's bundle (ISO), or 'missing'. */
  readonly builtAt: string;
}

export function buildStamp(): BuildStamp {
  const root = repoRoot();
  const git = (args: string[]): string => {
    try {
      // trimEnd only: porcelain lines start with a status column that may be a space.
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', timeout: 10_000 }).trimEnd();
    } catch {
      return '';
    }
  };
  let builtAt = 'missing';
  try {
    builtAt = statSync(join(root, 'dist', 'cli', 'main.js')).mtime.toISOString();
  } catch {
    // not built
  }
  return {
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--', 'src', 'machines'])
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.slice(3)),
    builtAt,
  };
}

export function describeStamp(s: BuildStamp): string {
  const dirty =
    s.dirty.length === 0 ? 'clean' : `${s.dirty.length} changed: ${s.dirty.slice(0, 5).join(', ')}`;
  return `commit ${s.commit} (src/ machines/ ${dirty}), dist built ${s.builtAt}`;
}
