/** Numeric CLI values, checked: a bad one is a UsageError (exit 2), never NaN further down. */
import { UsageError } from './usage-error.js';

export function parseCount(flag: string, s: string, min: number, max: number): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag} takes a whole number, not '${s}'`);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, not ${s}`);
  return n;
}

export function parseSeconds(flag: string, s: string): number {
  if (!/^\d+(\.\d+)?$/.test(s)) throw new UsageError(`${flag} takes seconds, not '${s}'`);
  const n = Number(s);
  if (n <= 0) throw new UsageError(`${flag} must be more than 0 seconds`);
  return n;
}

/** A size such as 16384, 256K, 1M, 2MiB. */
export function parseSize(flag: string, s: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (m === null) throw new UsageError(`${flag} takes a size such as 262144, 256K or 1M, not '${s}'`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[
    m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag}: ${s} is too large`);
  return n;
}

/** A rate such as 512K or 2M (bytes per second), at least one block a second. */
export function parseRate(flag: string, s: string): number {
  const n = parseSize(flag, s);
  if (n < 16 * 1024) throw new UsageError(`${flag} must be at least 16K (one block a second), not ${s}`);
  return n;
}
