import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceDataLengths } from '../../../src/metainfo/piece-data-length.js';
import { pieceLengthAt, type Torrent } from '../../../src/metainfo/torrent.js';
import { PieceStore, type PieceStoreOptions } from '../../../src/storage/piece-store.js';
import { stampOfStats } from '../../../src/storage/resume-file.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { v2Torrent } from '../../helpers/v2-torrent.js';
import { type FileSpec, makeTorrent, payloadBytes, shuffled, zeroPadding } from './make-torrent.js';

const BLOCK = 16;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-storage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A single-file torrent of one piece of four blocks (`name`, bytes from `seed`) in a fresh folder,
 * its store opened with `opts` for `body`, then closed.
 */
async function withOnePieceStore(
  t: { after(fn: () => Promise<void>): void },
  name: string,
  seed: number,
  opts: PieceStoreOptions,
  body: (store: PieceStore, payload: Uint8Array) => Promise<void>,
): Promise<void> {
  const out = await tempDir(t);
  const payload = payloadBytes(4 * BLOCK, seed);
  const torrent = makeTorrent(
    name,
    [{ path: [name], length: payload.length }],
    payload.length,
    payload,
    false,
  );
  const store = await PieceStore.open(torrent, out, opts);
  try {
    await body(store, payload);
  } finally {
    await store.close();
  }
}

function blocksOf(torrent: Torrent): { index: number; begin: number; length: number }[] {
  const out = [];
  for (let index = 0; index < torrent.pieceCount; index++)
    for (let begin = 0; begin < pieceLengthAt(torrent, index); begin += BLOCK)
      out.push({ index, begin, length: Math.min(BLOCK, pieceLengthAt(torrent, index) - begin) });
  return out;
}

async function writeAll(
  store: PieceStore,
  torrent: Torrent,
  payload: Uint8Array,
  seed: number,
): Promise<void> {
  // Random order, several in flight at once, as blocks arrive from many peers.
  await Promise.all(
    shuffled(blocksOf(torrent), seed).map((b) => {
      const at = b.index * torrent.pieceLength + b.begin;
      return store.writeBlock(b.index, b.begin, payload.subarray(at, at + b.length));
    }),
  );
}

// Piece length 64; files not aligned with pieces, a 3-byte file inside piece 0, zero-length
// files (one at the start, one in the middle, one at the end), nested folders, a BEP 47 padding file.
const specs: FileSpec[] = [
  { path: ['empty-first'], length: 0 },
  { path: ['a.bin'], length: 50 },
  { path: ['tiny'], length: 3 },
  { path: ['sub', 'deeper', 'b.bin'], length: 100 },
  { path: ['sub', 'empty'], length: 0 },
  { path: ['.pad', '21'], length: 21, padding: true },
  { path: ['sub', 'c.bin'], length: 130 },
  { path: ['z-empty-last'], length: 0 },
];
const total = specs.reduce((n, s) => n + s.length, 0);

