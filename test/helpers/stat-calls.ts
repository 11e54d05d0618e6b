/**
 * Counts the `stat` and `lstat` calls of node:fs/promises made by everything in this process (the
 * real calls, run as they are): the modules' named imports of them are live bindings, which
 * `syncBuiltinESMExports` points at the counting wrappers until the test `t` ends (without `t`,
 * for the rest of the process: bench/resumed-store.ts). File handles' own fstat and hash workers'
 * calls are not counted. A test file runs in a process of its own.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { TestContext } from './temp-dir.js';

export interface StatCalls {
  /** Calls since the last reset. */
  readonly count: number;
  reset(): void;
}

export function countStatCalls(t?: TestContext): StatCalls {
  const fsp = createRequire(import.meta.url)('node:fs/promises') as Record<string, unknown>;
  let count = 0;
  const real = new Map<string, unknown>();
  for (const name of ['stat', 'lstat']) {
    const call = fsp[name] as (...args: unknown[]) => unknown;
    real.set(name, call);
    fsp[name] = (...args: unknown[]) => {
      count++;
      return call(...args);
    };
  }
  syncBuiltinESMExports();
  t?.after(() => {
    for (const [name, call] of real) fsp[name] = call;
    syncBuiltinESMExports();
  });
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
