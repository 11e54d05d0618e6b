/**
 * Targets 1–3 of issue #8 from the same runs: throughput (1 MiB pieces / 4 seeders, 256 KiB / 4,
 * 1 MiB / 1), CPU seconds per GiB and peak RSS of bitstate, aria2 and the libtorrent downloader.
 * Each round also runs the clients with the seeders and the downloader on separate CPUs
 * (cpu-split.ts; table 1s), unless `--shared-only` or the machine has one CPU.
 */

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeSingleFilePayload } from '../../test/interop/harness/payload.js';
import { type BenchClient, CLIENTS } from '../bench-options.js';
import { allowedCpus, type CpuSplit, cpuSplit } from './cpu-split.js';
import type { PartContext, PartResult } from './part.js';
import { count, fmt, fmtRatio, formatBytes, formatGrid } from './stats.js';
import {
  type ClientMedians,
  type Comparison,
  clientMedians,
  compareBitstate,
  type PairedValues,
  pairedRounds,
  roundOrder,
  type SwarmCpu,
  swarmCpu,
  verdict,
} from './summary.js';
import { type DownloadRun, log, measuredDownload, startSwarm } from './swarm.js';

export const SWARMS = [
  { pieceLength: 2 ** 20, seeders: 4 },
  { pieceLength: 256 * 1024, seeders: 4 },
  { pieceLength: 2 ** 20, seeders: 1 },
] as const;

const PAYLOAD_SEED = 20_240_401;

/** The deterministic random payload of `size` bytes, made once and kept in the work folder. */
export async function randomPayload(workDir: string, size: number): Promise<string> {
  const dir = join(workDir, `random-${size}`);
  const marker = join(dir, '.complete');
  const stamp = JSON.stringify({ size, seed: PAYLOAD_SEED, format: 1 });
  const path = join(dir, 'payload.bin');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === stamp) return path;
  log(`making a ${formatBytes(size)} random payload in ${dir} (kept for later runs)…`);
  await mkdir(dir, { recursive: true });
  await writeSingleFilePayload({ dir, name: 'payload.bin', size, seed: PAYLOAD_SEED });
  await writeFile(marker, stamp);
  return path;
}

export function swarmLabel(size: number, pieceLength: number, seeders: number): string {
  return `${formatBytes(size)}, ${formatBytes(pieceLength)} pieces, ${count(seeders, 'seeder')}`;
}

export interface SwarmResult {
  readonly label: string;
  readonly pieceLength: number;
  readonly seeders: number;
  readonly runs: readonly DownloadRun[];
  readonly medians: readonly ClientMedians[];
  readonly cpu: readonly SwarmCpu[];
  /** The same rounds with the seeders on `swarmCpus` and the downloader on `downloaderCpus`. */
  readonly split?: SplitResult;
}

export interface SplitResult {
  readonly swarmCpus: readonly number[];
  readonly downloaderCpus: readonly number[];
  readonly runs: readonly DownloadRun[];
  readonly medians: readonly ClientMedians[];
}

/** The runs as the summaries read them (NaN where a run has no measurement). */
export function toCosts(runs: readonly DownloadRun[]) {
  return runs.map((r) => ({
    client: r.client,
    round: r.round,
    ok: r.ok,
    wallSeconds: r.measurement?.wallSeconds ?? Number.NaN,
    cpuSeconds: r.measurement?.cpuSeconds ?? Number.NaN,
    maxRssBytes: r.measurement?.maxRssBytes ?? Number.NaN,
    seedersCpuSeconds: r.seedersCpuSeconds,
    writebackLeftSeconds: r.writebackLeftSeconds,
    error: r.error,
  }));
}

const cell = (rows: readonly ClientMedians[], client: string, f: (r: ClientMedians) => string): string => {
  const r = rows.find((x) => x.client === client);
  if (r === undefined) return '—';
  return r.ok < r.runs ? `${f(r)} (${r.ok}/${r.runs} ok)` : f(r);
};

