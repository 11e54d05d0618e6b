/**
 * Target 4: one bitstate download holding `connections` peer connections at once, every one to a
 * real `bitstate seed` process. A peer is keyed by its address, so the connections need distinct
 * addresses: the seeders listen on 0.0.0.0 (bitstate seed has no bind-address flag), and all of
 * 127.0.0.0/8 is loopback on Linux, so 127.0.0.2:P … 127.0.0.251:P are 250 distinct peers that
 * reach the one seeder listening on port P. Two seed processes × 250 addresses = 500 connections
 * from three Node processes instead of 500.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SYSTEM_PYTHON } from '../../test/interop/harness/info-hash.js';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { compareTrees } from '../../test/interop/harness/payload.js';
import { startProcess, stopAll } from '../../test/interop/harness/processes.js';
import { type BitstateSeeder, startBitstateSeeder } from './bitstate-seeder.js';
import { processCpuSeconds } from './machine.js';
import type { PartContext, PartResult } from './part.js';
import { randomPayload } from './part-throughput.js';
import { fmt, formatBytes, formatGrid, megabytesPerSecond } from './stats.js';
import { bitstateDownloadCommand, log, trackedTorrent } from './swarm.js';

const SCALE_SIZE = 128 * 2 ** 20;
const SCALE_PIECE = 32 * 1024;
/** Connections per `bitstate seed` process: one loopback address (127.0.0.N) each. */
export const ADDRESSES_PER_SEEDER = 250;

/** The peer list: connection i goes to seeder i mod N through address 127.0.0.(2 + i div N). */
export function scalePeers(ports: readonly number[], connections: number): string[] {
  const peers: string[] = [];
  for (let i = 0; i < connections; i++) {
    const host = 2 + Math.floor(i / ports.length);
    if (host > 254) throw new Error(`${connections} connections need more than 253 addresses per seeder`);
    peers.push(`127.0.0.${host}:${ports[i % ports.length]}`);
  }
  return peers;
}

export async function scalePart(ctx: PartContext): Promise<PartResult> {
  const connections = ctx.opts.connections;
  const seederCount = Math.max(1, Math.ceil(connections / ADDRESSES_PER_SEEDER));
  const payloadPath = await randomPayload(ctx.opts.workDir, SCALE_SIZE);
  // mktorrent and a tracker we do not use: the torrent is the one thing needed.
  const { torrent, tracker } = await trackedTorrent({
    payloadPath,
    out: join(ctx.scratch, 'scale.torrent'),
    pieceLength: SCALE_PIECE,
  });
  await tracker.stop();
  log(
    `scale: ${connections} connections to ${seederCount} bitstate seed processes, ${formatBytes(SCALE_SIZE)}`,
  );
  const seeders: BitstateSeeder[] = [];
  const out = join(ctx.scratch, 'scale-out');
  await mkdir(out, { recursive: true });
  const resultPath = join(ctx.scratch, 'scale-measure.json');
  try {
    for (let i = 0; i < seederCount; i++)
      seeders.push(
        await startBitstateSeeder({
          torrent,
          dataDir: dirname(payloadPath),
          announce: false,
          maxPeers: ADDRESSES_PER_SEEDER + 50,
          timeoutMs: 3600_000,
        }),
      );
    const seederCpuBefore = seeders.map((s) => processCpuSeconds(s.process.pid));
    const peers = scalePeers(
      seeders.map((s) => s.port),
      connections,
    );
    const { command, args } = bitstateDownloadCommand(torrent, out, peers, [
      '--json',
      '--max-peers',
      String(connections),
    ]);
    const proc = startProcess(
      SYSTEM_PYTHON,
      [join(repoRoot(), 'bench', 'measure.py'), resultPath, '--', command, ...args],
      {
        name: 'bitstate download (scale)',
        timeoutMs: ctx.opts.timeoutSec * 1000,
      },
    );
    let open = 0;
    let maxOpen = 0;
    let connected = 0;
    let failedPieces = 0;
    const closed = new Map<string, number>();
    proc.onLine((line, stream) => {
      if (stream !== 'stdout' || !line.startsWith('{')) return;
      const e = JSON.parse(line) as { type: string; reason?: string };
      if (e.type === 'peer.connected') {
        connected++;
        open++;
        maxOpen = Math.max(maxOpen, open);
      } else if (e.type === 'peer.closed') {
        open--;
        const reason = e.reason ?? '?';
        closed.set(reason, (closed.get(reason) ?? 0) + 1);
      } else if (e.type === 'piece.failed') failedPieces++;
    });
    const exit = await proc.exited;
    const seederCpu = seeders.map((s, i) => processCpuSeconds(s.process.pid) - (seederCpuBefore[i] ?? 0));
    const m = JSON.parse(await readFile(resultPath, 'utf8').catch(() => '{}')) as Record<string, number>;
    const cmp =
      exit.code === 0 ? await compareTrees(payloadPath, join(out, basename(payloadPath))) : undefined;
    const ok = exit.code === 0 && cmp?.equal === true && failedPieces === 0;
    const data = {
      connections,
      seederProcesses: seederCount,
      exitCode: exit.code,
      timedOut: exit.timedOut,
      bytesMatch: cmp?.equal ?? false,
      peerConnectedEvents: connected,
      maxConcurrentConnections: maxOpen,
      closedReasons: Object.fromEntries(closed),
      failedPieces,
      wallSeconds: m.wallSeconds ?? Number.NaN,
      cpuSeconds: (m.userSeconds ?? Number.NaN) + (m.systemSeconds ?? Number.NaN),
      maxRssMiB: (m.maxRssKiB ?? Number.NaN) / 1024,
      seederCpuSeconds: seederCpu,
      stderrTail: ok ? undefined : proc.stderrTail().slice(-1000),
    };
    log(`  ${JSON.stringify({ ...data, stderrTail: undefined })}`);
    const table = formatGrid(
      ['measured', 'value'],
      [
        ['peer addresses given (`--peer`, `--max-peers`)', String(connections)],
        ['`bitstate seed` processes (0.0.0.0, 127.0.0.2… addresses)', String(seederCount)],
        ['`peer.connected` events', String(connected)],
        ['connections open at once (max)', String(maxOpen)],
        ['completed, exit 0, bytes equal, no piece.failed', ok ? 'yes' : `NO (exit ${exit.code})`],
        ['peer.closed reasons', [...closed].map(([r, n]) => `${r} ×${n}`).join(', ') || 'none'],
        ['wall s (spawn to exit)', fmt(data.wallSeconds, 2)],
        ['MB/s', fmt(megabytesPerSecond(SCALE_SIZE, data.wallSeconds), 1)],
        ['downloader CPU s / peak RSS MiB', `${fmt(data.cpuSeconds, 2)} / ${fmt(data.maxRssMiB, 0)}`],
        ['seeders CPU s', seederCpu.map((c) => fmt(c, 2)).join(' + ')],
      ],
    );
    return {
      part: 'scale',
      tables: [
        `### 4. Scale: ${connections} peer connections at once (${formatBytes(SCALE_SIZE)}, ${formatBytes(SCALE_PIECE)} pieces, bitstate seeders on loopback)\n\n${table}` +
          (ok ? '' : `\n\nstderr tail: ${data.stderrTail?.replace(/\s+/g, ' ').slice(-400)}`),
      ],
      data,
    };
  } finally {
    await stopAll(seeders);
    await rm(out, { recursive: true, force: true });
  }
}
