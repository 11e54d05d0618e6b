/**
 * BitTorrent v2 (BEP 52) against libtorrent 2.0 on 127.0.0.1, with torrents libtorrent made itself:
 * bitstate downloads a v2-only torrent (and a hybrid one) from a libtorrent seeder, and libtorrent
 * downloads a v2-only torrent from a bitstate seeder. The files are shorter than, as long as and
 * longer than a piece, plus an empty one, so every shape of v2 piece (a file's last piece, the one
 * piece of a small file, the implicit padding between files) crosses the wire; bytes compared with
 * the source.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BitstateRun, runBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';
import { type LibtorrentTorrentFormat, makeTorrentWithLibtorrent } from './harness/libtorrent-create.js';
import { compareTrees, writeMultiFilePayload, writeSingleFilePayload } from './harness/payload.js';
import { type ManagedProcess, stopAll } from './harness/processes.js';

const PIECE = 64 * 1024;
let dir = '';
const procs: ManagedProcess[] = [];
/** The seeded data: `dir/seed/tree` (multi-file) and `dir/seed/one.bin` (single file). */
let tree = '';
let one = '';

async function made(source: string, name: string, format: LibtorrentTorrentFormat) {
  const out = join(dir, `${name}.torrent`);
  const hashes = await makeTorrentWithLibtorrent({ source, out, pieceLength: PIECE, format });
  return { torrent: out, hashes, info: await referenceTorrentInfo(out) };
}

/** What a finished download must show: exit 0, every piece verified once, the bytes of the source. */
async function assertDownloaded(run: BitstateRun, source: string, dest: string, pieceCount: number) {
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());
  const verified = new Set(run.events.filter((e) => e.type === 'piece.verified').map((e) => e.index));
  assert.equal(verified.size, pieceCount, 'every piece verified');
  assert.deepEqual(
    run.events.filter((e) => e.type === 'piece.failed'),
    [],
    'no piece failed its hash',
  );
  const cmp = await compareTrees(source, dest);
  assert.deepEqual(cmp.mismatches, []);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-v2-'));
  const m = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    files: [
      { path: 'a-long.bin', length: 3 * PIECE + 5_000 },
      { path: 'b-piece.bin', length: PIECE },
      { path: 'c-empty.txt', length: 0 },
      { path: 'd/e-short.bin', length: 20_000 },
      { path: 'd/f-tiny.txt', length: 7 },
      { path: 'g-two-blocks.bin', length: 16 * 1024 + 1 },
    ],
    seed: 81,
  });
  tree = m.root;
  one = (
    await writeSingleFilePayload({ dir: join(dir, 'seed'), name: 'one.bin', size: 5 * PIECE + 123, seed: 82 })
  ).root;
});

after(async () => {
  await stopAll(procs);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('BitTorrent v2 with libtorrent', () => {
  for (const [label, source, format] of [
    ['a v2-only multi-file torrent', () => tree, 'v2'],
    ['a v2-only single-file torrent', () => one, 'v2'],
    ['a hybrid multi-file torrent', () => tree, 'hybrid'],
  ] as const) {
    it(`bitstate downloads ${label} from a libtorrent seeder`, async () => {
      const name = `${format}-${label.includes('single') ? 'one' : 'tree'}`;
      const t = await made(source(), name, format);
      const seeder = await startLibtorrentSeeder({
        torrent: t.torrent,
        dataDir: join(dir, 'seed'),
        trackerOff: true,
      });
      procs.push(seeder.process);
      const out = join(dir, `out-${name}`);
      const run = await runBitstateDownload({
        torrent: t.torrent,
        out,
        peers: [`127.0.0.1:${seeder.port}`],
        noTracker: true,
        stallTimeoutSec: 20,
      });
      const metadata = run.events.find((e) => e.type === 'metadata');
      assert.equal(metadata?.pieceCount, t.info.pieceCount, 'the piece count libtorrent sees');
      await assertDownloaded(
        run,
        source(),
        join(out, source() === tree ? 'tree' : 'one.bin'),
        t.info.pieceCount,
      );
      await seeder.stop();
    });
  }

  for (const format of ['v2', 'hybrid'] as const)
    it(`libtorrent downloads a ${format === 'v2' ? 'v2-only' : 'hybrid'} torrent from a bitstate seeder`, async () => {
      const t = await made(tree, `${format}-served`, format);
      const seeder = await startBitstateSeeder(t.torrent, join(dir, 'seed'), ['--no-tracker']);
      procs.push(seeder.process);
      const out = join(dir, `out-libtorrent-${format}`);
      await libtorrentDownload({
        torrent: t.torrent,
        outDir: out,
        peers: [`127.0.0.1:${seeder.port}`],
        timeoutMs: 30_000,
      });
      const cmp = await compareTrees(tree, join(out, 'tree'));
      assert.deepEqual(cmp.mismatches, []);
      assert.ok(
        seeder.events.some((e) => e.type === 'peer.connected'),
        'libtorrent connected to the seeder by the truncated v2 info-hash',
      );
      await seeder.process.stop();
    });
});
