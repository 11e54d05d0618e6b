/**
 * BEP 52 hash requests for the block layer (base layer 0: the 16 KiB leaves, which libtorrent asks
 * for after a piece fails its check, to find the bad block) answered by a real bitstate seeder on
 * 127.0.0.1: the piece is read back from disk and hashed (src/storage/block-layer-hashes.ts), the
 * run and its proof sent as `hashes`. A raw client asks, as libtorrent's hash_picker does, for one
 * piece's blocks, and for runs inside a piece and over two pieces with their whole proofs; each
 * answer's leaves are the blocks' SHA-256 and fold, with its uncles, to the file's `pieces root`
 * computed the slow way (test/helpers/bep52-reference.ts). A run over more pieces than
 * MAX_BLOCK_HASH_PIECES, a layer between the blocks and the pieces, or a piece changed on disk
 * since (it no longer hashes to its piece-layer hash) gets a hash reject. Both a v2 torrent and a
 * hybrid (whose piece layers are kept). A read whose connection closed (its actor's signal
 * aborted) reads no further piece; however many connections ask at once, a torrent reads at most
 * MAX_TORRENT_BLOCK_HASH_READS runs at a time, the others waiting their turn (not rejected).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createActor, toPromise } from 'xstate';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { MAX_BLOCK_HASH_PIECES, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import {
  blockHashesActor,
  blockLayerHashes,
  MAX_TORRENT_BLOCK_HASH_READS,
} from '../../../src/storage/block-layer-hashes.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import type { HashRange } from '../../../src/wire/messages.js';
import { blockHashes, referencePiecesRoot } from '../../helpers/bep52-reference.js';
import { hashRequestClient as client } from '../../helpers/hash-request-client.js';
import { listeningSeeder, tempDir } from '../../helpers/session.js';

/** 64 KiB pieces: 4 blocks a piece, the piece layer 2 above the leaves. */
const PIECE = 64 * 1024;
const PER_PIECE = 4;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/**
 * Folds an answer to the root: the run's own root from its leaves, then each uncle on the side the
 * run's ancestor is not.
 */
function foldToRoot(range: HashRange, hashes: Uint8Array): Buffer {
  let layer: Buffer[] = [];
  for (let j = 0; j < range.length; j++) layer.push(Buffer.from(hashes.subarray(j * 32, j * 32 + 32)));
  while (layer.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])));
    layer = up;
  }
  let node = layer[0]!;
  let at = range.index / range.length;
  for (let u = range.length * 32; u < hashes.length; u += 32) {
    const uncle = Buffer.from(hashes.subarray(u, u + 32));
    node = sha256(at % 2 === 0 ? Buffer.concat([node, uncle]) : Buffer.concat([uncle, node]));
    at = Math.floor(at / 2);
  }
  return node;
}

/** DIR/data/tree: a.bin of 9 pieces and 100 bytes (leaves 0–36, 64 wide), b.txt short; its torrent. */
async function seeded(t: Parameters<typeof tempDir>[0], format: 'v2' | 'hybrid') {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await mkdir(join(data, 'tree'), { recursive: true });
  const bytes = randomBytes(9 * PIECE + 100);
  await writeFile(join(data, 'tree', 'a.bin'), bytes);
  await writeFile(join(data, 'tree', 'b.txt'), 'short\n');
  const torrent: Torrent = parseTorrent(
    await createTorrent(join(data, 'tree'), { format, pieceLength: PIECE }),
  );
  const port = await listeningSeeder(t, torrent, data);
  // A v2 peer names the v2 swarm: a hybrid's is its SHA-256's first 20 bytes.
  const swarm = format === 'hybrid' ? torrent.infoHashV2!.subarray(0, 20) : torrent.infoHash;
  return {
    bytes,
    file: join(data, 'tree', 'a.bin'),
    root: referencePiecesRoot(bytes),
    ask: (await client(t, port, swarm)).ask,
  };
}

