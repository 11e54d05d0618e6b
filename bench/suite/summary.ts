/** Per-client medians of measured runs, and the comparisons the targets are stated in. */
import { bestOther, median, megabytesPerSecond, perGiB, ratio } from './stats.js';

/** What one run cost; `ok` only when it finished and its bytes matched. */
export interface RunCost {
  readonly client: string;
  readonly ok: boolean;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssBytes: number;
  /** CPU s to sync what the run left dirty (bench/suite/writeback-left.ts); absent: not measured. */
  readonly writebackLeftSeconds?: number;
  readonly error?: string | undefined;
}

export interface ClientMedians {
  readonly client: string;
  readonly runs: number;
  readonly ok: number;
  readonly wallSeconds: number;
  readonly megabytesPerSecond: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPerGiB: number;
  /** Median of (CPU + the writeback it left to the kernel) per GiB; NaN when not measured. */
  readonly cpuWithWritebackPerGiB: number;
  readonly maxRssMiB: number;
  readonly firstError: string | undefined;
}

/** Medians over each client's successful runs, in the order of `clients`. */
export function clientMedians(
  runs: readonly RunCost[],
  clients: readonly string[],
  bytes: number,
): ClientMedians[] {
  return clients.map((client) => {
    const mine = runs.filter((r) => r.client === client);
    const good = mine.filter((r) => r.ok);
    const wall = median(good.map((r) => r.wallSeconds));
    const cpu = median(good.map((r) => r.cpuSeconds));
    return {
      client,
      runs: mine.length,
      ok: good.length,
      wallSeconds: wall,
      megabytesPerSecond: megabytesPerSecond(bytes, wall),
      cpuSeconds: cpu,
      cpuSecondsPerGiB: perGiB(cpu, bytes),
      cpuWithWritebackPerGiB: perGiB(
        median(good.map((r) => r.cpuSeconds + (r.writebackLeftSeconds ?? Number.NaN))),
        bytes,
      ),
      maxRssMiB: median(good.map((r) => r.maxRssBytes / 2 ** 20)),
      firstError: mine.find((r) => !r.ok)?.error,
    };
  });
}

export interface Comparison {
  /** bitstate's throughput ÷ the faster other client's (target ≥ 1.2). */
  readonly throughputRatio: number;
  readonly fasterOther: string | undefined;
  /** bitstate's CPU per GiB ÷ libtorrent's (target ≤ 1). */
  readonly cpuRatioToLibtorrent: number;
  /** The same with the writeback each left to the kernel counted in. */
  readonly cpuWithWritebackRatioToLibtorrent: number;
  readonly bitstateRssMiB: number;
}

export function compareBitstate(rows: readonly ClientMedians[]): Comparison {
  const me = rows.find((r) => r.client === 'bitstate');
  const faster = bestOther(rows, 'bitstate', (r) => r.megabytesPerSecond, true);
  const lt = rows.find((r) => r.client === 'libtorrent');
  return {
    throughputRatio: ratio(me?.megabytesPerSecond ?? Number.NaN, faster?.value ?? Number.NaN),
    fasterOther: faster?.client,
    cpuRatioToLibtorrent: ratio(me?.cpuSecondsPerGiB ?? Number.NaN, lt?.cpuSecondsPerGiB ?? Number.NaN),
    cpuWithWritebackRatioToLibtorrent: ratio(
      me?.cpuWithWritebackPerGiB ?? Number.NaN,
      lt?.cpuWithWritebackPerGiB ?? Number.NaN,
    ),
    bitstateRssMiB: me?.maxRssMiB ?? Number.NaN,
  };
}

/** A run of a numbered round (1-based): the clients of one round ran one after another. */
export interface RoundCost extends RunCost {
  readonly round: number;
}

/** Per-round values (ratios or differences): their median and range, and in how many rounds the client came out ahead. */
export interface PairedValues {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Rounds where the client was ahead: faster (throughput), or cheaper (CPU). */
  readonly ahead: number;
}

export interface PairedRounds {
  /** Rounds where both bitstate and the other client finished with the right bytes. */
  readonly rounds: number;
  /** The other's wall time ÷ bitstate's, round by round: bitstate's throughput ÷ the other's. */
  readonly throughput: PairedValues;
  /** bitstate's CPU ÷ the other's, round by round. */
  readonly cpu: PairedValues;
}

/** Per-round values summarised: median, range, and how many of them `ahead` says came out ahead. */
export function pairedValues(values: readonly number[], ahead: (v: number) => boolean): PairedValues {
  return {
    median: median(values),
    min: values.length > 0 ? Math.min(...values) : Number.NaN,
    max: values.length > 0 ? Math.max(...values) : Number.NaN,
    ahead: values.filter(ahead).length,
  };
}

