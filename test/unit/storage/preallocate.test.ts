import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmod,
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
  freeBytes,
  PREALLOCATE_CONCURRENCY,
  PREALLOCATE_HEADROOM_BYTES,
  PREALLOCATE_MIN_BYTES,
  type PreallocationHost,
  type PreallocationReport,
  planPreallocation,
  preallocate,
  preallocateFiles,
} from '../../../src/storage/preallocate.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

const MiB = 1024 * 1024;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-prealloc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Bytes of disk the file holds (st_blocks counts 512-byte units whatever the block size); 0 when it is not there. */
const allocated = async (path: string) => ((await stat(path).catch(() => undefined))?.blocks ?? 0) * 512;

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
  await assert.rejects(stat(join(out, 'set', 'small.bin')), 'a small file waits for its first write');

  const sparseOut = await tempDir(t);
  const sparse = await PieceStore.open(torrent, sparseOut, {});
  await sparse.close();
  await assert.rejects(stat(join(sparseOut, 'set', 'new.bin')), 'off by default in PieceStore');
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

test('planPreallocation: only what fits with PREALLOCATE_HEADROOM_BYTES to spare, never on unknown free space', () => {
  const GiB = 1024 * MiB;
  // The review's case: a torrent claiming 1 GiB on a 64 MB file system with 50 MiB free.
  assert.equal(planPreallocation(GiB, 50 * MiB).allocate, false);
  assert.equal(planPreallocation(GiB, 100 * GiB).allocate, true);
  const need = 20 * MiB;
  assert.equal(planPreallocation(need, need + PREALLOCATE_HEADROOM_BYTES).allocate, true);
  assert.equal(planPreallocation(need, need + PREALLOCATE_HEADROOM_BYTES - 1).allocate, false);
  assert.equal(planPreallocation(need, undefined).allocate, false, 'statfs could not tell');
  assert.deepEqual(planPreallocation(need, 5 * MiB), {
    allocate: false,
    needBytes: need,
    freeBytes: 5 * MiB,
  });
});

test('freeBytes reads the file system of a folder (statfs), undefined for a path that is not there', async (t) => {
  const dir = await tempDir(t);
  const free = await freeBytes(dir);
  assert.ok(free !== undefined && free > 0);
  assert.equal(await freeBytes(join(dir, 'none', 'such')), undefined);
});

test('preallocateFiles skips what does not fit, without running the tool', async (t) => {
  const dir = await tempDir(t);
  const free = (await freeBytes(dir)) ?? 0;
  const host: PreallocationHost = {
    withFd: () => assert.fail('no file may be touched'),
    written: () => false,
    closed: () => false,
  };
  const r = await preallocateFiles([{ target: 0, length: free }], dir, host);
  assert.deepEqual(r, { outcome: 'skipped', files: 1, needBytes: free, freeBytes: r?.freeBytes });
  assert.ok(r?.freeBytes !== undefined && r.freeBytes < free + PREALLOCATE_HEADROOM_BYTES);
});

/** A fallocate that reserves half of what it is asked, then fails as on a full disk. */
async function halfFallocate(dir: string): Promise<string> {
  const tool = join(dir, 'half-fallocate');
  await writeFile(
    tool,
    '#!/bin/sh\nfallocate --keep-size --length $(($3 / 2)) /dev/fd/3\necho "fallocate: fallocate failed: No space left on device" >&2\nexit 1\n',
  );
  await chmod(tool, 0o755);
  return tool;
}

for (const written of [false, true])
  test(`a preallocation that fails part way gives its blocks back ${written ? 'unless a write has started on the file' : 'when nothing was written'}`, async (t) => {
    const dir = await tempDir(t);
    const tool = await halfFallocate(dir);
    const path = join(dir, 'f');
    const length = PREALLOCATE_MIN_BYTES;
    const h = await open(path, 'w+');
    let report: PreallocationReport | undefined;
    try {
      await h.truncate(length);
      if (written) await h.write(Buffer.from('data of ours'), 0, 12, 1000);
      report = await preallocateFiles(
        [{ target: 0, length }],
        dir,
        { withFd: (_, fn) => fn(h.fd), written: () => written, closed: () => false },
        tool,
      );
    } finally {
      await h.close();
    }
    assert.equal(report?.outcome, 'failed');
    assert.match(report?.detail ?? '', /No space left on device/);
    assert.equal((await stat(path)).size, length, 'its length stays');
    if (written) {
      assert.ok((await allocated(path)) >= length / 2, 'blocks kept: a write may be in them');
      assert.equal((await readFile(path)).subarray(1000, 1012).toString(), 'data of ours');
    } else assert.ok((await allocated(path)) < MiB, `given back: ${await allocated(path)} bytes left`);
  });

test('on a file system too small for the torrent (a 32 MiB tmpfs), PieceStore leaves the new file sparse and says so', async (t) => {
  const out = await tempDir(t);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', out], { stdio: 'ignore' });
  } catch {
    return t.skip('cannot mount tmpfs (not root?)');
  }
  try {
    const size = 24 * MiB; // fits, but not with PREALLOCATE_HEADROOM_BYTES to spare
    const torrent = makeTorrent(
      'fits.bin',
      [{ path: ['fits.bin'], length: size }],
      MiB,
      new Uint8Array(size),
      false,
    );
    const reports: PreallocationReport[] = [];
    const store = await PieceStore.open(torrent, out, {
      preallocate: true,
      onPreallocation: (r) => reports.push(r),
    });
    await store.close();
    await assert.rejects(stat(join(out, 'fits.bin')), 'not created ahead of its writes');
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.outcome, 'skipped');
    assert.equal(reports[0]?.needBytes, size);
  } finally {
    execFileSync('umount', [out], { stdio: 'ignore' });
  }
});
