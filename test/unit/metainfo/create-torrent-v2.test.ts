/**
 * `createTorrent({ format: 'v2' | 'hybrid' })`: the BEP 52 layout as libtorrent 2.0 writes it —
 * the keys of each format, the `file tree` in the order of the v1 `files`, BEP 47 padding after
 * every non-empty file off a piece boundary (the last one too), `pieces root` and `piece layers`
 * against the BEP's slow definition, the hybrid's SHA-1 `pieces` over the padded payload, the
 * info-hashes returned, and our parse reading the hybrid back. test/interop/create-v2.test.ts has
 * libtorrent load and check the same kinds of torrent.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BencodeDict, type BencodeValue, bdecode, latin1 } from '../../../src/metainfo/bdecode.js';
import { createTorrent, makeTorrent } from '../../../src/metainfo/create-torrent.js';
import { MAX_CREATED_TORRENT_BYTES, MAX_FILES, MAX_V2_PATHS_BYTES } from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { referencePieceLayer, referencePiecesRoot } from '../../helpers/bep52-reference.js';

const P = 16384;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (b: BencodeValue | undefined) => Buffer.from(b as Uint8Array).toString('utf8');

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-create-v2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function dict(v: BencodeValue | undefined): BencodeDict {
  assert.ok(v instanceof BencodeDict, 'a dictionary');
  return v;
}

/** The files of a `file tree` in its key order: path (joined by /), length, pieces root (hex). */
function walkTree(tree: BencodeDict, prefix: string[] = []): [string, bigint, string | undefined][] {
  const out: [string, bigint, string | undefined][] = [];
  for (const [key, value] of tree.entries) {
    const name = Buffer.from(key, 'latin1').toString('utf8');
    const node = dict(value);
    const file = node.get('');
    if (file !== undefined) {
      const f = dict(file);
      assert.deepEqual(
        [...f.entries.keys()].sort(),
        f.has('pieces root') ? ['length', 'pieces root'] : ['length'],
      );
      const root = f.get('pieces root') as Uint8Array | undefined;
      out.push([[...prefix, name].join('/'), f.get('length') as bigint, root && hex(root)]);
    } else out.push(...walkTree(node, [...prefix, name]));
  }
  return out;
}

/** A folder with files shorter than, equal to and longer than a piece, an empty one, a nested one. */
async function makeFolder(dir: string): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>([
    ['a.short', randomBytes(10)],
    ['b.exact', randomBytes(P)],
    ['c.long', randomBytes(2 * P + 5)],
    ['d.empty', Buffer.alloc(0)],
    ['sub/e.tail', randomBytes(3)],
  ]);
  await mkdir(join(dir, 'payload', 'sub'), { recursive: true });
  for (const [path, data] of contents) await writeFile(join(dir, 'payload', path), data);
  return contents;
}