for (const hashWorkers of [1, 0]) {
  test(`multi-file: random-order blocks land exactly, every piece verifies (hashWorkers ${hashWorkers})`, async (t) => {
    const out = await tempDir(t);
    const payload = zeroPadding(payloadBytes(total, 3), specs);
    const torrent = makeTorrent('multi', specs, 64, payload);
    const store = await PieceStore.open(torrent, out, { hashWorkers });
    try {
      // Before its worker has loaded, a store hashes on its own thread: this test is about the worker.
      await store.hashWorkersReady();
      assert.equal((await store.checkPieces()).count, 0, 'files not created read as zeros: nothing verifies');
      assert.deepEqual(await readdir(out), [], 'nothing is created before it is written, not even a folder');
      await writeAll(store, torrent, payload, 11 + hashWorkers);
      for (let i = 0; i < torrent.pieceCount; i++)
        assert.equal(await store.verifyPiece(i), true, `piece ${i}`);
      const progress: number[] = [];
      const have = await store.checkPieces((n) => progress.push(n));
      assert.ok(have.isComplete());
      assert.equal(progress.length, torrent.pieceCount);
      // A block read back spanning tiny → b.bin.
      assert.deepEqual(await store.readBlock(0, 48, 16), payload.subarray(48, 64));
      // Across the padding file: its bytes read as zeros.
      assert.deepEqual(await store.readBlock(2, 20, 40), payload.subarray(148, 188));
      // Zero-length files are never written: created once the download is complete.
      await assert.rejects(stat(join(out, 'multi', 'empty-first')));
      assert.equal(await store.createMissing(), 3);
      assert.equal(await store.createMissing(), 0, 'once');
    } finally {
      await store.close();
    }
    let offset = 0;
    for (const s of specs) {
      const path = join(out, 'multi', ...s.path);
      if (s.padding) await assert.rejects(stat(path), 'padding files are never created');
      else
        assert.deepEqual(
          new Uint8Array(await readFile(path)),
          payload.subarray(offset, offset + s.length),
          path,
        );
      offset += s.length;
    }
    assert.deepEqual((await readdir(join(out, 'multi'))).sort(), [
      'a.bin',
      'empty-first',
      'sub',
      'tiny',
      'z-empty-last',
    ]);
  });
}

for (const writeMode of ['auto', 'sync', 'pool'] as const) {
  test(`single-file: <out>/<name>, created at full size by its first write (writeMode ${writeMode})`, async (t) => {
    const out = await tempDir(t);
    const payload = payloadBytes(1000, 5);
    const torrent = makeTorrent('file.iso', [{ path: ['file.iso'], length: 1000 }], 256, payload, false);
    const store = await PieceStore.open(torrent, out, { writeMode });
    try {
      await assert.rejects(stat(join(out, 'file.iso')), 'not before');
      await store.writeBlock(3, 0, payload.subarray(768, 768 + BLOCK));
      assert.equal((await stat(join(out, 'file.iso'))).size, 1000);
      await writeAll(store, torrent, payload, 2);
      assert.ok((await store.checkPieces()).isComplete());
    } finally {
      await store.close();
    }
    assert.deepEqual(new Uint8Array(await readFile(join(out, 'file.iso'))), payload);
  });
}

test('a corrupted piece fails verification, the others still pass', async (t) => {
  const out = await tempDir(t);
  const payload = payloadBytes(300, 9);
  const torrent = makeTorrent(
    'c',
    [
      { path: ['x'], length: 120 },
      { path: ['y'], length: 180 },
    ],
    64,
    payload,
  );
  const store = await PieceStore.open(torrent, out);
  try {
    await writeAll(store, torrent, payload, 4);
    const bad = Uint8Array.from(payload.subarray(70, 86));
    bad[5]! ^= 0x01; // one bit in piece 1, which spans x and y
    await store.writeBlock(1, 6, bad);
    assert.equal(await store.verifyPiece(1), false);
    assert.equal(await store.verifyPiece(0), true);
    const have = await store.checkPieces();
    assert.deepEqual([...have.indexes()], [0, 2, 3, 4]);
  } finally {
    await store.close();
  }
});

test('blocks outside their piece are refused with badRange; use after close with closed', async (t) => {
  const out = await tempDir(t);
  const payload = payloadBytes(100, 1);
  const torrent = makeTorrent('r', [{ path: ['r'], length: 100 }], 64, payload);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 1 });
  const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;
  await assert.rejects(store.writeBlock(1, 30, new Uint8Array(7)), isCode('badRange'));
  await assert.rejects(store.writeBlock(2, 0, new Uint8Array(1)), isCode('badRange'));
  await assert.rejects(store.readBlock(0, 60, 5), isCode('badRange'));
  await assert.rejects(store.verifyPiece(-1), isCode('badRange'));
  await store.close();
  await assert.rejects(store.writeBlock(0, 0, new Uint8Array(1)), isCode('closed'));
  await assert.rejects(store.verifyPiece(0), isCode('closed'));
});