export async function throughputPart(ctx: PartContext): Promise<PartResult> {
  const { opts } = ctx;
  const payloadPath = await randomPayload(opts.workDir, opts.size);
  const results: SwarmResult[] = [];
  const allowed = allowedCpus();
  const split: CpuSplit | undefined = opts.split && allowed !== undefined ? cpuSplit(allowed) : undefined;
  if (opts.split && split === undefined)
    log('throughput: fewer than 2 CPUs (or no /proc) here, no split placement (table 1s)');
  for (const s of SWARMS) {
    const label = swarmLabel(opts.size, s.pieceLength, s.seeders);
    log(`throughput: ${label}`);
    const swarm = await startSwarm({
      payloadPath,
      torrentOut: join(ctx.scratch, `throughput-${s.pieceLength}-${s.seeders}.torrent`),
      pieceLength: s.pieceLength,
      seeders: s.seeders,
      recheck: true,
    });
    const runs: DownloadRun[] = [];
    const splitRuns: DownloadRun[] = [];
    const download = (client: BenchClient, round: number, cpus?: readonly number[]) =>
      measuredDownload({
        client,
        round,
        torrent: swarm.torrent,
        payloadPath,
        peers: swarm.peers,
        scratch: ctx.scratch,
        timeoutSec: opts.timeoutSec,
        seedersCpu: swarm.seedersCpuSeconds,
        measureWriteback: true,
        ...(cpus === undefined ? {} : { cpus }),
      });
    try {
      for (let round = 1; round <= opts.rounds; round++) {
        const shared = async () => {
          for (const client of roundOrder(CLIENTS, round)) runs.push(await download(client, round));
        };
        if (split === undefined) {
          await shared();
          continue;
        }
        const splitCores = async () => {
          swarm.pinSeeders(split.swarm);
          try {
            for (const client of roundOrder(CLIENTS, round))
              splitRuns.push(await download(client, round, split.downloader));
          } finally {
            swarm.pinSeeders(split.all);
          }
        };
        // Which placement goes first alternates, so that neither always follows the other.
        for (const placement of round % 2 === 1 ? [shared, splitCores] : [splitCores, shared])
          await placement();
      }
    } finally {
      await swarm.stop();
    }
    const costs = toCosts(runs);
    results.push({
      label,
      pieceLength: s.pieceLength,
      seeders: s.seeders,
      runs,
      medians: clientMedians(costs, CLIENTS, opts.size),
      cpu: swarmCpu(costs, CLIENTS, availableParallelism()),
      ...(split === undefined
        ? {}
        : {
            split: {
              swarmCpus: split.swarm,
              downloaderCpus: split.downloader,
              runs: splitRuns,
              medians: clientMedians(toCosts(splitRuns), CLIENTS, opts.size),
            },
          }),
    });
  }
  return {
    part: 'throughput',
    tables: throughputTables(results, opts.rounds, availableParallelism()),
    data: results,
  };
}

/**
 * One row per swarm: its label, one cell per client (`${client} ${unit}`), then the columns
 * `compare` adds from bitstate's comparison with the others.
 */
function clientGrid(
  results: readonly SwarmResult[],
  first: string,
  unit: string,
  value: (m: ClientMedians) => string,
  compareHeaders: readonly string[],
  compare: (c: Comparison) => readonly string[],
): string {
  return formatGrid(
    [first, ...CLIENTS.map((client) => `${client} ${unit}`), ...compareHeaders],
    results.map((r) => [
      r.label,
      ...CLIENTS.map((client) => cell(r.medians, client, value)),
      ...compare(compareBitstate(r.medians)),
    ]),
  );
}