/** The good runs of `a` and `b` that share a round, as [a's, b's], in a's order. */
export function roundPairs(runs: readonly RoundCost[], a: string, b: string): [RoundCost, RoundCost][] {
  const good = (client: string) =>
    new Map(runs.filter((r) => r.client === client && r.ok).map((r) => [r.round, r] as const));
  const theirs = good(b);
  const pairs: [RoundCost, RoundCost][] = [];
  for (const [round, mine] of good(a)) {
    const them = theirs.get(round);
    if (them !== undefined) pairs.push([mine, them]);
  }
  return pairs;
}

/**
 * bitstate against `other` round by round. The clients of a round run back to back, so a pair
 * shares the machine's moment; the median of the per-round ratios moves less with a slow period
 * of a shared machine than the ratio of the medians (tables 1 and 2), and "ahead in k of n rounds"
 * says how often.
 */
export function pairedRounds(runs: readonly RoundCost[], other: string): PairedRounds {
  const pairs = roundPairs(runs, 'bitstate', other);
  return {
    rounds: pairs.length,
    throughput: pairedValues(
      pairs.map(([me, them]) => ratio(them.wallSeconds, me.wallSeconds)),
      (v) => v > 1,
    ),
    cpu: pairedValues(
      pairs.map(([me, them]) => ratio(me.cpuSeconds, them.cpuSeconds)),
      (v) => v < 1,
    ),
  };
}

export interface PairedDifferences {
  /** Rounds where both clients finished. */
  readonly rounds: number;
  /** `other`'s CPU seconds − `base`'s, round by round; ahead: `other` used less. */
  readonly cpuSeconds: PairedValues;
  /** `other`'s wall seconds − `base`'s, round by round; ahead: `other` was faster. */
  readonly wallSeconds: PairedValues;
}

/**
 * `other` against `base` round by round, as differences: an A/B of two builds of bitstate
 * (bench/profile/ab.ts). A change worth a few percent is smaller than what this shared machine
 * moves between rounds, so each difference is taken within one round, where both ran back to back.
 */
export function pairedDifferences(
  runs: readonly RoundCost[],
  base: string,
  other: string,
): PairedDifferences {
  const pairs = roundPairs(runs, base, other);
  return {
    rounds: pairs.length,
    cpuSeconds: pairedValues(
      pairs.map(([b, o]) => o.cpuSeconds - b.cpuSeconds),
      (v) => v < 0,
    ),
    wallSeconds: pairedValues(
      pairs.map(([b, o]) => o.wallSeconds - b.wallSeconds),
      (v) => v < 0,
    ),
  };
}

/** The client order of round `round` (1-based): rotated so that no client always goes first. */
export function roundOrder<T>(clients: readonly T[], round: number): T[] {
  const n = clients.length;
  if (n === 0) return [];
  const shift = (((round - 1) % n) + n) % n;
  return [...clients.slice(shift), ...clients.slice(0, shift)];
}

/** One run's CPU on the whole swarm: the downloader's and the seeders' over the same wall time. */
export interface SwarmCpuRun {
  readonly client: string;
  readonly ok: boolean;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly seedersCpuSeconds: number;
}

export interface SwarmCpu {
  readonly client: string;
  /** Medians over the good runs: the downloader's CPU s, the seeders' CPU s during its download. */
  readonly downloaderCpuSeconds: number;
  readonly seedersCpuSeconds: number;
  /** Median of (downloader + seeders) CPU ÷ (wall × cores): how busy the machine's cores were. */
  readonly coresBusy: number;
}

/**
 * Where the machine's cores went during each client's downloads. When the downloader and the
 * seeders share the cores and keep them busy, the download is CPU-bound: its wall time is at least
 * (downloader CPU + seeders CPU) ÷ cores, whatever the protocol does.
 */
export function swarmCpu(
  runs: readonly SwarmCpuRun[],
  clients: readonly string[],
  cores: number,
): SwarmCpu[] {
  return clients.map((client) => {
    const good = runs.filter((r) => r.client === client && r.ok);
    return {
      client,
      downloaderCpuSeconds: median(good.map((r) => r.cpuSeconds)),
      seedersCpuSeconds: median(good.map((r) => r.seedersCpuSeconds)),
      coresBusy: median(good.map((r) => (r.cpuSeconds + r.seedersCpuSeconds) / (r.wallSeconds * cores))),
    };
  });
}

/** "yes" / "NO" / "—" for a target check on a possibly missing value. */
export function verdict(value: number, ok: (v: number) => boolean): string {
  if (!Number.isFinite(value)) return '—';
  return ok(value) ? 'yes' : 'NO';
}
