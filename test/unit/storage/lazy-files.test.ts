/**
 * Files created at their first write, as libtorrent does (store-files.ts): opening a store creates
 * nothing; a write creates its file (folders too) sparse at its length; a file not created reads as
 * zeros — on this thread and on a hash worker — and is not created by the read; one created and then
 * removed is still `fileRemoved` for `stampFiles`; the parts file waits for its first write too; `createMissing`
 * creates what no block was written to. Real files in a temp folder.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { partsFilePath } from '../../../src/storage/store-files.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-lazy-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const PIECE = 64;
// Piece 0: a.bin; pieces 1–2: sub/deep/b.bin (128 bytes); piece 3: zeros.bin, whose bytes are all
// zero; e: zero-length.
const payload = payloadBytes(4 * PIECE, 3);
payload.fill(0, 3 * PIECE);
const torrent = makeTorrent(
  'lazy',
  [
    { path: ['a.bin'], length: PIECE },
    { path: ['sub', 'deep', 'b.bin'], length: 2 * PIECE },
    { path: ['zeros.bin'], length: PIECE },
    { path: ['e'], length: 0 },
  ],
  PIECE,
  payload,
);

test('opening a store creates nothing; a first write creates its file and folders, sparse at its length', async (t) => {
  const out = await tempDir(t);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  try {
    assert.deepEqual(await readdir(out), [], 'no folder, no file');
    await store.writeBlock(2, 16, payload.subarray(2 * PIECE + 16, 2 * PIECE + 32));
    const b = join(out, 'lazy', 'sub', 'deep', 'b.bin');
    assert.equal((await stat(b)).size, 2 * PIECE, 'at its full length');
    assert.deepEqual(await readdir(join(out, 'lazy')), ['sub'], 'only what was written');
    assert.ok(store.isOnDisk(1) && !store.isOnDisk(0));
  } finally {
    await store.close();
  }
  // close() synced it: the block is there.
  const bytes = await readFile(join(out, 'lazy', 'sub', 'deep', 'b.bin'));
  assert.deepEqual(
    new Uint8Array(bytes.subarray(PIECE + 16, PIECE + 32)),
    payload.subarray(2 * PIECE + 16, 2 * PIECE + 32),
  );
});

for (const hashWorkers of [0, 1])
  test(`a file not created reads as zeros and stays uncreated (hashWorkers ${hashWorkers}); one removed after its creation is found by stampFiles`, async (t) => {
    const out = await tempDir(t);
    const store = await PieceStore.open(torrent, out, { hashWorkers });
    try {
      await store.hashWorkersReady();
      assert.deepEqual(await store.readBlock(0, 0, 16), new Uint8Array(16));
      // Only the piece of zeros matches: what a sparse file created at open held too.
      assert.deepEqual([...(await store.checkPieces()).indexes()], [3]);
      assert.deepEqual(await store.stampFiles({ everyFile: true }), [null, null, null, null]); // nothing on disk
      assert.deepEqual(await readdir(out), [], 'reads and checks create nothing');

      for (let at = 0; at < PIECE; at += 16) await store.writeBlock(0, at, payload.subarray(at, at + 16));
      assert.equal(await store.verifyPiece(0), true);
      assert.deepEqual([...(await store.checkPieces()).indexes()], [0, 3]);
      await rm(join(out, 'lazy', 'a.bin'));
      const removed = (e: unknown) => e instanceof StorageError && e.code === 'fileRemoved';
      await assert.rejects(store.stampFiles(), removed);
    } finally {
      await store.close();
    }
  });

test('createMissing creates the files no block was written to, at their length, once', async (t) => {
  const out = await tempDir(t);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0, maxOpenFiles: 1 });
  try {
    for (let at = 0; at < PIECE; at += 16) await store.writeBlock(0, at, payload.subarray(at, at + 16));
    assert.equal(await store.createMissing(), 3);
    assert.equal(await store.createMissing(), 0);
  } finally {
    await store.close();
  }
  assert.equal((await stat(join(out, 'lazy', 'sub', 'deep', 'b.bin'))).size, 2 * PIECE);
  assert.deepEqual(await readFile(join(out, 'lazy', 'zeros.bin')), Buffer.alloc(PIECE));
  assert.equal((await stat(join(out, 'lazy', 'e'))).size, 0);
  assert.deepEqual(new Uint8Array(await readFile(join(out, 'lazy', 'a.bin'))), payload.subarray(0, PIECE));
});

test('selective download: the parts file and the selected files wait for their first write; unselected files never come', async (t) => {
  const out = await tempDir(t);
  // a.bin (70 bytes) unselected shares piece 1 with b.bin: its last 6 bytes go to the parts file.
  const bytes = payloadBytes(3 * PIECE, 8);
  const shared = makeTorrent(
    'sel',
    [
      { path: ['a.bin'], length: PIECE + 6 },
      { path: ['b.bin'], length: 2 * PIECE - 6 },
    ],
    PIECE,
    bytes,
  );
  const store = await PieceStore.open(shared, out, { hashWorkers: 0, selected: [false, true] });
  const parts = partsFilePath(shared, out);
  try {
    assert.deepEqual(await readdir(out), [], 'neither the parts file nor its folder');
    for (let at = 0; at < PIECE; at += 16)
      await store.writeBlock(1, at, bytes.subarray(PIECE + at, PIECE + at + 16));
    assert.equal(await store.verifyPiece(1), true);
    assert.equal((await stat(parts)).size, PIECE, 'one slot');
    assert.equal(await store.createMissing(), 0, 'b.bin was written');
  } finally {
    await store.close();
  }
  assert.equal(await exists(join(out, 'sel', 'a.bin')), false);
  assert.equal((await stat(join(out, 'sel', 'b.bin'))).size, 2 * PIECE - 6);
});

test('a folder swapped for a symlink after a first file was created in it: the next create is refused, nothing lands outside', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  const outside = join(dir, 'outside');
  await mkdir(outside);
  const payload = payloadBytes(128, 1);
  const torrent = makeTorrent(
    't',
    [
      { path: ['sub', 'a'], length: 64 },
      { path: ['sub', 'b'], length: 64 },
    ],
    64,
    payload,
  );
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  t.after(() => store.close().catch(() => {}));
  await store.writeBlock(0, 0, payload.subarray(0, 16)); // creates t/sub and t/sub/a
  await rename(join(out, 't', 'sub'), join(dir, 'moved'));
  await symlink(outside, join(out, 't', 'sub'));
  await assert.rejects(store.writeBlock(1, 0, payload.subarray(64, 80)), (err: unknown) => {
    assert.ok(err instanceof StorageError);
    assert.equal(err.code, 'pathEscape');
    return true;
  });
  assert.deepEqual(await readdir(outside), [], 'nothing created outside the output folder');
});
