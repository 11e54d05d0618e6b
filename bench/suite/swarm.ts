/**
 * A local swarm for the suite: a .torrent for a payload, opentracker (aria2 finds peers only
 * through a tracker) and N python3-libtorrent seeders on 127.0.0.1; and one measured download by
 * bitstate, aria2 or libtorrent from it, checked byte for byte.
 */

import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { aria2DownloadCommand } from '../../test/interop/harness/aria2.js';
import { referenceInfoHash } from '../../test/interop/harness/info-hash.js';
import {
  type LibtorrentSeeder,
  libtorrentClientCommand,
  startLibtorrentSeeder,
} from '../../test/interop/harness/libtorrent.js';
import { makeTorrent } from '../../test/interop/harness/mktorrent.js';
import { type Opentracker, startOpentracker } from '../../test/interop/harness/opentracker.js';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { compareTrees } from '../../test/interop/harness/payload.js';
import { getFreePort, getFreePorts } from '../../test/interop/harness/ports.js';
import { stopAll } from '../../test/interop/harness/processes.js';
import type { BenchClient } from '../bench-options.js';
import { dhtOffArgs } from '../dht-off.js';
import { type Measurement, measure } from '../measure.js';
import { pinProcess } from './cpu-split.js';
import { processCpuSeconds } from './machine.js';
import { writebackLeft } from './writeback-left.js';

export interface Swarm {
  readonly torrent: string;
  readonly infoHash: string;
  readonly peers: readonly string[];
  /** CPU seconds the seeder processes have used so far, all together (from /proc). */
  seedersCpuSeconds(): number;
  /** Every thread of every seeder onto `cpus` (cpu-split.ts). */
  pinSeeders(cpus: readonly number[]): void;
  stop(): Promise<void>;
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A torrent of `payloadPath` (a file in its own folder `dirname(payloadPath)`), tracked on loopback. */
export async function trackedTorrent(opts: {
  readonly payloadPath: string;
  readonly out: string;
  readonly pieceLength: number;
}): Promise<{ torrent: string; infoHash: string; tracker: Opentracker }> {
  const trackerPort = await getFreePort();
  const torrent = await makeTorrent({
    source: opts.payloadPath,
    out: opts.out,
    pieceLength: opts.pieceLength,
    announce: [`http://127.0.0.1:${trackerPort}/announce`],
    timeoutMs: 900_000,
  });
  const infoHash = await referenceInfoHash(torrent);
  const tracker = await startOpentracker({ infoHashes: [infoHash], port: trackerPort });
  return { torrent, infoHash, tracker };
}

/** Tracker + `seeders` libtorrent seeders of the payload; `recheck`: they hash it before serving. */
export async function startSwarm(opts: {
  readonly payloadPath: string;
  readonly torrentOut: string;
  readonly pieceLength: number;
  readonly seeders: number;
  readonly recheck: boolean;
}): Promise<Swarm> {
  const { torrent, infoHash, tracker } = await trackedTorrent({
    payloadPath: opts.payloadPath,
    out: opts.torrentOut,
    pieceLength: opts.pieceLength,
  });
  const seeders: LibtorrentSeeder[] = [];
  try {
    const ports = await getFreePorts(opts.seeders);
    seeders.push(
      ...(await Promise.all(
        ports.map((port) =>
          startLibtorrentSeeder({
            torrent,
            dataDir: dirname(opts.payloadPath),
            port,
            recheck: opts.recheck,
            readyTimeoutMs: 900_000,
            timeoutMs: 6 * 3600_000,
          }),
        ),
      )),
    );
    await tracker.waitForSeeders(infoHash, opts.seeders, 60_000);
  } catch (err) {
    await stopAll([tracker, ...seeders]);
    throw err;
  }
  return {
    torrent,
    infoHash,
    peers: seeders.map((s) => `127.0.0.1:${s.port}`),
    seedersCpuSeconds: () => {
      try {
        return seeders.reduce((sum, s) => sum + processCpuSeconds(s.process.pid), 0);
      } catch {
        return Number.NaN; // a seeder is gone (or this is not Linux): not measured
      }
    },
    pinSeeders: (cpus) => {
      for (const s of seeders) pinProcess(s.process.pid, cpus);
    },
    stop: () => stopAll([tracker, ...seeders]),
  };
}

/**
 * `node bin/bitstate.js download …` from the build, dialling `peers`, no tracker. `root`: the
 * checkout (or a copy of its build, bench/profile/ab.ts) whose bin/ runs.
 */
export function bitstateDownloadCommand(
  torrent: string,
  outDir: string,
  peers: readonly string[],
  extra: readonly string[] = ['--quiet'],
  root: string = repoRoot(),
): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      join(root, 'bin', 'bitstate.js'),
      'download',
      torrent,
      '--out',
      outDir,
      ...peers.flatMap((p) => ['--peer', p]),
      '--no-tracker',
      ...dhtOffArgs(root),
      '--port',
      '0',
      ...extra,
    ],
  };
}

