/** Medians, the results table and bitstate's ratios for bench/download.bench.ts. */
import type { BenchClient } from './bench-options.js';
import type { Measurement } from './measure.js';

export interface RoundResult {
  readonly client: BenchClient;
  readonly round: number;
  /** Downloaded and verified byte for byte. */
  readonly ok: boolean;
  /** Why not ok: exit code, timeout, or the first byte mismatch. */
  readonly error: string | undefined;
  readonly measurement: Measurement | undefined;
}

export interface ClientSummary {
  readonly client: BenchClient;
  readonly runs: number;
  readonly ok: number;
  /** Medians over the successful runs (NaN when none succeeded). */
  readonly wallSeconds: number;
  readonly megabytesPerSecond: number;
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
  readonly firstError: string | undefined;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarize(
  results: readonly RoundResult[],
  clients: readonly BenchClient[],
  totalBytes: number,
): ClientSummary[] {
  return clients.map((client) => {
    const mine = results.filter((r) => r.client === client);
    const good = mine.filter((r) => r.ok && r.measurement !== undefined).map((r) => r.measurement!);
    const wall = median(good.map((m) => m.wallSeconds));
    return {
      client,
      runs: mine.length,
      ok: good.length,
      wallSeconds: wall,
      // MB = 10^6 bytes, as download rates are usually quoted.
      megabytesPerSecond: totalBytes / 1e6 / wall,
      cpuSeconds: median(good.map((m) => m.cpuSeconds)),
      maxRssMiB: median(good.map((m) => m.maxRssBytes / 2 ** 20)),
      firstError: mine.find((r) => !r.ok)?.error,
    };
  });
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

export function formatTable(rows: readonly ClientSummary[]): string {
  const header = ['client', 'ok/runs', 'wall s', 'MB/s', 'CPU s', 'peak RSS MiB', 'error'];
  const lines = rows.map((r) => [
    r.client,
    `${r.ok}/${r.runs}`,
    fmt(r.wallSeconds, 2),
    fmt(r.megabytesPerSecond, 1),
    fmt(r.cpuSeconds, 2),
    fmt(r.maxRssMiB, 0),
    (r.firstError ?? '').replace(/\s+/g, ' ').slice(0, 160),
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)));
  const row = (l: readonly string[]): string =>
    `| ${l.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/** bitstate's time, throughput, CPU and RSS as ratios to the fastest other client. */
export function formatRatios(rows: readonly ClientSummary[]): string {
  const bitstate = rows.find((r) => r.client === 'bitstate');
  const others = rows.filter((r) => r.client !== 'bitstate' && Number.isFinite(r.wallSeconds));
  if (bitstate === undefined || others.length === 0) return '';
  const best = others.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  if (!Number.isFinite(bitstate.wallSeconds))
    return `bitstate: no successful run (fastest other: ${best.client})`;
  const x = (a: number, b: number): string => `×${fmt(a / b, 2)}`;
  return (
    `bitstate vs ${best.client} (the faster of the others): ` +
    `throughput ${x(bitstate.megabytesPerSecond, best.megabytesPerSecond)}, ` +
    `wall time ${x(bitstate.wallSeconds, best.wallSeconds)}, ` +
    `CPU ${x(bitstate.cpuSeconds, best.cpuSeconds)}, ` +
    `peak RSS ${x(bitstate.maxRssMiB, best.maxRssMiB)}`
  );
}
