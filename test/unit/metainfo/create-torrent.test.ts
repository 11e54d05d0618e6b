import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BencodeDict, bdecode } from '../../../src/metainfo/bdecode.js';
import {
  CHUNK_BYTES,
  CREATED_BY,
  createTorrent,
  defaultPieceLength,
  MAX_DEFAULT_PIECE_LENGTH,
  MIN_CREATE_PIECE_LENGTH,
  TARGET_MAX_PIECES,
} from '../../../src/metainfo/create-torrent.js';
import { MAX_CREATED_TORRENT_BYTES } from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-create-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function expectedPieces(payload: Buffer, pieceLength: number): string {
  const out: Buffer[] = [];
  for (let at = 0; at < payload.length; at += pieceLength)
    out.push(
      createHash('sha1')
        .update(payload.subarray(at, at + pieceLength))
        .digest(),
    );
  return Buffer.concat(out).toString('hex');
}

test('default piece length: the smallest power of two in 16 KiB..16 MiB keeping ≤ 2000 pieces', () => {
  for (let total = 1; total < 2 ** 46; total = Math.ceil(total * 1.37) + 1) {
    const p = defaultPieceLength(total);
    assert.ok(p >= MIN_CREATE_PIECE_LENGTH && p <= MAX_DEFAULT_PIECE_LENGTH, `${total}: ${p}`);
    assert.equal(p & (p - 1), 0, `${p} is a power of two`);
    if (p < MAX_DEFAULT_PIECE_LENGTH) assert.ok(Math.ceil(total / p) <= TARGET_MAX_PIECES, `${total}: ${p}`);
    if (p > MIN_CREATE_PIECE_LENGTH)
      assert.ok(Math.ceil(total / (p / 2)) > TARGET_MAX_PIECES, `${total}: ${p}`);
  }
});

test('single file: hashed streaming across chunks, pieces match, keys sorted, fields written', async (t) => {
  const dir = await tempDir(t);
  const payload = randomBytes(CHUNK_BYTES * 2 + 12345);
  await writeFile(join(dir, 'big.bin'), payload);
  const progress: number[] = [];
  const bytes = await createTorrent(join(dir, 'big.bin'), {
    announce: 'http://127.0.0.1:6969/announce',
    pieceLength: 32768,
    private: true,
    comment: 'c',
    creationDate: 1700000000,
    onProgress: (done, total) => {
      assert.equal(total, payload.length);
      progress.push(done);
    },
  });
  assert.ok(progress.length >= 3, 'read in several chunks');
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  );
  assert.equal(progress.at(-1), payload.length);
  const torrent = parseTorrent(bytes);
  assert.equal(torrent.name, 'big.bin');
  assert.equal(torrent.multiFile, false);
  assert.deepEqual(torrent.files, [{ path: ['big.bin'], length: payload.length, offset: 0, padding: false }]);
  assert.equal(Buffer.from(torrent.pieces).toString('hex'), expectedPieces(payload, 32768));
  assert.equal(torrent.private, true);
  assert.equal(torrent.comment, 'c');
  assert.equal(torrent.createdBy, CREATED_BY);
  assert.equal(torrent.creationDate, 1700000000);
  assert.deepEqual(torrent.announceList, [['http://127.0.0.1:6969/announce']]);
  const root = bdecode(bytes);
  assert.ok(root instanceof BencodeDict);
  assert.equal(root.get('announce-list'), undefined, 'no announce-list for a single tracker');
  const keys = [...root.entries.keys()];
  assert.deepEqual(keys, [...keys].sort());
  const info = root.get('info');
  assert.ok(info instanceof BencodeDict);
  assert.deepEqual([...info.entries.keys()], ['length', 'name', 'piece length', 'pieces', 'private']);
});

test('folder: files in byte order of path components, pieces across file edges, symlinks skipped', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'payload');
  await mkdir(join(root, 'a'), { recursive: true });
  await mkdir(join(root, 'empty'));
  const contents: Record<string, Buffer> = {
    b: randomBytes(20000),
    'a.txt': randomBytes(1),
    'a/z': randomBytes(40000),
    B: randomBytes(7),
    é: randomBytes(16384),
    'a/Y': randomBytes(3),
  };
  for (const [path, data] of Object.entries(contents)) await writeFile(join(root, path), data);
  await symlink(join(root, 'b'), join(root, 'link'));
  const skipped: string[] = [];
  const options = {
    announceList: [['http://t1/'], ['http://t2/', 'http://t3/']],
    pieceLength: 16384,
    creationDate: 1,
    onSkip: (path: string, reason: string) => skipped.push(`${reason} ${path}`),
  };
  const bytes = await createTorrent(root, options);
  const torrent = parseTorrent(bytes);
  const order = ['B', 'a/Y', 'a/z', 'a.txt', 'b', 'é'];
  assert.deepEqual(
    torrent.files.map((f) => [(f.renamedFrom ?? f.path).join('/'), f.length]),
    order.map((p) => [p, contents[p]!.length]),
  );
  // `b` and `B` are two files here (ext4), one on a case-insensitive file system: a download
  // writes the later one as `b.1` (src/metainfo/case-collisions.ts).
  assert.deepEqual(torrent.files[4]!.path, ['b.1']);
  assert.deepEqual(skipped, ['symlink link']);
  assert.equal(torrent.name, 'payload');
  assert.equal(torrent.announce, 'http://t1/');
  assert.deepEqual(torrent.announceList, options.announceList);
  const payload = Buffer.concat(order.map((p) => contents[p]!));
  assert.equal(Buffer.from(torrent.pieces).toString('hex'), expectedPieces(payload, 16384));
  // Deterministic: the same folder and options give the same bytes.
  assert.deepEqual(await createTorrent(root, options), bytes);
});