test('hybrid (folder): v1 and v2 keys, files in tree order, padding as libtorrent places it, hashes right', async (t) => {
  const dir = await tempDir(t);
  const contents = await makeFolder(dir);
  const progress: [number, number][] = [];
  const made = await makeTorrent(join(dir, 'payload'), {
    format: 'hybrid',
    pieceLength: P,
    creationDate: 1,
    onProgress: (done, total) => progress.push([done, total]),
  });
  // Progress counts the files' bytes, padding not: what the terminal's bar shows.
  const dataBytes = 10 + P + 2 * P + 5 + 3;
  assert.deepEqual(progress.at(-1), [dataBytes, dataBytes]);
  assert.ok(progress.every(([done, total], i) => total === dataBytes && done >= (progress[i - 1]?.[0] ?? 0)));
  const root = dict(bdecode(made.bytes));
  assert.deepEqual([...root.entries.keys()], ['created by', 'creation date', 'info', 'piece layers']);
  const info = dict(root.get('info'));
  assert.deepEqual(
    [...info.entries.keys()],
    ['file tree', 'files', 'meta version', 'name', 'piece length', 'pieces'],
  );
  assert.equal(info.get('meta version'), 2n);

  // v1 `files`: every non-empty file off a piece boundary is followed by padding, the last one too;
  // the empty file gets none.
  const files = (info.get('files') as BencodeValue[]).map((f) => {
    const e = dict(f);
    const path = (e.get('path') as Uint8Array[]).map((c) => text(c)).join('/');
    return e.has('attr') ? `${path} ${text(e.get('attr'))} ${e.get('length')}` : `${path} ${e.get('length')}`;
  });
  assert.deepEqual(files, [
    'a.short 10',
    `.pad/${P - 10} p ${P - 10}`,
    `b.exact ${P}`,
    `c.long ${2 * P + 5}`,
    `.pad/${P - 5} p ${P - 5}`,
    'd.empty 0',
    'sub/e.tail 3',
    `.pad/${P - 3} p ${P - 3}`,
  ]);

  // v2 `file tree`: the same files in the same order (its keys' order), each non-empty one with the
  // BEP's pieces root, the empty one without.
  const tree = walkTree(dict(info.get('file tree')));
  assert.deepEqual(
    tree,
    [...contents].map(([path, data]) => [
      path,
      BigInt(data.length),
      data.length === 0 ? undefined : hex(referencePiecesRoot(data)),
    ]),
  );

  // `piece layers`: only the file longer than a piece, keyed by its root.
  const layers = dict(root.get('piece layers'));
  const long = contents.get('c.long')!;
  assert.deepEqual(
    [...layers.entries].map(([k, v]) => [hex(Buffer.from(k, 'latin1')), hex(v as Uint8Array)]),
    [[hex(referencePiecesRoot(long)), hex(referencePieceLayer(long, P))]],
  );

  // v1 `pieces`: SHA-1 over the payload with its padding as zeros; piece i of v1 is piece i of v2.
  const padded = Buffer.concat(
    [...contents.values()].flatMap((d) => [d, Buffer.alloc(d.length % P === 0 ? 0 : P - (d.length % P))]),
  );
  assert.equal(padded.length, 6 * P);
  const pieces: Buffer[] = [];
  for (let at = 0; at < padded.length; at += P)
    pieces.push(
      createHash('sha1')
        .update(padded.subarray(at, at + P))
        .digest(),
    );
  assert.equal(hex(info.get('pieces') as Uint8Array), hex(Buffer.concat(pieces)));

  // What makeTorrent reports, and our parse reading the hybrid back (through its v1 keys).
  const infoBytes = made.bytes.subarray(info.start, info.end);
  assert.equal(hex(made.infoHashV1!), createHash('sha1').update(infoBytes).digest('hex'));
  assert.equal(hex(made.infoHashV2!), createHash('sha256').update(infoBytes).digest('hex'));
  assert.deepEqual(
    [made.format, made.fileCount, made.totalLength, made.pieceLength, made.pieceCount],
    ['hybrid', 5, dataBytes, P, 6],
  );
  const parsed = parseTorrent(made.bytes);
  assert.equal(parsed.version, 'hybrid');
  assert.equal(parsed.infoHashHex, hex(made.infoHashV1!));
  assert.equal(hex(parsed.infoHashV2!), hex(made.infoHashV2!));
  assert.equal(parsed.pieceCount, 6);
  assert.deepEqual(
    parsed.files.filter((f) => !f.padding).map((f) => [f.path.join('/'), f.offset]),
    [
      ['a.short', 0],
      ['b.exact', P],
      ['c.long', 2 * P],
      ['d.empty', 5 * P],
      ['sub/e.tail', 5 * P],
    ],
  );
});