test('existing files of ours are kept and set to their torrent length; resume finds their pieces', async (t) => {
  const out = await tempDir(t);
  const payload = payloadBytes(200, 8);
  const torrent = makeTorrent('keep', [{ path: ['k'], length: 200 }], 64, payload, false);
  // A previous run of ours (its resume file records the file as it is) left the first 2 pieces and a
  // longer tail of junk. A file nobody vouches for is never cut: store-files.test.ts.
  await writeFile(join(out, 'keep'), Buffer.concat([payload.subarray(0, 128), Buffer.alloc(500, 7)]));
  const recorded = [stampOfStats(await lstat(join(out, 'keep'), { bigint: true }))];
  const store = await PieceStore.open(torrent, out, { recorded });
  try {
    assert.equal((await stat(join(out, 'keep'))).size, 200);
    assert.deepEqual([...(await store.checkPieces()).indexes()], [0, 1]);
  } finally {
    await store.close();
  }
});

for (const writebackBytes of [undefined, 1])
  test(`the fd cache bounds open files without losing writes (maxOpenFiles 2, 12 files${writebackBytes === undefined ? '' : ', a writeback after every write'})`, async (t) => {
    const out = await tempDir(t);
    const many: FileSpec[] = Array.from({ length: 12 }, (_, i) => ({ path: [`f${i}`], length: 17 + i }));
    const size = many.reduce((n, s) => n + s.length, 0);
    const payload = payloadBytes(size, 12);
    const torrent = makeTorrent('many', many, 32, payload);
    const store = await PieceStore.open(torrent, out, {
      maxOpenFiles: 2,
      ...(writebackBytes === undefined ? {} : { writebackBytes }),
    });
    try {
      // Evictions, writebacks and a flush, all at once.
      await Promise.all([writeAll(store, torrent, payload, 5), store.flush()]);
      await store.flush();
      assert.ok((await store.checkPieces()).isComplete());
    } finally {
      await store.close();
    }
    let offset = 0;
    for (const s of many) {
      assert.deepEqual(
        new Uint8Array(await readFile(join(out, 'many', ...s.path))),
        payload.subarray(offset, offset + s.length),
      );
      offset += s.length;
    }
  });

test('a piece written through the store is verified from its writes, without reading it back', async (t) => {
  const out = await tempDir(t);
  const payload = payloadBytes(256, 21);
  const torrent = makeTorrent('w.bin', [{ path: ['w.bin'], length: 256 }], 64, payload, false);
  for (const hashOnWrite of [true, false]) {
    const store = await PieceStore.open(torrent, join(out, String(hashOnWrite)), { hashOnWrite });
    try {
      await writeAll(store, torrent, payload, 5);
      // The bytes on disk change behind the store's back: only a read back can notice.
      await writeFile(join(out, String(hashOnWrite), 'w.bin'), new Uint8Array(256));
      const verified = [];
      for (let i = 0; i < torrent.pieceCount; i++) verified.push(await store.verifyPiece(i));
      assert.deepEqual(verified, Array(4).fill(hashOnWrite), `hashOnWrite ${hashOnWrite}`);
      if (hashOnWrite) assert.deepEqual(store.digestStats?.abandoned, 0);
      // Verified once: a second verify of the same piece reads it back (the digest was taken).
      assert.equal(await store.verifyPiece(0), false);
    } finally {
      await store.close();
    }
  }
});