/** Tables 1, 2, 2b, 2c, 2d and 3 of the suite from the swarms' results (pure: from recorded data too). */
export function throughputTables(
  results: readonly SwarmResult[],
  roundCount: number,
  cores: number,
): string[] {
  const nRounds = count(roundCount, 'round');
  const rounds = `median of ${nRounds}`;
  const throughput = clientGrid(
    results,
    'swarm (libtorrent seeders)',
    'MB/s',
    (m) => fmt(m.megabytesPerSecond, 1),
    ['bitstate ÷ faster', '≥ 1.2?'],
    (c) => [
      `${fmtRatio(c.throughputRatio)}${c.fasterOther ? ` (vs ${c.fasterOther})` : ''}`,
      verdict(c.throughputRatio, (v) => v >= 1.2),
    ],
  );
  const splits = results.flatMap((r) => (r.split === undefined ? [] : [{ label: r.label, ...r.split }]));
  const split = formatGrid(
    [
      'swarm (libtorrent seeders)',
      ...CLIENTS.map((client) => `${client} MB/s`),
      'bitstate ÷ faster',
      '≥ 1.2?',
      'faster than libtorrent in',
      'CPU ÷ libtorrent',
    ],
    splits.map((r) => {
      const c = compareBitstate(r.medians);
      const p = pairedRounds(toCosts(r.runs), 'libtorrent');
      return [
        r.label,
        ...CLIENTS.map((client) => cell(r.medians, client, (m) => fmt(m.megabytesPerSecond, 1))),
        `${fmtRatio(c.throughputRatio)}${c.fasterOther ? ` (vs ${c.fasterOther})` : ''}`,
        verdict(c.throughputRatio, (v) => v >= 1.2),
        `${p.throughput.ahead} of ${p.rounds} rounds`,
        fmtRatio(c.cpuRatioToLibtorrent),
      ];
    }),
  );
  const first = splits[0];
  const splitTable =
    first === undefined
      ? []
      : [
          `### 1s. Throughput with the seeders on CPU ${first.swarmCpus.join(',')} and the downloader on CPU ` +
            `${first.downloaderCpus.join(',')} (in the same ${nRounds} as the shared runs, each placement first in turn; ${rounds})\n\n` +
            `${split}\n\nSeeders on other machines do not take the downloader's cores; here, sharing them, ` +
            `a download's speed depends on how the scheduler shares the cores between the seeders' threads ` +
            `and the downloader's. Split, each downloader has the same CPU whatever its threads, and the ` +
            `seeders theirs.`,
        ];
  const cpu = clientGrid(
    results,
    'swarm',
    'CPU s/GiB',
    (m) => fmt(m.cpuSecondsPerGiB, 2),
    ['bitstate ÷ libtorrent', '≤ 1?'],
    (c) => [fmtRatio(c.cpuRatioToLibtorrent), verdict(c.cpuRatioToLibtorrent, (v) => v <= 1)],
  );
  const withWriteback = clientGrid(
    results,
    'swarm',
    'CPU + writeback s/GiB',
    (m) => fmt(m.cpuWithWritebackPerGiB, 2),
    ['bitstate ÷ libtorrent'],
    (c) => [fmtRatio(c.cpuWithWritebackRatioToLibtorrent)],
  );
  const swarmLoad = formatGrid(
    ['swarm', ...CLIENTS.map((c) => `${c}: own + seeders' CPU s, cores busy`)],
    results.map((r) => [
      r.label,
      ...CLIENTS.map((client) => {
        const c = r.cpu.find((x) => x.client === client);
        return c === undefined || Number.isNaN(c.downloaderCpuSeconds)
          ? '—'
          : `${fmt(c.downloaderCpuSeconds, 2)} + ${fmt(c.seedersCpuSeconds, 2)}, ${fmt(100 * c.coresBusy, 0)} %`;
      }),
    ]),
  );
  const rounds2d = formatGrid(
    [
      'swarm',
      'rounds',
      'throughput ÷ libtorrent, per round: median (range)',
      'faster in',
      'CPU ÷ libtorrent, per round: median (range)',
      'less CPU in',
    ],
    results.map((r) => {
      const p = pairedRounds(toCosts(r.runs), 'libtorrent');
      const ratios = (x: PairedValues) =>
        p.rounds === 0 ? '—' : `${fmtRatio(x.median)} (${fmtRatio(x.min)}–${fmtRatio(x.max)})`;
      return [
        r.label,
        String(p.rounds),
        ratios(p.throughput),
        `${p.throughput.ahead} of ${p.rounds}`,
        ratios(p.cpu),
        `${p.cpu.ahead} of ${p.rounds}`,
      ];
    }),
  );
  const rss = clientGrid(
    results,
    'swarm',
    'peak RSS MiB',
    (m) => fmt(m.maxRssMiB, 0),
    ['bitstate ≤ 100 MB?'],
    (c) => [verdict(c.bitstateRssMiB, (v) => v * 2 ** 20 <= 100e6)],
  );
  const errors = results.flatMap((r) =>
    r.medians
      .filter((m) => m.firstError !== undefined)
      .map((m) => `${r.label}, ${m.client}: ${m.firstError}`),
  );
  return [
    `### 1. Throughput (payload MB/s, wall time from spawn to exit; ${rounds})\n\n${throughput}`,
    ...splitTable,
    `### 2. CPU seconds (user + sys) per GiB downloaded (${rounds})\n\n${cpu}`,
    `### 2b. The swarm's CPU during each download (${rounds}; ${cores} cores)\n\n` +
      `${swarmLoad}\n\nThe downloader's CPU, the seeders' CPU over the same time (from /proc), and ` +
      `both together as a share of the cores' time: near 100 % the download is CPU-bound, and ` +
      `its wall time is at least the sum ÷ the cores.`,
    `### 2c. CPU per GiB with the writeback each client leaves to the kernel (${rounds})\n\n` +
      `${withWriteback}\n\nbitstate syncs its files before it exits (its CPU above includes ` +
      `writing the page cache back to the disk); what a client leaves dirty (libtorrent: all ` +
      `of it) the kernel writes back later, on nobody's account. Here each download's files ` +
      `are synced right after its exit and that sync's CPU is added ` +
      `(bench/suite/writeback-left.ts). The target of table 2 is stated without it.`,
    `### 2d. bitstate against libtorrent round by round (the same ${nRounds})\n\n` +
      `${rounds2d}\n\nThe clients of a round download one after another, so each pair shares the ` +
      `machine's moment: on a shared machine the per-round ratios move less with a slow period than ` +
      `the ratios of medians in tables 1 and 2.`,
    `### 3. Peak RSS (${rounds})\n\n${rss}` +
      (errors.length > 0
        ? `\n\nFailures: ${errors.map((e) => e.replace(/\s+/g, ' ').slice(0, 300)).join('; ')}`
        : ''),
  ];
}
