/**
 * Target 7: aria2c downloading from one bitstate seeder against from one libtorrent seeder (aria2
 * finds peers only through a tracker: each seeder has its own torrent and opentracker, both stay up
 * and the rounds alternate), and the seeder's CPU per GiB served, read from /proc/<pid>/stat
 * before and after each download (utime + stime of every thread).
 */
import { dirname, join } from 'node:path';
import { startLibtorrentSeeder } from '../../test/interop/harness/libtorrent.js';
import type { ManagedProcess, Stoppable } from '../../test/interop/harness/processes.js';
import { stopAll } from '../../test/interop/harness/processes.js';
import { startBitstateSeeder } from './bitstate-seeder.js';
import { processCpuSeconds, processPeakRss } from './machine.js';
import type { PartContext, PartResult } from './part.js';
import { randomPayload } from './part-throughput.js';
import {
  fmt,
  fmtRatio,
  formatBytes,
  formatGrid,
  median,
  megabytesPerSecond,
  perGiB,
  ratio,
} from './stats.js';
import { roundOrder, verdict } from './summary.js';
import { type DownloadRun, log, measuredDownload, trackedTorrent } from './swarm.js';

const PIECE_LENGTH = 2 ** 20;
const SEEDERS = ['bitstate', 'libtorrent'] as const;
type SeederKind = (typeof SEEDERS)[number];

interface SeedRound {
  readonly seeder: SeederKind;
  readonly run: DownloadRun;
  readonly seederCpuSeconds: number;
}

export async function seedingPart(ctx: PartContext): Promise<PartResult> {
  const { opts } = ctx;
  const payloadPath = await randomPayload(opts.workDir, opts.size);
  const dataDir = dirname(payloadPath);
  const owned: Stoppable[] = [];
  const swarms = new Map<SeederKind, { torrent: string; process: ManagedProcess }>();
  const rounds: SeedRound[] = [];
  const peakRss = new Map<SeederKind, number>();
  const closeReasons = new Map<string, number>();
  try {
    for (const kind of SEEDERS) {
      const { torrent, infoHash, tracker } = await trackedTorrent({
        payloadPath,
        out: join(ctx.scratch, `seeding-${kind}.torrent`),
        pieceLength: PIECE_LENGTH,
      });
      owned.push(tracker);
      log(`seeding: starting one ${kind} seeder (it hashes its data first)`);
      const seeder =
        kind === 'bitstate'
          ? await startBitstateSeeder({ torrent, dataDir, announce: true, timeoutMs: 6 * 3600_000 })
          : await startLibtorrentSeeder({
              torrent,
              dataDir,
              recheck: true,
              readyTimeoutMs: 600_000,
              timeoutMs: 6 * 3600_000,
            });
      owned.push(seeder);
      if (kind === 'bitstate') {
        // Why the seeder closed connections: the table names it when aria2 stalls.
        seeder.process.onLine((line, stream) => {
          const m = stream === 'stdout' ? /"type":"peer\.closed".*"reason":"([^"]+)"/.exec(line) : null;
          if (m?.[1]) closeReasons.set(m[1], (closeReasons.get(m[1]) ?? 0) + 1);
        });
      }
      await tracker.waitForSeeders(infoHash, 1, 60_000);
      swarms.set(kind, { torrent, process: seeder.process });
    }
    // aria2 does not come back to a seeder that closed on it: a failed round would sit out the whole
    // timeout, so the timeout is what 10 MB/s needs, and a seeder that failed once is not tried again.
    const timeoutSec = Math.min(opts.timeoutSec, Math.ceil(30 + opts.size / 10e6));
    const failed = new Set<SeederKind>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const kind of roundOrder(SEEDERS, round)) {
        if (failed.has(kind)) continue;
        const swarm = swarms.get(kind)!;
        const run = await measuredDownload({
          client: 'aria2',
          round,
          torrent: swarm.torrent,
          payloadPath,
          peers: [],
          scratch: ctx.scratch,
          timeoutSec,
          seedersCpu: () => processCpuSeconds(swarm.process.pid),
        });
        if (!run.ok) failed.add(kind);
        log(`    (from the ${kind} seeder)`);
        rounds.push({ seeder: kind, run, seederCpuSeconds: run.seedersCpuSeconds });
      }
    }
    for (const [kind, s] of swarms) peakRss.set(kind, processPeakRss(s.process.pid));
  } finally {
    await stopAll(owned);
  }
  const rows = SEEDERS.map((kind) => {
    const mine = rounds.filter((r) => r.seeder === kind);
    const good = mine.filter((r) => r.run.ok && r.run.measurement);
    const wall = median(good.map((r) => r.run.measurement!.wallSeconds));
    return {
      seeder: kind,
      ok: `${good.length}/${mine.length}`,
      megabytesPerSecond: megabytesPerSecond(opts.size, wall),
      aria2CpuPerGiB: perGiB(median(good.map((r) => r.run.measurement!.cpuSeconds)), opts.size),
      seederCpuPerGiB: perGiB(median(good.map((r) => r.seederCpuSeconds)), opts.size),
      seederPeakRssMiB: (peakRss.get(kind) ?? Number.NaN) / 2 ** 20,
      firstError: mine.find((r) => !r.run.ok)?.run.error,
    };
  });
  const [b, l] = rows;
  const speed = ratio(b?.megabytesPerSecond ?? Number.NaN, l?.megabytesPerSecond ?? Number.NaN);
  const cpu = ratio(b?.seederCpuPerGiB ?? Number.NaN, l?.seederCpuPerGiB ?? Number.NaN);
  const table = formatGrid(
    [
      'seeder (aria2c downloads)',
      'ok',
      'aria2 MB/s',
      'seeder CPU s/GiB served',
      'aria2 CPU s/GiB',
      'seeder peak RSS MiB',
    ],
    rows.map((r) => [
      r.seeder,
      r.ok,
      fmt(r.megabytesPerSecond, 1),
      fmt(r.seederCpuPerGiB, 2),
      fmt(r.aria2CpuPerGiB, 2),
      fmt(r.seederPeakRssMiB, 0),
    ]),
  );
  const errors = rows.filter((r) => r.firstError).map((r) => `${r.seeder}: ${r.firstError}`);
  return {
    part: 'seeding',
    tables: [
      `### 7. Seeding: aria2c from one seeder (${formatBytes(opts.size)}, 1 MiB pieces; median of ${opts.rounds})\n\n${table}\n\n` +
        `bitstate ÷ libtorrent: aria2 throughput ${fmtRatio(speed)} (≥ 1? ${verdict(speed, (v) => v >= 1)}), ` +
        `seeder CPU per GiB ${fmtRatio(cpu)} (≤ 1? ${verdict(cpu, (v) => v <= 1)})` +
        `\n\nConnections the bitstate seeder closed, by reason: ${[...closeReasons].map(([r, n]) => `${r} ×${n}`).join(', ') || 'none'}` +
        (errors.length > 0 ? `\n\nFailures: ${errors.join('; ')}` : ''),
    ],
    data: { rounds, rows, bitstateSeederCloseReasons: Object.fromEntries(closeReasons) },
  };
}