test('a block that came ahead of its turn goes back to releaseBlock only once written and hashed', async (t) => {
  const released: Uint8Array[] = [];
  const opts = { releaseBlock: (b: Uint8Array) => released.push(b), pooledBlock: () => true };
  await withOnePieceStore(t, 'h.bin', 8, opts, async (store, payload) => {
    const blocks = [0, 1, 2, 3].map((k) => Uint8Array.from(payload.subarray(k * BLOCK, (k + 1) * BLOCK)));
    await store.writeBlock(0, 3 * BLOCK, blocks[3]!);
    await store.writeBlock(0, BLOCK, blocks[1]!);
    assert.equal(released.length, 0, 'written, but held to be hashed after block 0');
    await store.writeBlock(0, 0, blocks[0]!);
    assert.ok(released.includes(blocks[0]!) && released.includes(blocks[1]!), 'hashed and written');
    assert.ok(!released.includes(blocks[3]!), 'still waits for block 2');
    await store.writeBlock(0, 2 * BLOCK, blocks[2]!);
    assert.equal(released.length, 4);
    assert.equal(new Set(released).size, 4, 'each exactly once');
    assert.equal(await store.verifyPiece(0), true);
    assert.equal(store.digestStats?.held, 2);
  });
});

// A frozen clock: no write counts as slow (write-mode.ts), whatever else the machine is doing.
const frozen = { now: () => 0 };

test('runs are written on this thread, except while the files are being synced (flush)', async (t) => {
  await withOnePieceStore(t, 's.bin', 4, frozen, async (store, payload) => {
    await store.writeBlock(0, 0, payload.subarray(0, BLOCK));
    assert.deepEqual(store.writeStats, { sync: 1, pool: 0, slow: 0 });
    const flushing = store.flush();
    const write = store.writeBlock(0, BLOCK, payload.subarray(BLOCK, 2 * BLOCK));
    store.flushPiece(0); // the run is written now, while the sync runs
    await Promise.all([flushing, write]);
    assert.equal(store.writeStats.pool, 1, 'written on the pool during the sync');
    await store.writeBlock(0, 2 * BLOCK, payload.subarray(2 * BLOCK, 3 * BLOCK));
    assert.equal(store.writeStats.sync, 2, 'and on this thread again after it');
  });
});

test('writeback: past writebackBytes a file is synced in the background, and runs stay on this thread meanwhile', async (t) => {
  await withOnePieceStore(t, 'w.bin', 5, { ...frozen, writebackBytes: 2 * BLOCK }, async (store, payload) => {
    await store.writeBlock(0, 0, payload.subarray(0, BLOCK));
    await store.writeBlock(0, BLOCK, payload.subarray(BLOCK, 2 * BLOCK)); // 2 blocks: writeback starts
    assert.deepEqual(store.writeStats, { sync: 2, pool: 0, slow: 0 });
    const write = store.writeBlock(0, 2 * BLOCK, payload.subarray(2 * BLOCK, 3 * BLOCK));
    store.flushPiece(0); // written now, while the writeback runs
    await write;
    assert.deepEqual(store.writeStats, { sync: 3, pool: 0, slow: 0 }, 'written here during the writeback');
    await store.writeBlock(0, 3 * BLOCK, payload.subarray(3 * BLOCK));
    assert.equal(await store.verifyPiece(0), true);
  });
});

test('a held block that is not a pool slab is copied: it goes back as soon as it is written', async (t) => {
  const released: Uint8Array[] = [];
  await withOnePieceStore(
    t,
    'c.bin',
    9,
    { releaseBlock: (b) => released.push(b) },
    async (store, payload) => {
      const late = Uint8Array.from(payload.subarray(3 * BLOCK));
      await store.writeBlock(0, 3 * BLOCK, late);
      assert.deepEqual(released, [late], 'not pinned: the digests hold a copy');
      late.fill(0); // the caller reuses its buffer
      for (let k = 0; k < 3; k++)
        await store.writeBlock(0, k * BLOCK, Uint8Array.from(payload.subarray(k * BLOCK, (k + 1) * BLOCK)));
      assert.equal(store.digestStats?.held, 1);
      assert.equal(await store.verifyPiece(0), true, 'hashed from the copy, not the reused buffer');
    },
  );
});