test('v2 (folder): v2 keys only, the same tree and layers as the hybrid; empty piece layers written as {}', async (t) => {
  const dir = await tempDir(t);
  const contents = await makeFolder(dir);
  const made = await makeTorrent(join(dir, 'payload'), { format: 'v2', pieceLength: P, private: true });
  const root = dict(bdecode(made.bytes));
  const info = dict(root.get('info'));
  assert.deepEqual(
    [...info.entries.keys()],
    ['file tree', 'meta version', 'name', 'piece length', 'private'],
  );
  assert.deepEqual(
    walkTree(dict(info.get('file tree'))).map(([p, l]) => [p, l]),
    [...contents].map(([p, d]) => [p, BigInt(d.length)]),
  );
  assert.equal(dict(root.get('piece layers')).size, 1);
  assert.equal(made.infoHashV1, undefined);
  const infoBytes = made.bytes.subarray(info.start, info.end);
  assert.equal(hex(made.infoHashV2!), createHash('sha256').update(infoBytes).digest('hex'));
  assert.equal(made.pieceCount, 6, 'each non-empty file starts a piece');

  // No file longer than a piece: `piece layers` is an empty dictionary, as libtorrent writes it.
  await writeFile(join(dir, 'small'), randomBytes(100));
  const small = dict(bdecode(await createTorrent(join(dir, 'small'), { format: 'v2' })));
  assert.equal(dict(small.get('piece layers')).size, 0);
});

test('single file: hybrid has `length` and a one-entry tree named like the torrent; no padding', async (t) => {
  const dir = await tempDir(t);
  for (const [name, size] of [
    ['short.bin', 100],
    ['exact.bin', 2 * P],
    ['long.bin', 2 * P + 1],
  ] as const) {
    const data = randomBytes(size);
    await writeFile(join(dir, name), data);
    for (const format of ['hybrid', 'v2'] as const) {
      const made = await makeTorrent(join(dir, name), { format, pieceLength: 2 * P });
      const root = dict(bdecode(made.bytes));
      const info = dict(root.get('info'));
      assert.deepEqual(
        [...info.entries.keys()],
        format === 'hybrid'
          ? ['file tree', 'length', 'meta version', 'name', 'piece length', 'pieces']
          : ['file tree', 'meta version', 'name', 'piece length'],
      );
      assert.deepEqual(walkTree(dict(info.get('file tree'))), [
        [name, BigInt(size), hex(referencePiecesRoot(data))],
      ]);
      assert.equal(made.pieceCount, Math.ceil(size / (2 * P)));
      const layers = dict(root.get('piece layers'));
      assert.equal(layers.size, size > 2 * P ? 1 : 0, `${name}: a layer only past one piece`);
      if (format === 'hybrid') {
        assert.equal(info.get('length'), BigInt(size));
        assert.equal(parseTorrent(made.bytes).infoHashHex, hex(made.infoHashV1!));
        assert.equal((info.get('pieces') as Uint8Array).length, made.pieceCount * 20, 'no padding hashed');
      }
    }
  }
});

test('files of the same content share one `piece layers` entry; the size check allows for it', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(3 * P);
  await mkdir(join(dir, 'twins'));
  await writeFile(join(dir, 'twins', 'one'), data);
  await writeFile(join(dir, 'twins', 'two'), data);
  const root = dict(bdecode(await createTorrent(join(dir, 'twins'), { format: 'hybrid', pieceLength: P })));
  const layers = dict(root.get('piece layers'));
  assert.deepEqual(
    [...layers.entries.keys()].map((k) => hex(Buffer.from(k, 'latin1'))),
    [hex(referencePiecesRoot(data))],
  );
  assert.equal((layers.get(latin1(referencePiecesRoot(data))) as Uint8Array).length, 3 * 32);
});

test('v2 and hybrid: a piece length that is not a power of two ≥ 16 KiB, or an unknown format, is refused', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'one'), 'x');
  for (const format of ['v2', 'hybrid'] as const)
    for (const pieceLength of [8192, 3 * P, 0])
      await assert.rejects(
        createTorrent(join(dir, 'one'), { format, pieceLength }),
        (err: unknown) => err instanceof MetainfoError && err.code === 'invalid-value' && err.badInput,
      );
  await assert.rejects(
    createTorrent(join(dir, 'one'), { format: 'v3' as 'v2' }),
    (err: unknown) => err instanceof MetainfoError && err.field === 'format' && err.badInput,
  );
});

