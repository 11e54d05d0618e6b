/**
 * Target 3's second half: bitstate's peak RSS on a big payload (8 GiB) against the same kind of
 * payload at the throughput size (1 GiB). Both are sparse (see sparse-payload.ts), served by two
 * libtorrent seeders in seed_mode (they hash a piece when first asked for it, so no 8 GiB recheck
 * before the run). One round each: the figure of interest is memory, not speed.
 */
import { join } from 'node:path';
import type { PartContext, PartResult } from './part.js';
import { sparsePayload } from './sparse-payload.js';
import { fmt, fmtRatio, formatBytes, formatGrid, megabytesPerSecond, perGiB, ratio } from './stats.js';
import { verdict } from './summary.js';
import { type DownloadRun, log, measuredDownload, startSwarm } from './swarm.js';

const PIECE_LENGTH = 2 ** 20;
const SEEDERS = 2;

export async function memoryPart(ctx: PartContext): Promise<PartResult> {
  const { opts } = ctx;
  const rows: { size: number; run: DownloadRun }[] = [];
  for (const size of [opts.size, opts.bigSize]) {
    const payloadPath = await sparsePayload({
      dir: join(opts.workDir, `sparse-${size}`),
      name: 'sparse.bin',
      size,
      pieceLength: PIECE_LENGTH,
      seed: 8,
    });
    log(`memory: bitstate on a sparse ${formatBytes(size)} payload`);
    const swarm = await startSwarm({
      payloadPath,
      torrentOut: join(ctx.scratch, `memory-${size}.torrent`),
      pieceLength: PIECE_LENGTH,
      seeders: SEEDERS,
      recheck: false,
    });
    try {
      const run = await measuredDownload({
        client: 'bitstate',
        round: 1,
        torrent: swarm.torrent,
        payloadPath,
        peers: swarm.peers,
        scratch: ctx.scratch,
        timeoutSec: opts.timeoutSec,
      });
      rows.push({ size, run });
    } finally {
      await swarm.stop();
    }
  }
  const rssMiB = (r: DownloadRun): number =>
    r.ok && r.measurement ? r.measurement.maxRssBytes / 2 ** 20 : Number.NaN;
  const small = rows[0];
  const big = rows[1];
  const growth = small && big ? ratio(rssMiB(big.run), rssMiB(small.run)) : Number.NaN;
  const table = formatGrid(
    ['sparse payload (1 MiB pieces, 2 seeders)', 'ok', 'wall s', 'MB/s', 'CPU s/GiB', 'peak RSS MiB'],
    rows.map(({ size, run }) => {
      const m = run.measurement;
      return [
        formatBytes(size),
        run.ok ? 'yes' : `NO: ${(run.error ?? '').slice(0, 120)}`,
        fmt(m?.wallSeconds ?? Number.NaN, 2),
        fmt(megabytesPerSecond(size, m?.wallSeconds ?? Number.NaN), 1),
        fmt(perGiB(m?.cpuSeconds ?? Number.NaN, size), 2),
        fmt(rssMiB(run), 0),
      ];
    }),
  );
  return {
    part: 'memory',
    tables: [
      `### 3b. bitstate's peak RSS, ${formatBytes(opts.bigSize)} against ${formatBytes(opts.size)} (one round each)\n\n${table}\n\n` +
        `RSS ${formatBytes(opts.bigSize)} ÷ ${formatBytes(opts.size)}: ${fmtRatio(growth)} — no higher (≤ ×1.05)? ${verdict(growth, (v) => v <= 1.05)}`,
    ],
    data: rows,
  };
}