for (const format of ['v2', 'hybrid'] as const)
  test(`a ${format} seeder answers block-layer hash requests with leaves that prove to the file's root`, async (t) => {
    const { bytes, file, root, ask } = await seeded(t, format);
    const leaves = blockHashes(bytes); // 37 leaves; the tree is 64 wide, 6 layers high
    const range = (index: number, length: number, proofLayers: number): HashRange => ({
      piecesRoot: root,
      baseLayer: 0,
      index,
      length,
      proofLayers,
    });
    const cases: [string, HashRange][] = [
      // libtorrent's hash_picker after piece 3 failed: its 4 blocks, proof layers log2(4) + the
      // layers it lacks above the piece (here all of them up to below the root: 3).
      ['piece 3, as libtorrent asks', range(3 * PER_PIECE, PER_PIECE, 2 + 3)],
      ['one block inside piece 5, whole proof', range(5 * PER_PIECE + 2, 1, 5)],
      ['two pieces, 6 and 7', range(6 * PER_PIECE, 2 * PER_PIECE, 5)],
      // The last piece: 1 real leaf (100 bytes), 3 zero leaves.
      ['the last piece', range(9 * PER_PIECE, PER_PIECE, 5)],
    ];
    for (const [what, r] of cases) {
      const answer = await ask(r);
      assert.equal(answer.type, 'hashes', what);
      assert.ok(answer.type === 'hashes');
      const uncles = Math.max(0, r.proofLayers - Math.log2(r.length) + 1);
      assert.equal(answer.hashes.length, 32 * (r.length + uncles), what);
      for (let j = 0; j < r.length; j++) {
        const want = leaves[r.index + j] ?? new Uint8Array(32);
        assert.equal(
          Buffer.from(answer.hashes.subarray(j * 32, j * 32 + 32)).toString('hex'),
          Buffer.from(want).toString('hex'),
          `${what}: leaf ${r.index + j}`,
        );
      }
      assert.equal(
        foldToRoot(r, answer.hashes).toString('hex'),
        root.toString('hex'),
        `${what}: proves to the root`,
      );
    }
    // Rejected: a run over more pieces than MAX_BLOCK_HASH_PIECES, a layer between blocks and pieces.
    const tooLong = range(0, 2 * MAX_BLOCK_HASH_PIECES * PER_PIECE, 5);
    assert.equal((await ask(tooLong)).type, 'hashReject');
    assert.equal((await ask({ ...range(0, 4, 4), baseLayer: 1 })).type, 'hashReject');
    // The disk changed under the seeder: piece 2 no longer hashes to its piece-layer hash, and its
    // blocks' hashes are refused rather than sent false.
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([bytes[2 * PIECE + 5]! ^ 0xff]), 0, 1, 2 * PIECE + 5);
    await handle.close();
    assert.equal((await ask(range(2 * PER_PIECE, PER_PIECE, 5))).type, 'hashReject');
  });

test('pieces larger than one read (2 MiB: read back 1 MiB at a time) are answered the same', async (t) => {
  const big = 2 * 1024 * 1024;
  const perPiece = big / (16 * 1024); // 128 blocks
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await mkdir(join(data, 'big'), { recursive: true });
  const bytes = randomBytes(2 * big + 5);
  await writeFile(join(data, 'big', 'a.bin'), bytes);
  await writeFile(join(data, 'big', 'b.txt'), 'short\n');
  const torrent = parseTorrent(await createTorrent(join(data, 'big'), { format: 'v2', pieceLength: big }));
  const port = await listeningSeeder(t, torrent, data);
  const { ask } = await client(t, port, torrent.infoHash);
  const root = referencePiecesRoot(bytes);
  const leaves = blockHashes(bytes); // 257 leaves: the tree is 512 wide, 9 layers high
  for (const [index, length] of [
    [perPiece, perPiece], // piece 1, whole
    [2 * perPiece, perPiece], // the last piece: one 5-byte leaf, then zeros
    [perPiece + 77, 1], // one block of piece 1
  ] as const) {
    const r: HashRange = { piecesRoot: root, baseLayer: 0, index, length, proofLayers: 8 };
    const answer = await ask(r);
    assert.ok(answer.type === 'hashes', `${index}+${length}`);
    for (let j = 0; j < length; j++)
      assert.equal(
        Buffer.from(answer.hashes.subarray(j * 32, j * 32 + 32)).toString('hex'),
        Buffer.from(leaves[index + j] ?? new Uint8Array(32)).toString('hex'),
      );
    assert.equal(foldToRoot(r, answer.hashes).toString('hex'), root.toString('hex'));
  }
});