test('v2: a torrent over MAX_CREATED_TORRENT_BYTES is refused before hashing (piece layers counted)', async (t) => {
  const dir = await tempDir(t);
  // 5 GiB sparse at 16 KiB: 327,680 pieces, 10.5 MB of piece layers (as v1, 6.6 MB of `pieces`
  // would fit).
  const handle = await open(join(dir, 'sparse.bin'), 'w');
  await handle.truncate(5 * 2 ** 30);
  await handle.close();
  let hashed = 0;
  await assert.rejects(
    createTorrent(join(dir, 'sparse.bin'), { format: 'v2', pieceLength: P, onProgress: (d) => (hashed = d) }),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError && err.code === 'limit-exceeded', String(err));
      assert.equal(err.limit, MAX_CREATED_TORRENT_BYTES);
      assert.match(err.message, /327680 pieces of 16384 bytes; a piece length of 32768 or more fits/);
      return true;
    },
  );
  assert.equal(hashed, 0, 'nothing was hashed');
});

test('v2: files that, with the padding aligning them, are more than MAX_FILES are refused before hashing, as hybrid', async (t) => {
  // MAX_FILES / 2 + 1 one-byte files, each followed by its padding: implicit in a v2-only torrent,
  // and counted by parseTorrent all the same (it was hashed whole, then could not be loaded). A
  // tmpfs when there is one: 131,073 files take seconds to write to a disk. (A hybrid, which lists
  // its padding, was refused already; its check is the same.)
  const shm = await stat('/dev/shm').then(
    (s) => s.isDirectory(),
    () => false,
  );
  const dir = await mkdtemp(join(shm ? '/dev/shm' : tmpdir(), 'bitstate-create-v2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const folder = join(dir, 'many');
  await mkdir(folder);
  const count = MAX_FILES / 2 + 1;
  for (let i = 0; i < count; i += 256)
    await Promise.all(
      Array.from({ length: Math.min(256, count - i) }, (_, k) =>
        writeFile(join(folder, (i + k).toString(36)), 'x'),
      ),
    );
  let hashed = 0;
  await assert.rejects(
    createTorrent(folder, { format: 'v2', pieceLength: P, onProgress: (d) => (hashed = d) }),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError && err.code === 'bad-source', String(err));
      assert.match(
        err.message,
        new RegExp(`more than ${MAX_FILES} files, the padding that aligns them included`),
      );
      return true;
    },
  );
  assert.equal(hashed, 0, 'nothing was hashed');
});

test('v2: paths that, spelled out, are more than MAX_V2_PATHS_BYTES are refused before hashing (parseTorrent refuses them)', async (t) => {
  const dir = await tempDir(t);
  // A folder 15 deep of 255-byte names: 3,845 bytes a path, the tree naming the folder once.
  const chain = Array.from({ length: 15 }, (_, i) => String(i).padStart(255, 'x'));
  const deep = join(dir, 'deep', ...chain);
  await mkdir(deep, { recursive: true });
  const perFile = Buffer.byteLength([...chain, 'xxxxx'].join('/'));
  const count = Math.floor(MAX_V2_PATHS_BYTES / perFile) + 1;
  for (let i = 0; i < count; i += 256)
    await Promise.all(
      Array.from({ length: Math.min(256, count - i) }, (_, k) =>
        writeFile(join(deep, (i + k).toString(36).padStart(5, '0')), 'x'),
      ),
    );
  let hashed = 0;
  await assert.rejects(
    createTorrent(join(dir, 'deep'), { format: 'v2', pieceLength: P, onProgress: (d) => (hashed = d) }),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError && err.code === 'limit-exceeded', String(err));
      assert.equal(err.limit, MAX_V2_PATHS_BYTES);
      return true;
    },
  );
  assert.equal(hashed, 0, 'nothing was hashed');
});