/** The command line that makes `client` download `torrent` into `outDir` from `peers` (aria2: via the tracker). */
export async function downloadCommand(
  client: BenchClient,
  torrent: string,
  outDir: string,
  peers: readonly string[],
  timeoutSec: number,
): Promise<{ command: string; args: string[] }> {
  switch (client) {
    case 'aria2':
      return aria2DownloadCommand({ torrent, outDir, port: await getFreePort() });
    case 'libtorrent':
      return libtorrentClientCommand({
        torrent,
        savePath: outDir,
        port: await getFreePort(),
        mode: 'download',
        trackerOff: true,
        peers,
        timeoutSec,
      });
    case 'bitstate':
      return bitstateDownloadCommand(torrent, outDir, peers);
  }
}

export interface DownloadRun {
  readonly client: BenchClient;
  readonly round: number;
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly measurement: Measurement | undefined;
  /** CPU seconds the swarm's seeders used while this download ran (NaN when not measured). */
  readonly seedersCpuSeconds: number;
  /** CPU seconds to sync what the download left dirty in the page cache (writeback-left.ts; NaN when not asked). */
  readonly writebackLeftSeconds: number;
}

/** One measured download into a fresh folder under `scratch`, compared with `payloadPath`, then deleted. */
export async function measuredDownload(opts: {
  readonly client: BenchClient;
  readonly round: number;
  readonly torrent: string;
  readonly payloadPath: string;
  readonly peers: readonly string[];
  readonly scratch: string;
  readonly timeoutSec: number;
  /** The seeders' CPU seconds so far (Swarm.seedersCpuSeconds), read before and after the download. */
  readonly seedersCpu?: () => number;
  /** Sync what the download left dirty and measure it (writeback-left.ts; table 2c only). */
  readonly measureWriteback?: boolean;
  /** Run the downloader on these CPUs only (cpu-split.ts). */
  readonly cpus?: readonly number[];
}): Promise<DownloadRun> {
  const { client, round } = opts;
  const outDir = join(opts.scratch, `${client}-${round}`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    const { command, args } = await downloadCommand(
      client,
      opts.torrent,
      outDir,
      opts.peers,
      opts.timeoutSec,
    );
    const seedersBefore = opts.seedersCpu?.() ?? Number.NaN;
    const m = await measure(command, args, {
      name: client,
      timeoutMs: opts.timeoutSec * 1000,
      ...(opts.cpus === undefined ? {} : { cpus: opts.cpus }),
    });
    const seedersCpuSeconds = (opts.seedersCpu?.() ?? Number.NaN) - seedersBefore;
    const writebackLeftSeconds =
      opts.measureWriteback === true && m.exitCode === 0
        ? await writebackLeft(outDir, opts.timeoutSec * 1000)
        : Number.NaN;
    let error: string | undefined;
    if (m.timedOut) error = `timeout after ${opts.timeoutSec} s`;
    else if (m.exitCode !== 0)
      error = `exit ${m.exitCode}: ${m.outputTail.split('\n').filter(Boolean).slice(-2).join(' / ')}`;
    else {
      const inside = join(outDir, basename(opts.payloadPath));
      const cmp = await compareTrees(opts.payloadPath, existsSync(inside) ? inside : outDir);
      if (!cmp.equal) error = `bytes differ: ${cmp.mismatches.slice(0, 3).join('; ')}`;
    }
    log(
      `  ${client.padEnd(10)} round ${round}${opts.cpus === undefined ? '' : ` on CPU ${opts.cpus.join(',')}`}: ${error === undefined ? 'ok' : 'FAIL'} ` +
        `${m.wallSeconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(2)} s, RSS ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB` +
        (Number.isNaN(seedersCpuSeconds) ? '' : `, seeders' CPU ${seedersCpuSeconds.toFixed(2)} s`) +
        (Number.isNaN(writebackLeftSeconds) ? '' : `, writeback left ${writebackLeftSeconds.toFixed(2)} s`) +
        (error ? ` — ${error.slice(0, 200)}` : ''),
    );
    return {
      client,
      round,
      ok: error === undefined,
      error,
      measurement: m,
      seedersCpuSeconds,
      writebackLeftSeconds,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
