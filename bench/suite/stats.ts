/**
 * Pure helpers of the benchmark suite: medians, rates, ratios and the plain-text tables every part
 * prints. No I/O here, so test/unit/bench/ can check them exactly.
 */

export const GIB = 2 ** 30;
export const MIB = 2 ** 20;

/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Payload megabytes (10^6 bytes, as download rates are quoted) per second. */
export function megabytesPerSecond(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / 1e6 / seconds : Number.NaN;
}

/** CPU seconds scaled to one GiB of payload. */
export function perGiB(cpuSeconds: number, bytes: number): number {
  return bytes > 0 ? (cpuSeconds * GIB) / bytes : Number.NaN;
}

/** "1 round", "3 rounds"; `plural` for nouns that take more than an s ("processes"). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** a / b, NaN unless both are finite and b is not zero. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

/**
 * The best of the other clients' values: the highest when `higherIsBetter` (throughput), else the
 * lowest (time, CPU, memory). Undefined when no other client has a finite value.
 */
export function bestOther<T extends { readonly client: string }>(
  rows: readonly T[],
  self: string,
  value: (row: T) => number,
  higherIsBetter: boolean,
): { readonly client: string; readonly value: number } | undefined {
  let best: { client: string; value: number } | undefined;
  for (const row of rows) {
    if (row.client === self) continue;
    const v = value(row);
    if (!Number.isFinite(v)) continue;
    if (best === undefined || (higherIsBetter ? v > best.value : v < best.value))
      best = { client: row.client, value: v };
  }
  return best;
}

/** A number with `digits` decimals, or '—' when it is not finite. */
export function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

/** "×1.23", or '—'. */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `×${r.toFixed(2)}` : '—';
}

/** A Markdown table (also readable as plain text): every column padded to its widest cell. */
export function formatGrid(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)));
  const line = (l: readonly string[]): string =>
    `| ${header.map((_, i) => (l[i] ?? '').padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Sizes as people write them: 1 GiB, 256 KiB, 1.5 MiB, 100 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? String(v) : v.toFixed(1)} ${units[u]}`;
}
