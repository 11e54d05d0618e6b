/**
 * Where a download's wall time goes, phase by phase, for bitstate and the libtorrent downloader on
 * the same swarm (issue #8). The suite times each client from spawn to exit; this splits that time:
 *
 * - start: spawn → the first connected peer (Node's or Python's start-up, opening the store, and
 *   the dial: libtorrent connects on a tick of its own, not at once);
 * - transfer: first connected peer → the last byte verified (bitstate: its last `piece.verified`;
 *   libtorrent: its `done` line, once every piece has passed its hash);
 * - end: → exit (bitstate syncs its files first; libtorrent leaves its writes to the kernel).
 *
 * The transfer is also split at 1 s after the first peer: the seeders' ramp (libtorrent seeders
 * serve one block at a time until their first second tick: docs/performance.md, "The seeders'
 * ramp") and the rest. Bytes are counted as each client reports them: bitstate's verified pieces
 * (from `--json`), libtorrent's `total_done` (status lines every 20 ms). Times are when each line
 * reached this process.
 *
 *   node --import tsx bench/profile/seeders.ts --size 1073741824 --seeders 4 --minutes 60 &   # prints TORRENT and peers
 *   npm run build && node --import tsx bench/profile/timeline.ts [--rounds 3] [--no-libtorrent] -- TORRENT --peer HOST:PORT …
 *
 * Each round runs bitstate, then libtorrent, each into a fresh folder (removed after).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTorrentFile } from '../../src/metainfo/read-torrent-file.js';
import { pieceLengthAt } from '../../src/metainfo/torrent.js';
import { startProcess } from '../../test/interop/harness/processes.js';
import { count, formatGrid, median } from '../suite/stats.js';
import { bitstateDownloadCommand } from '../suite/swarm.js';
import { libtorrentDownloadCommand, parseSwarm, splitAtDash } from './swarm-args.js';

const { own, swarm } = splitAtDash();
const { values } = parseArgs({
  args: own,
  options: {
    rounds: { type: 'string', default: '3' },
    'no-libtorrent': { type: 'boolean', default: false },
    'timeout-sec': { type: 'string', default: '300' },
  },
});
const usage = 'timeline.ts [--rounds N] [--no-libtorrent] -- TORRENT --peer HOST:PORT …';
const { torrent: torrentPath, peers } = parseSwarm(swarm, usage);
const rounds = Number(values.rounds);
const timeoutMs = Number(values['timeout-sec']) * 1000;
if (!(rounds >= 1)) throw new Error(`usage: ${usage}`);
const torrent = await readTorrentFile(torrentPath);
const total = torrent.totalLength;

/** One download: when each thing happened, in ms from spawn, and the bytes in by then. */
interface Timeline {
  readonly client: string;
  readonly ok: boolean;
  readonly firstPeerMs: number;
  readonly lastByteMs: number;
  readonly exitMs: number;
  /** [ms from spawn, bytes in] as reported. */
  readonly progress: readonly (readonly [number, number])[];
}

async function run(client: 'bitstate' | 'libtorrent', out: string): Promise<Timeline> {
  const { command, args } =
    client === 'bitstate'
      ? bitstateDownloadCommand(torrentPath, out, peers, ['--json'])
      : await libtorrentDownloadCommand(torrentPath, out, peers, timeoutMs / 1000, 0.02);
  const started = performance.now();
  const proc = startProcess(command, args, { name: client, timeoutMs });
  let firstPeerMs = Number.NaN;
  let lastByteMs = Number.NaN;
  const progress: [number, number][] = [];
  let bytes = 0;
  proc.onLine((line, stream) => {
    if (stream !== 'stdout' || !line.startsWith('{')) return;
    const now = performance.now() - started;
    const e = JSON.parse(line) as Record<string, unknown>;
    if (client === 'bitstate') {
      if (e.type === 'peer.connected' && Number.isNaN(firstPeerMs)) firstPeerMs = now;
      else if (e.type === 'piece.verified') {
        const index = e.index as number;
        bytes += pieceLengthAt(torrent, index);
        progress.push([now, bytes]);
        if (bytes === total) lastByteMs = now;
      }
    } else if (e.event === 'status') {
      if ((e.peers as number) > 0 && Number.isNaN(firstPeerMs)) firstPeerMs = now;
      progress.push([now, e.totalDone as number]);
    } else if (e.event === 'done') {
      lastByteMs = now;
      progress.push([now, total]);
    }
  });
  const exit = await proc.exited;
  return {
    client,
    ok: exit.code === 0 && !Number.isNaN(lastByteMs) && !Number.isNaN(firstPeerMs),
    firstPeerMs,
    lastByteMs,
    exitMs: performance.now() - started,
    progress,
  };
}

/** Bytes in at `ms` from spawn: the last report at or before it. */
function bytesAt(t: Timeline, ms: number): number {
  let b = 0;
  for (const [at, bytes] of t.progress) if (at <= ms) b = bytes;
  return b;
}

const MB = 1e6;
const phases = (t: Timeline) => {
  const rampEnd = t.firstPeerMs + 1000;
  const inRamp = bytesAt(t, rampEnd);
  return {
    startS: t.firstPeerMs / 1000,
    transferS: (t.lastByteMs - t.firstPeerMs) / 1000,
    endS: (t.exitMs - t.lastByteMs) / 1000,
    wallS: t.exitMs / 1000,
    firstSecondMBps: inRamp / MB,
    afterMBps: (total - inRamp) / MB / ((t.lastByteMs - rampEnd) / 1000),
  };
};

const clients: ('bitstate' | 'libtorrent')[] = values['no-libtorrent']
  ? ['bitstate']
  : ['bitstate', 'libtorrent'];
const results: Timeline[] = [];
const scratch = await mkdtemp(join(tmpdir(), 'bitstate-timeline-'));
try {
  for (let round = 1; round <= rounds; round++)
    for (const client of clients) {
      const out = join(scratch, `${client}-${round}`);
      await mkdir(out, { recursive: true });
      const t = await run(client, out);
      await rm(out, { recursive: true, force: true });
      results.push(t);
      const p = phases(t);
      process.stdout.write(
        `round ${round} ${client.padEnd(10)} ${t.ok ? 'ok  ' : 'FAIL'} start ${p.startS.toFixed(2)} s, ` +
          `transfer ${p.transferS.toFixed(2)} s (first second ${p.firstSecondMBps.toFixed(0)} MB, then ` +
          `${p.afterMBps.toFixed(0)} MB/s), end ${p.endS.toFixed(2)} s, wall ${p.wallS.toFixed(2)} s\n`,
      );
    }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const rows = clients.map((client) => {
  const ps = results.filter((r) => r.client === client && r.ok).map(phases);
  const m = (f: (p: (typeof ps)[number]) => number, digits: number) => median(ps.map(f)).toFixed(digits);
  return [
    client,
    `${ps.length}/${rounds}`,
    m((p) => p.startS, 2),
    m((p) => p.transferS, 2),
    m((p) => p.firstSecondMBps, 0),
    m((p) => p.afterMBps, 0),
    m((p) => p.endS, 2),
    m((p) => p.wallS, 2),
  ];
});
process.stdout.write(
  `\n${(total / 2 ** 20).toFixed(0)} MiB, ${count(peers.length, 'peer')}; medians:\n\n${formatGrid(
    [
      'client',
      'ok',
      'spawn → first peer, s',
      'first peer → last byte, s',
      'MB in its first second',
      'MB/s after it',
      'last byte → exit, s',
      'spawn → exit, s',
    ],
    rows,
  )}\n`,
);
