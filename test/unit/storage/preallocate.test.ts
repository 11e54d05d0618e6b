import assert from 'node:assert/strict';
import {
  mkdir,
  mkdtemp,
  open,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PieceStore } from '../../../src/storage/piece-store.js';
import {
  PREALLOCATE_CONCURRENCY,
  PREALLOCATE_MIN_BYTES,
  preallocate,
} from '../../../src/storage/preallocate.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

const MiB = 1024 * 1024;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-prealloc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Bytes of disk the file holds (st_blocks counts 512-byte units whatever the block size). */
const allocated = async (path: string) => (await stat(path)).blocks * 512;

/** `path` created sparse at `length` bytes, open for `body` (given its descriptor), then closed. */
async function withSparseFile(path: string, length: number, body: (fd: number) => Promise<void>) {
  const h = await open(path, 'w+');
  try {
    await h.truncate(length);
    await body(h.fd);
  } finally {
    await h.close();
  }
}

test('preallocate reserves the disk space of an open file and leaves its length alone', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f');
  await withSparseFile(path, 8 * MiB, async (fd) => {
    assert.equal(await allocated(path), 0, 'ftruncate alone leaves the file sparse');
    assert.equal(await preallocate(fd, 8 * MiB), 'allocated');
  });
  const st = await stat(path);
  assert.equal(st.size, 8 * MiB);
  assert.ok(st.blocks * 512 >= 8 * MiB, `allocated ${st.blocks * 512} bytes`);
});

test('preallocate works on the descriptor: a symlink put at the path later is not followed', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f');
  const victim = join(dir, 'victim');
  await writeFile(victim, '');
  await withSparseFile(path, 4 * MiB, async (fd) => {
    // The path now names a symlink to another file; the open descriptor is still our file.
    await rename(path, join(dir, 'moved'));
    await symlink(victim, path);
    assert.equal(await preallocate(fd, 4 * MiB), 'allocated');
  });
  const v = await stat(victim);
  assert.equal(v.size, 0);
  assert.equal(v.blocks, 0);
  assert.ok((await allocated(join(dir, 'moved'))) >= 4 * MiB);
});

test('without the tool, preallocate says unavailable and the file stays as it was', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'f');
  await withSparseFile(path, 2 * MiB, async (fd) => {
    assert.equal(await preallocate(fd, 2 * MiB, join(dir, 'no-such-fallocate')), 'unavailable');
  });
  assert.equal(await allocated(path), 0);
});

test('a tool that fails gives failed (a file system without fallocate, a full disk)', async (t) => {
  const dir = await tempDir(t);
  await withSparseFile(join(dir, 'f'), 2 * MiB, async (fd) => {
    assert.equal(await preallocate(fd, 2 * MiB, 'false'), 'failed');
  });
});

test('PieceStore.open preallocates the files it creates, never a file that has data', async (t) => {
  const out = await tempDir(t);
  const big = PREALLOCATE_MIN_BYTES;
  const small = PREALLOCATE_MIN_BYTES - 1;
  const payload = payloadBytes(2 * big + small, 7);
  const torrent = makeTorrent(
    'set',
    [
      { path: ['new.bin'], length: big },
      { path: ['kept.bin'], length: big },
      { path: ['small.bin'], length: small },
    ],
    MiB,
    payload,
  );
  // kept.bin is there already at its length, with some data and an old mtime (a resumed download).
  const kept = join(out, 'set', 'kept.bin');
  await mkdir(join(out, 'set'));
  await writeFile(kept, payload.subarray(big, big + 4096));
  await truncate(kept, big);
  const old = new Date('2026-01-02T03:04:05Z');
  await utimes(kept, old, old);

  const store = await PieceStore.open(torrent, out, { preallocate: true });
  await store.close();
  assert.ok((await allocated(join(out, 'set', 'new.bin'))) >= big, 'a new file gets its space');
  const k = await stat(kept);
  assert.ok(k.blocks * 512 < big, 'an existing file is not preallocated');
  assert.equal(k.mtime.getTime(), old.getTime(), 'nor touched: its mtime matches the resume file');
  assert.equal(await allocated(join(out, 'set', 'small.bin')), 0, 'a small file stays sparse');

  const sparseOut = await tempDir(t);
  const sparse = await PieceStore.open(torrent, sparseOut, {});
  await sparse.close();
  assert.equal(await allocated(join(sparseOut, 'set', 'new.bin')), 0, 'off by default in PieceStore');
});

test('blocks written while the preallocation still runs land intact', async (t) => {
  const out = await tempDir(t);
  const size = PREALLOCATE_MIN_BYTES;
  const payload = payloadBytes(size, 11);
  const torrent = makeTorrent('one.bin', [{ path: ['one.bin'], length: size }], MiB, payload, false);
  const store = await PieceStore.open(torrent, out, { preallocate: true });
  // Straight after open: the fallocate process has only just been started.
  const block = 16 * 1024;
  const writes: Promise<void>[] = [];
  for (let at = size - block; at >= 0; at -= block)
    writes.push(store.writeBlock(Math.floor(at / MiB), at % MiB, payload.subarray(at, at + block)));
  await Promise.all(writes);
  for (let i = 0; i < torrent.pieceCount; i++) assert.equal(await store.verifyPiece(i), true, `piece ${i}`);
  await store.close();
  const path = join(out, 'one.bin');
  assert.deepEqual(new Uint8Array(await readFile(path)), payload);
  assert.ok((await allocated(path)) >= size);
});

test('more new files than PREALLOCATE_CONCURRENCY: every one is preallocated while the store is open', async (t) => {
  const out = await tempDir(t);
  const count = PREALLOCATE_CONCURRENCY + 2;
  const files = Array.from({ length: count }, (_, i) => ({
    path: [`f${i}.bin`],
    length: PREALLOCATE_MIN_BYTES,
  }));
  const torrent = makeTorrent('many', files, MiB, new Uint8Array(count * PREALLOCATE_MIN_BYTES));
  const store = await PieceStore.open(torrent, out, { preallocate: true });
  const paths = files.map((f) => join(out, 'many', f.path[0]!));
  const allDone = async () =>
    (await Promise.all(paths.map(allocated))).every((n) => n >= PREALLOCATE_MIN_BYTES);
  try {
    // In the background: wait for it (bounded), as a download would go on meanwhile.
    const until = performance.now() + 10_000;
    while (!(await allDone()) && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.ok(await allDone(), 'each file taken once by the workers, none left out');
  } finally {
    await store.close();
  }
});