test('nothing to hash, a bad piece length, a missing path: typed errors', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'empty', 'sub'), { recursive: true });
  await writeFile(join(dir, 'zero'), '');
  await writeFile(join(dir, 'one'), 'x');
  const isCode = (code: string, field?: string) => (err: unknown) =>
    err instanceof MetainfoError && err.code === code && err.field === field && err.badInput;
  await assert.rejects(createTorrent(join(dir, 'empty')), isCode('bad-source'));
  await assert.rejects(createTorrent(join(dir, 'zero')), isCode('bad-source'));
  for (const pieceLength of [0, 1000, 8192, 3 * 16384, 2 ** 40])
    await assert.rejects(
      createTorrent(join(dir, 'one'), { pieceLength }),
      isCode('invalid-value', 'pieceLength'),
    );
  // A missing path: typed, one line, naming the path as given.
  await assert.rejects(createTorrent(join(dir, 'missing')), (err: unknown) => {
    assert.ok(isCode('bad-source')(err), String(err));
    assert.equal(
      (err as Error).message,
      `cannot read ${join(dir, 'missing')}: no such file or directory (ENOENT)`,
    );
    return true;
  });
});

test('a file name that is not valid UTF-8 is refused, naming it with its bytes escaped', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'payload'));
  await writeFile(join(dir, 'payload', 'ok.txt'), 'y');
  const bad = Buffer.concat([Buffer.from(join(dir, 'payload', 'n')), Buffer.from([0xff, 0xfe])]);
  await writeFile(bad, 'x');
  await assert.rejects(createTorrent(join(dir, 'payload')), (err: unknown) => {
    assert.ok(err instanceof MetainfoError && err.code === 'bad-source', String(err));
    assert.equal(
      err.message,
      `${join(dir, 'payload')}/n\\xff\\xfe: the name is not valid UTF-8 (BEP 3 paths are UTF-8: rename it)`,
    );
    return true;
  });
});

test('a torrent over MAX_CREATED_TORRENT_BYTES is refused before hashing, with a piece length that fits', async (t) => {
  const dir = await tempDir(t);
  // 9 GiB sparse at 16 KiB: 589,824 hashes, 11.8 MB of torrent (the input review's create_big.sh).
  const handle = await open(join(dir, 'sparse.bin'), 'w');
  await handle.truncate(9 * 2 ** 30);
  await handle.close();
  let hashed = 0;
  await assert.rejects(
    createTorrent(join(dir, 'sparse.bin'), { pieceLength: 16384, onProgress: (done) => (hashed = done) }),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError && err.code === 'limit-exceeded', String(err));
      assert.equal(err.limit, MAX_CREATED_TORRENT_BYTES);
      assert.ok(err.actual! > 589_824 * 20, `${err.actual}`);
      assert.match(err.message, /589824 pieces of 16384 bytes; a piece length of 32768 or more fits/);
      return true;
    },
  );
  assert.equal(hashed, 0, 'nothing was hashed');
});

test('the size checked before hashing is the size written (createTorrent asserts it)', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'p', 'sub'), { recursive: true });
  for (const [name, size] of [
    ['a', 100_000],
    ['sub/b', 5],
    ['sub/é', 40_000],
  ] as const)
    await writeFile(join(dir, 'p', name), randomBytes(size));
  for (const pieceLength of [16384, 65536, 1 << 20]) {
    const options = {
      pieceLength,
      announceList: [['http://t/'], ['udp://u:1']],
      comment: 'c',
      private: true,
    };
    assert.ok(parseTorrent(await createTorrent(join(dir, 'p'), options)).pieceCount >= 1);
    assert.ok(parseTorrent(await createTorrent(join(dir, 'p', 'a'), options)).pieceCount >= 1);
  }
});
