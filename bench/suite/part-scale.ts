/**
 * Target 4: one bitstate download holding `connections` peer connections at once, every one to a
 * real `bitstate seed` process. A peer is keyed by its address, so the connections need distinct
 * addresses: the seeders listen on 0.0.0.0 (bitstate seed has no bind-address flag), and all of
 * 127.0.0.0/8 is loopback on Linux, so 127.0.0.2:P … 127.0.0.251:P are 250 distinct peers that
 * reach the one seeder listening on port P. Two seed processes × 250 addresses = 500 connections
 * from three Node processes instead of 500.
 *
 * `--rounds` downloads (3 by default), each from fresh seeders into a fresh folder: the target is
 * that every one completes with no error, and the times are medians, like every target of issue #8.
 * A rare failure (the fifth pass found a stall in ~1 run of 20) is likelier to show in three.
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
import { count, fmt, formatBytes, formatGrid, median, megabytesPerSecond } from './stats.js';
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

/** What one round of the scale part saw. */
export interface ScaleRound {
  readonly round: number;
  /** Exit 0, bytes equal to the payload, no piece.failed. */
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly bytesMatch: boolean;
  readonly peerConnectedEvents: number;
  readonly maxConcurrentConnections: number;
  readonly closedReasons: Readonly<Record<string, number>>;
  readonly failedPieces: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
  readonly seederCpuSeconds: readonly number[];
  readonly stderrTail: string | undefined;
}

/**
 * Table 4 from the rounds: one column per round and one of medians (of the rounds that completed);
 * the verdict holds only when every round completed.
 */
export function scaleTable(
  rounds: readonly ScaleRound[],
  connections: number,
  seederProcesses: number,
): { table: string; allOk: boolean } {
  const good = rounds.filter((r) => r.ok);
  const allOk = rounds.length > 0 && good.length === rounds.length;
  const med = (value: (r: ScaleRound) => number) => median(good.map(value));
  const reasons = (closed: Readonly<Record<string, number>>) =>
    Object.entries(closed)
      .map(([r, n]) => `${r} ×${n}`)
      .join(', ') || 'none';
  const row = (label: string, each: (r: ScaleRound) => string, summary: string): string[] => [
    label,
    ...rounds.map(each),
    summary,
  ];
  /** A figure per round and its median over the completed rounds, with `digits` decimals. */
  const figure = (label: string, value: (r: ScaleRound) => number, digits: number): string[] =>
    row(label, (r) => fmt(value(r), digits), fmt(med(value), digits));
  const seederCpu = (r: ScaleRound) => r.seederCpuSeconds.reduce((a, b) => a + b, 0);
  const grid = formatGrid(
    ['measured', ...rounds.map((r) => `round ${r.round}`), `median of ${good.length} completed`],
    [
      figure('`peer.connected` events', (r) => r.peerConnectedEvents, 0),
      figure('connections open at once (max)', (r) => r.maxConcurrentConnections, 0),
      row(
        'completed, exit 0, bytes equal, no piece.failed',
        (r) => (r.ok ? 'yes' : `NO (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''})`),
        `${good.length}/${rounds.length}`,
      ),
      row('peer.closed reasons', (r) => reasons(r.closedReasons), ''),
      figure('wall s (spawn to exit)', (r) => r.wallSeconds, 2),
      figure('MB/s', (r) => megabytesPerSecond(SCALE_SIZE, r.wallSeconds), 1),
      figure('downloader CPU s', (r) => r.cpuSeconds, 2),
      figure('downloader peak RSS MiB', (r) => r.maxRssMiB, 0),
      figure('seeders CPU s (together)', seederCpu, 2),
    ],
  );
  const failed = rounds.find((r) => !r.ok);
  const table =
    `### 4. Scale: ${connections} peer connections at once (${formatBytes(SCALE_SIZE)}, ${formatBytes(SCALE_PIECE)} pieces, ` +
    `${count(seederProcesses, '`bitstate seed` process', '`bitstate seed` processes')} on 0.0.0.0 reached through ` +
    `127.0.0.2… addresses; ${count(rounds.length, 'round')})\n\n${grid}\n\n` +
    `Every round completed with no error? ${rounds.length === 0 ? '—' : allOk ? 'yes' : 'NO'}` +
    (failed?.stderrTail === undefined
      ? ''
      : `\n\nstderr tail (round ${failed.round}): ${failed.stderrTail.replace(/\s+/g, ' ').slice(-400)}`);
  return { table, allOk };
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
    `scale: ${connections} connections to ${seederCount} bitstate seed processes, ${formatBytes(SCALE_SIZE)}, ${ctx.opts.rounds} rounds`,
  );
  let seeders: BitstateSeeder[] = [];
  const out = join(ctx.scratch, 'scale-out');
  const resultPath = join(ctx.scratch, 'scale-measure.json');
  const rounds: ScaleRound[] = [];
  try {
    for (let round = 1; round <= ctx.opts.rounds; round++) {
      // Fresh seeders each round: a seeder's read cache would serve a later round from memory.
      await stopAll(seeders);
      seeders = [];
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
      const peers = scalePeers(
        seeders.map((s) => s.port),
        connections,
      );
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      await rm(resultPath, { force: true });
      const seederCpuBefore = seeders.map((s) => processCpuSeconds(s.process.pid));
      const { command, args } = bitstateDownloadCommand(torrent, out, peers, [
        '--json',
        '--max-peers',
        String(connections),
      ]);
      const proc = startProcess(
        SYSTEM_PYTHON,
        [join(repoRoot(), 'bench', 'measure.py'), resultPath, '--', command, ...args],
        {
          name: `bitstate download (scale, round ${round})`,
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
      const result: ScaleRound = {
        round,
        ok,
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
      log(`  round ${round}: ${JSON.stringify({ ...result, stderrTail: undefined })}`);
      rounds.push(result);
    }
    const { table, allOk } = scaleTable(rounds, connections, seederCount);
    return {
      part: 'scale',
      tables: [table],
      data: { connections, seederProcesses: seederCount, allOk, rounds },
    };
  } finally {
    await stopAll(seeders);
    await rm(out, { recursive: true, force: true });
  }
}