/** A v2 torrent of a.bin (9 pieces and 100 bytes) and b.txt on disk, its store open, a.bin's tree. */
async function stored(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await mkdir(join(data, 'tree'), { recursive: true });
  const bytes = randomBytes(9 * PIECE + 100);
  await writeFile(join(data, 'tree', 'a.bin'), bytes);
  await writeFile(join(data, 'tree', 'b.txt'), 'short\n');
  const torrent = parseTorrent(await createTorrent(join(data, 'tree'), { format: 'v2', pieceLength: PIECE }));
  const store = await PieceStore.open(torrent, data, { hashWorkers: 0 });
  t.after(() => store.close());
  const root = referencePiecesRoot(bytes);
  return { store, root, tree: pieceLayerTrees(torrent)!.files.get(rootKey(root))! };
}

test('a read aborted (its connection closed) reads no further piece of the run', async (t) => {
  const { store, root, tree } = await stored(t);
  // The longest run a request may ask: MAX_BLOCK_HASH_PIECES pieces, one read each (64 KiB).
  const range: HashRange = {
    piecesRoot: root,
    baseLayer: 0,
    index: 0,
    length: MAX_BLOCK_HASH_PIECES * PER_PIECE,
    proofLayers: 5,
  };
  const reads: number[] = [];
  const read = (i: number, b: number, l: number, into: Uint8Array) => {
    reads.push(i);
    return store.readBlock(i, b, l, into);
  };
  // Unaborted, every piece of the run is read.
  assert.ok((await blockLayerHashes(read, { range, tree, pieceLength: PIECE })) !== undefined);
  assert.deepEqual(reads, [0, 1, 2, 3]);
  // The connection closes while the first piece is being read: nothing more is read.
  reads.length = 0;
  const closed = new AbortController();
  const readThenClose = (i: number, b: number, l: number, into: Uint8Array) => {
    const bytesRead = read(i, b, l, into);
    closed.abort();
    return bytesRead;
  };
  await assert.rejects(blockLayerHashes(readThenClose, { range, tree, pieceLength: PIECE }, closed.signal), {
    name: 'AbortError',
  });
  assert.deepEqual(reads, [0]);
});

test('a torrent reads at most MAX_TORRENT_BLOCK_HASH_READS runs at once, the others wait their turn', async (t) => {
  const { store, root, tree } = await stored(t);
  let reading = 0;
  let most = 0;
  const reads: number[] = [];
  // The store as the session gives it, counting the reads in flight.
  const counted = {
    readBlock: async (i: number, b: number, l: number, into?: Uint8Array) => {
      reads.push(i);
      most = Math.max(most, ++reading);
      try {
        return await store.readBlock(i, b, l, into);
      } finally {
        reading--;
      }
    },
  };
  const logic = blockHashesActor(counted);
  // As many connections as twice the bound, each asking for one piece's blocks, all at once; and
  // one more that closes while it waits.
  const asks = 2 * MAX_TORRENT_BLOCK_HASH_READS;
  const actors = Array.from({ length: asks }, (_, k) =>
    createActor(logic, {
      input: {
        range: {
          piecesRoot: root,
          baseLayer: 0,
          index: (k % 9) * PER_PIECE,
          length: PER_PIECE,
          proofLayers: 5,
        },
        tree,
        pieceLength: PIECE,
      },
    }).start(),
  );
  const closing = createActor(logic, {
    input: {
      range: { piecesRoot: root, baseLayer: 0, index: 0, length: PER_PIECE, proofLayers: 5 },
      tree,
      pieceLength: PIECE,
    },
  }).start();
  closing.stop();
  const answers = await Promise.all(actors.map((a) => toPromise(a)));
  for (const a of answers) assert.ok(a.hashes !== undefined, 'every one that waited is answered');
  assert.equal(most, MAX_TORRENT_BLOCK_HASH_READS);
  assert.equal(reads.length, asks, 'the one that closed while waiting read nothing');
});
