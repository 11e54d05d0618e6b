/**
 * Target 3's second half: bitstate's peak RSS on a big payload (8 GiB) against the same kind of
 * payload at the throughput size (1 GiB). Both are sparse (see sparse-payload.ts), served by two
 * libtorrent seeders in seed_mode (they hash a piece when first asked for it, so no 8 GiB recheck
 * before the run).
 *
 * Like every target of issue #8, a median of `--rounds` rounds (3 by default): the peak of one run
 * moves by a few MiB with what happened to be in flight at its worst moment (the block pool's slabs,
 * V8's old space before a full collection), as much as the ×1.05 the verdict allows. Both swarms
 * run for the whole part, and each round downloads both sizes back to back, the order alternating,
 * so the per-round ratio compares two runs of the same moment of the machine.
 */
import { join } from 'node:path';
import type { PartContext, PartResult } from './part.js';
import { sparsePayload } from './sparse-payload.js';
import {
  count,
  fmt,
  fmtRatio,
  formatBytes,
  formatGrid,
  median,
  megabytesPerSecond,
  perGiB,
  ratio,
} from './stats.js';
import { pairedValues, roundOrder, roundPairs, verdict } from './summary.js';
import { type DownloadRun, log, measuredDownload, type Swarm, startSwarm } from './swarm.js';

const PIECE_LENGTH = 2 ** 20;
const SEEDERS = 2;
/** The target: the big payload's peak RSS at most this much above the small one's. */
export const MAX_RSS_GROWTH = 1.05;

/** One download of the part: its payload size and how it went. */
export interface MemoryRun {
  readonly size: number;
  readonly run: Pick<DownloadRun, 'round' | 'ok' | 'error' | 'measurement'>;
}

const rssMiB = (r: MemoryRun['run']): number =>
  r.ok && r.measurement ? r.measurement.maxRssBytes / 2 ** 20 : Number.NaN;

/**
 * Table 3b from the runs: per size the medians of its good runs, then the big size's median peak
 * RSS ÷ the small one's (the verdict) and the same ratio round by round.
 */
export function memoryTable(
  runs: readonly MemoryRun[],
  small: number,
  big: number,
  rounds: number,
): { table: string; growth: number; perRound: number[] } {
  const of = (size: number) => runs.filter((r) => r.size === size);
  const good = (size: number) => of(size).filter((r) => r.run.ok);
  const med = (size: number, value: (r: MemoryRun['run']) => number) =>
    median(good(size).map((r) => value(r.run)));
  const wall = (r: MemoryRun['run']) => r.measurement?.wallSeconds ?? Number.NaN;
  const cpu = (r: MemoryRun['run']) => r.measurement?.cpuSeconds ?? Number.NaN;
  const rows = [small, big].map((size) => {
    const rss = good(size).map((r) => rssMiB(r.run));
    const failed = of(size).find((r) => !r.run.ok);
    return [
      formatBytes(size),
      failed === undefined
        ? `${rss.length}/${of(size).length}`
        : `${rss.length}/${of(size).length}; NO: ${(failed.run.error ?? '').slice(0, 120)}`,
      fmt(med(size, wall), 2),
      fmt(megabytesPerSecond(size, med(size, wall)), 1),
      fmt(perGiB(med(size, cpu), size), 2),
      fmt(median(rss), 0),
      rss.length === 0 ? '—' : `${fmt(Math.min(...rss), 0)}–${fmt(Math.max(...rss), 0)}`,
    ];
  });
  const growth = ratio(
    median(good(big).map((r) => rssMiB(r.run))),
    median(good(small).map((r) => rssMiB(r.run))),
  );
  // Round by round: the big size's run against the small one's of the same round (summary.ts).
  const costs = runs.map(({ size, run }) => ({
    client: String(size),
    round: run.round,
    ok: run.ok,
    wallSeconds: run.measurement?.wallSeconds ?? Number.NaN,
    cpuSeconds: run.measurement?.cpuSeconds ?? Number.NaN,
    maxRssBytes: run.measurement?.maxRssBytes ?? Number.NaN,
  }));
  const perRound = roundPairs(costs, String(big), String(small)).map(([b, s]) =>
    ratio(b.maxRssBytes, s.maxRssBytes),
  );
  const within = pairedValues(perRound, (v) => v <= MAX_RSS_GROWTH);
  const grid = formatGrid(
    [
      `sparse payload (1 MiB pieces, ${SEEDERS} seeders)`,
      'ok',
      'wall s',
      'MB/s',
      'CPU s/GiB',
      'peak RSS MiB',
      'peak RSS range',
    ],
    rows,
  );
  const byRound =
    perRound.length === 0
      ? '—'
      : `${fmtRatio(within.median)} (${fmtRatio(within.min)}–${fmtRatio(within.max)}), ` +
        `at most ×${MAX_RSS_GROWTH} in ${within.ahead} of ${perRound.length}`;
  const table =
    `### 3b. bitstate's peak RSS, ${formatBytes(big)} against ${formatBytes(small)} (median of ${count(rounds, 'round')})\n\n${grid}\n\n` +
    `RSS ${formatBytes(big)} ÷ ${formatBytes(small)}: ${fmtRatio(growth)} — no higher (≤ ×${MAX_RSS_GROWTH})? ` +
    `${verdict(growth, (v) => v <= MAX_RSS_GROWTH)}\n\nThe same, round by round: ${byRound}`;
  return { table, growth, perRound };
}

export async function memoryPart(ctx: PartContext): Promise<PartResult> {
  const { opts } = ctx;
  const sizes = [opts.size, opts.bigSize];
  const swarms = new Map<number, { swarm: Swarm; payloadPath: string }>();
  const runs: MemoryRun[] = [];
  try {
    // One swarm per size (a `--big-size` equal to `--size` shares it).
    for (const size of new Set(sizes)) {
      const payloadPath = await sparsePayload({
        dir: join(opts.workDir, `sparse-${size}`),
        name: 'sparse.bin',
        size,
        pieceLength: PIECE_LENGTH,
        seed: 8,
      });
      const swarm = await startSwarm({
        payloadPath,
        torrentOut: join(ctx.scratch, `memory-${size}.torrent`),
        pieceLength: PIECE_LENGTH,
        seeders: SEEDERS,
        recheck: false,
      });
      swarms.set(size, { swarm, payloadPath });
    }
    for (let round = 1; round <= opts.rounds; round++)
      for (const size of roundOrder(sizes, round)) {
        const { swarm, payloadPath } = swarms.get(size)!;
        log(`memory: round ${round}, bitstate on a sparse ${formatBytes(size)} payload`);
        const run = await measuredDownload({
          client: 'bitstate',
          round,
          torrent: swarm.torrent,
          payloadPath,
          peers: swarm.peers,
          scratch: ctx.scratch,
          timeoutSec: opts.timeoutSec,
        });
        runs.push({ size, run });
      }
  } finally {
    for (const { swarm } of swarms.values()) await swarm.stop();
  }
  const { table, growth, perRound } = memoryTable(runs, opts.size, opts.bigSize, opts.rounds);
  return { part: 'memory', tables: [table], data: { runs, growth, perRound } };
}