test('after a failed write, written pieces are read back to be verified', async (t) => {
  const out = await tempDir(t);
  const payload = payloadBytes(192, 6);
  const specs = [
    { path: ['a'], length: 64 },
    { path: ['b'], length: 64 },
    { path: ['c'], length: 64 },
  ];
  const torrent = makeTorrent('f', specs, 64, payload);
  // One open file at a time: each file is opened again by path when it is next written.
  const store = await PieceStore.open(torrent, out, { maxOpenFiles: 1 });
  try {
    for (let k = 0; k < 4; k++)
      await store.writeBlock(0, k * BLOCK, payload.subarray(k * BLOCK, (k + 1) * BLOCK));
    await store.writeBlock(1, 0, payload.subarray(64, 64 + BLOCK)); // evicts a
    await writeFile(join(out, 'f', 'a'), new Uint8Array(64)); // a changes behind the store's back
    // A folder appears where c is to be created: its first write fails.
    await mkdir(join(out, 'f', 'c'));
    await assert.rejects(store.writeBlock(2, 0, payload.subarray(128, 128 + BLOCK)));
    assert.equal(await store.verifyPiece(0), false, 'read back: the zeros on disk, not the hashed bytes');
  } finally {
    await store.close().catch(() => {});
  }
});

test('checking no pieces (a fresh download’s open) starts no hash worker; checking some does', async (t) => {
  const dir = await tempDir(t);
  const payload = payloadBytes(4 * 1024, 3);
  const torrent = makeTorrent('w.bin', [{ path: ['w.bin'], length: payload.length }], 1024, payload, false);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 2 });
  t.after(() => store.close());
  const none = await store.checkPieces(undefined, []);
  assert.equal(none.count, 0);
  // A worker costs ~12 MiB of RSS and its start-up: a 1 GiB download peaked at 92 MiB, not 80.
  assert.equal(store.hashWorkersStarted, false);
  await store.checkPieces(undefined, [0]);
  assert.equal(store.hashWorkersStarted, true);
});

test('a check that finds every piece lets the hash workers go; a later read-back starts them again', async (t) => {
  const dir = await tempDir(t);
  const payload = payloadBytes(4 * 1024, 3);
  const torrent = makeTorrent('w.bin', [{ path: ['w.bin'], length: payload.length }], 1024, payload, false);
  await writeFile(join(dir, 'w.bin'), payload);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 2 });
  t.after(() => store.close());
  await store.hashWorkersReady(); // the check runs on the workers, not on this thread
  assert.equal((await store.checkPieces()).count, 4);
  // A seed holds no thread for hashing it will not do (16 torrents seeded at once held 30 more).
  assert.equal(store.hashWorkersStarted, false);
  assert.equal((await store.checkPieces(undefined, [2])).count, 1, 'rechecked on a new pool');
  assert.equal(store.hashWorkersStarted, true, 'one piece of four: the pool stays');
});

