/**
 * Targets 5 and 6: how soon bitstate has its first verified piece — from one local libtorrent
 * seeder on a small torrent (< 200 ms), and on a 100,000-piece torrent (download starts < 2 s).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { startLibtorrentSeeder } from '../../test/interop/harness/libtorrent.js';
import { getFreePort } from '../../test/interop/harness/ports.js';
import {
  envWithoutExtraCaCerts,
  inProcessFirstPiece,
  nodeStartMs,
  type SpawnTimes,
  spawnToFirstPiece,
} from './first-piece.js';
import type { PartContext, PartResult } from './part.js';
import { randomPayload } from './part-throughput.js';
import { sparsePayload } from './sparse-payload.js';
import { fmt, formatBytes, formatGrid, median, megabytesPerSecond } from './stats.js';
import { verdict } from './summary.js';
import { log } from './swarm.js';

const SMALL_SIZE = 64 * 2 ** 20;
const SMALL_PIECE = 256 * 1024;
const BLOCK_PIECE = 16 * 1024;

async function oneSeeder(torrent: string, dataDir: string) {
  return startLibtorrentSeeder({
    torrent,
    dataDir,
    port: await getFreePort(),
    recheck: true,
    trackerOff: true,
    readyTimeoutMs: 600_000,
    timeoutMs: 3600_000,
  });
}

async function torrentFile(payloadPath: string, out: string, pieceLength: number): Promise<string> {
  await writeFile(out, await createTorrent(payloadPath, { pieceLength, creationDate: 0 }));
  return out;
}

const ms = (v: number): string => fmt(v, 0);

export async function firstPiecePart(ctx: PartContext): Promise<PartResult> {
  const rounds = Math.max(5, ctx.opts.rounds);
  const payloadPath = await randomPayload(ctx.opts.workDir, SMALL_SIZE);
  const torrent = await torrentFile(payloadPath, join(ctx.scratch, 'first-piece.torrent'), SMALL_PIECE);
  log(
    `first-piece: ${formatBytes(SMALL_SIZE)}, ${formatBytes(SMALL_PIECE)} pieces, one libtorrent seeder, ${rounds} rounds`,
  );
  const seeder = await oneSeeder(torrent, dirname(payloadPath));
  const peer = `127.0.0.1:${seeder.port}`;
  const spawned: SpawnTimes[] = [];
  const inProcess: Awaited<ReturnType<typeof inProcessFirstPiece>>[] = [];
  const nodeStart: number[] = [];
  // This machine sets it (to the system CA bundle): also measured without it, as most users run.
  const plainEnv = envWithoutExtraCaCerts();
  const plainNodeStart: number[] = [];
  const plainSpawned: SpawnTimes[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const out = join(ctx.scratch, `first-piece-${round}`);
      await mkdir(out, { recursive: true });
      nodeStart.push(await nodeStartMs());
      spawned.push(await spawnToFirstPiece({ torrent, out, peers: [peer], followMs: 0, timeoutMs: 30_000 }));
      await rm(out, { recursive: true, force: true });
      if (plainEnv !== undefined) {
        await mkdir(out, { recursive: true });
        plainNodeStart.push(await nodeStartMs(plainEnv));
        plainSpawned.push(
          await spawnToFirstPiece({
            torrent,
            out,
            peers: [peer],
            followMs: 0,
            timeoutMs: 30_000,
            env: plainEnv,
          }),
        );
        await rm(out, { recursive: true, force: true });
      }
      await mkdir(out, { recursive: true });
      inProcess.push(
        await inProcessFirstPiece({ torrent, out, peer, timeoutMs: 30_000, scratch: ctx.scratch }),
      );
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await seeder.stop();
  }
  const okSpawn = spawned.filter((s) => s.ok);
  const okIn = inProcess.filter((s) => s.ok);
  const spawnFirst = median(okSpawn.map((s) => s.firstPieceMs));
  const table = formatGrid(
    ['measured (median)', 'ms', 'runs ok'],
    [
      ['`node -e 0`, spawn to exit (the floor)', ms(median(nodeStart)), String(nodeStart.length)],
      [
        'CLI: spawn → `metadata` event',
        ms(median(okSpawn.map((s) => s.metadataMs))),
        `${okSpawn.length}/${rounds}`,
      ],
      [
        'CLI: spawn → `resume.loaded` (store open)',
        ms(median(okSpawn.map((s) => s.storeOpenMs))),
        `${okSpawn.length}/${rounds}`,
      ],
      [
        'CLI: spawn → first `peer.connected`',
        ms(median(okSpawn.map((s) => s.firstPeerMs))),
        `${okSpawn.length}/${rounds}`,
      ],
      ['CLI: spawn → first `piece.verified`', ms(spawnFirst), `${okSpawn.length}/${rounds}`],
      ...(plainEnv === undefined
        ? []
        : [
            [
              '`node -e 0` without NODE_EXTRA_CA_CERTS (set on this machine)',
              ms(median(plainNodeStart)),
              String(plainNodeStart.length),
            ],
            [
              'CLI: spawn → first `piece.verified`, without NODE_EXTRA_CA_CERTS',
              ms(median(plainSpawned.filter((s) => s.ok).map((s) => s.firstPieceMs))),
              `${plainSpawned.filter((s) => s.ok).length}/${rounds}`,
            ],
          ]),
      [
        'library: process start → script start (Node boot)',
        ms(median(okIn.map((s) => s.bootMs))),
        `${okIn.length}/${rounds}`,
      ],
      [
        'library: import(dist/src/index.js)',
        ms(median(okIn.map((s) => s.importMs))),
        `${okIn.length}/${rounds}`,
      ],
      [
        'library: download() → first piece.verified',
        ms(median(okIn.map((s) => s.callToFirstPieceMs))),
        `${okIn.length}/${rounds}`,
      ],
      [
        'library: process start → first piece.verified',
        ms(median(okIn.map((s) => s.processToFirstPieceMs))),
        `${okIn.length}/${rounds}`,
      ],
    ],
  );
  const errors = [...spawned, ...plainSpawned, ...inProcess].filter((s) => !s.ok).map((s) => s.error);
  return {
    part: 'first-piece',
    tables: [
      `### 6. Time to the first verified piece from one local libtorrent seeder (${formatBytes(SMALL_SIZE)}, ${formatBytes(SMALL_PIECE)} pieces; median of ${rounds})\n\n${table}\n\n` +
        `CLI spawn → first piece < 200 ms? ${verdict(spawnFirst, (v) => v < 200)}` +
        (errors.length > 0 ? `\n\nFailures: ${errors.join('; ')}` : ''),
    ],
    data: { rounds, nodeStart, spawned, inProcess, plainNodeStart, plainSpawned },
  };
}

export async function manyPiecesPart(ctx: PartContext): Promise<PartResult> {
  const pieces = ctx.opts.manyPieces;
  const size = pieces * BLOCK_PIECE;
  const payloadPath = await sparsePayload({
    dir: join(ctx.opts.workDir, `sparse-${size}-16k`),
    name: 'many.bin',
    size,
    pieceLength: BLOCK_PIECE,
    seed: 5,
  });
  log(`many-pieces: ${pieces} pieces of 16 KiB (${formatBytes(size)} sparse), one libtorrent seeder`);
  const hashStart = performance.now();
  const torrent = await torrentFile(payloadPath, join(ctx.scratch, 'many.torrent'), BLOCK_PIECE);
  const hashMs = performance.now() - hashStart;
  const seeder = await oneSeeder(torrent, dirname(payloadPath));
  const followMs = 5000;
  const runs: SpawnTimes[] = [];
  try {
    for (let round = 1; round <= ctx.opts.rounds; round++) {
      const out = join(ctx.scratch, `many-${round}`);
      await mkdir(out, { recursive: true });
      runs.push(
        await spawnToFirstPiece({
          torrent,
          out,
          peers: [`127.0.0.1:${seeder.port}`],
          followMs,
          timeoutMs: 60_000,
        }),
      );
      log(`  round ${round}: first piece at ${ms(runs.at(-1)?.firstPieceMs ?? Number.NaN)} ms`);
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await seeder.stop();
  }
  const ok = runs.filter((r) => r.ok);
  const first = median(ok.map((r) => r.firstPieceMs));
  const after = median(ok.map((r) => r.piecesAfter));
  const afterSeconds = median(ok.map((r) => (r.lastPieceMs - r.firstPieceMs) / 1000));
  const table = formatGrid(
    ['measured (median)', 'value'],
    [
      ['spawn → `metadata` (torrent parsed, files opened)', `${ms(median(ok.map((r) => r.metadataMs)))} ms`],
      ['spawn → `resume.loaded` (store open)', `${ms(median(ok.map((r) => r.storeOpenMs)))} ms`],
      ['spawn → first `peer.connected`', `${ms(median(ok.map((r) => r.firstPeerMs)))} ms`],
      ['spawn → first `piece.verified`', `${ms(first)} ms`],
      [
        `pieces verified in the ${followMs / 1000} s after the first (of ${pieces})`,
        `${fmt(after, 0)} in ${fmt(afterSeconds, 2)} s (${fmt(megabytesPerSecond(after * BLOCK_PIECE, afterSeconds), 1)} MB/s)`,
      ],
      ['runs ok', `${ok.length}/${runs.length}`],
    ],
  );
  return {
    part: 'many-pieces',
    tables: [
      `### 5. A ${pieces.toLocaleString('en')}-piece torrent (${formatBytes(size)}, 16 KiB pieces, sparse; one libtorrent seeder)\n\n${table}\n\n` +
        `Starts downloading (first verified piece) within 2 s? ${verdict(first, (v) => v < 2000)}` +
        (ok.length < runs.length
          ? `\n\nFailures: ${runs
              .filter((r) => !r.ok)
              .map((r) => r.error)
              .join('; ')}`
          : ''),
    ],
    data: { pieces, size, torrentHashMs: hashMs, runs },
  };
}