test('v2: a piece ending in implicit padding is verified from its writes (the padding is not hashed), and read back too', async (t) => {
  const out = await tempDir(t);
  // Piece length 32 KiB: `a` is one piece and its padding, `b` two pieces, the last one padded.
  const data = new Map([
    ['a', payloadBytes(20_000, 3)],
    ['b', payloadBytes(40_000, 4)],
  ]);
  const torrent = parseTorrent(
    v2Torrent(
      [...data].map(([name, bytes]) => ({ path: [name], data: bytes })),
      { pieceLength: 32 * 1024 },
    ),
  );
  assert.equal(torrent.version, 'v2');
  assert.deepEqual(
    torrent.files.map((f) => [f.path.join('/'), f.padding]),
    [
      ['a', false],
      ['.pad/12768', true],
      ['b', false],
      ['.pad/25536', true],
    ],
  );
  // The payload as peers send it: padding as zeros — but what a peer sends there is never hashed.
  const payload = Buffer.concat(
    torrent.files.map((f) => (f.padding ? Buffer.alloc(f.length, 0xee) : data.get(f.path[0]!)!)),
  );
  for (const hashWorkers of [0, 1]) {
    const dir = join(out, String(hashWorkers));
    const store = await PieceStore.open(torrent, dir, { hashWorkers });
    try {
      for (let i = 0; i < torrent.pieceCount; i++)
        for (let begin = 0; begin < torrent.pieceLength; begin += 16 * 1024)
          await store.writeBlock(
            i,
            begin,
            payload.subarray(i * torrent.pieceLength + begin, i * torrent.pieceLength + begin + 16 * 1024),
          );
      const fromWrites = [];
      for (let i = 0; i < torrent.pieceCount; i++) fromWrites.push(await store.verifyPiece(i));
      assert.deepEqual(fromWrites, [true, true, true], 'from the writes');
      assert.equal(store.digestStats?.abandoned, 0, 'no piece was read back');
      // Read back: a second verify of each piece reads it (the digest was taken).
      const readBack = [];
      for (let i = 0; i < torrent.pieceCount; i++) readBack.push(await store.verifyPiece(i));
      assert.deepEqual(readBack, [true, true, true], 'read back');
      // One byte of `b`'s last piece changed on disk: that piece fails, read back, the others pass.
      const b = await readFile(join(dir, 'v2', 'b'));
      b[39_999] = b[39_999]! ^ 1;
      await writeFile(join(dir, 'v2', 'b'), b);
      assert.deepEqual([...(await store.checkPieces()).indexes()], [0, 1]);
    } finally {
      await store.close();
    }
  }
});

test('a piece ending in padding is whole once its data is written: the padding is never received (v1 hashes it as zeros, v2 not at all)', async (t) => {
  const out = await tempDir(t);
  const P = 32 * 1024;
  const data = new Map([
    ['a', payloadBytes(20_000, 5)],
    ['b', payloadBytes(40_000, 6)],
  ]);
  const v1Specs: FileSpec[] = [
    { path: ['a'], length: 20_000 },
    { path: ['.pad', '12768'], length: 12_768, padding: true },
    { path: ['b'], length: 40_000 },
    { path: ['.pad', '25536'], length: 25_536, padding: true },
  ];
  const v1 = makeTorrent(
    'v1',
    v1Specs,
    P,
    zeroPadding(
      Buffer.concat([data.get('a')!, Buffer.alloc(12_768), data.get('b')!, Buffer.alloc(25_536)]),
      v1Specs,
    ),
  );
  const v2 = parseTorrent(
    v2Torrent(
      [...data].map(([name, bytes]) => ({ path: [name], data: bytes })),
      { pieceLength: P },
    ),
  );
  for (const torrent of [v1, v2]) {
    assert.deepEqual(
      [...pieceDataLengths(torrent)],
      [
        [0, 20_000],
        [2, 40_000 - P],
      ],
      torrent.version,
    );
    const store = await PieceStore.open(torrent, join(out, torrent.version), { hashWorkers: 0 });
    try {
      for (let i = 0; i < torrent.pieceCount; i++) {
        const file = i === 0 ? data.get('a')! : data.get('b')!;
        const start = i === 0 ? 0 : (i - 1) * P;
        const end = Math.min(start + P, file.length);
        for (let at = start; at < end; at += 16 * 1024)
          await store.writeBlock(i, at - start, file.subarray(at, Math.min(at + 16 * 1024, end)));
      }
      const verified = [];
      for (let i = 0; i < torrent.pieceCount; i++) verified.push(await store.verifyPiece(i));
      assert.deepEqual(verified, [true, true, true], `${torrent.version}: from the writes`);
      assert.deepEqual(
        [store.digestStats?.abandoned, store.digestStats?.unfinished],
        [0, 0],
        `${torrent.version}: nothing read back`,
      );
    } finally {
      await store.close();
    }
  }
});
