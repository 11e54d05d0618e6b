/**
 * A hybrid's piece layers hashed from its own files (src/session/computed-piece-layers.ts): each
 * complete file longer than a piece read from disk into its merkle tree and checked against its
 * `pieces root`. Files whose bytes are the torrent's give exactly the layers `bitstate create
 * --format hybrid` writes (and the trees a .torrent with them gives); a byte changed on disk makes
 * the file inconsistent (no layer); a file with a piece not verified, or not selected, is not read;
 * identical files are hashed once; an aborted signal stops the hashing. Layers known by root (fetched)
 * are laid on a file of each root, none under an inconsistent file's root.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { layerTrees, pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import {
  computePieceLayers,
  LAYER_READ_BYTES,
  layersOnFiles,
} from '../../../src/session/computed-piece-layers.js';
import { fileLocations } from '../../../src/storage/layout.js';
import { tempDir } from '../../helpers/session.js';

const PIECE = 32 * 1024;

/** DIR/data/hy: big.bin (over 1 MiB: several reads), mid.bin (3 pieces and a bit), a copy of mid.bin, short.txt. */
async function hybrid(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await mkdir(join(data, 'hy'), { recursive: true });
  const mid = randomBytes(3 * PIECE + 77);
  await writeFile(join(data, 'hy', 'big.bin'), randomBytes(LAYER_READ_BYTES + 5 * PIECE + 1234));
  await writeFile(join(data, 'hy', 'mid.bin'), mid);
  await writeFile(join(data, 'hy', 'mid-copy.bin'), mid);
  await writeFile(join(data, 'hy', 'short.txt'), 'short\n');
  const made = parseTorrent(await createTorrent(join(data, 'hy'), { format: 'hybrid', pieceLength: PIECE }));
  assert.ok(made.version === 'hybrid' && made.pieceLayers !== undefined);
  const paths = fileLocations(made, data).map((l, i) => (made.files[i]!.padding ? null : l.path));
  return { made, data, paths };
}

const fileIndex = (torrent: Torrent, name: string) =>
  torrent.files.findIndex((f) => !f.padding && f.path[f.path.length - 1] === name);

test('the layers hashed from files whose bytes are the torrent’s are those bitstate create writes', async (t) => {
  const { made, paths } = await hybrid(t);
  const r = await computePieceLayers(made, { paths, have: Bitfield.full(made.pieceCount) });
  assert.deepEqual(r.inconsistent, []);
  assert.equal(r.missing, 0);
  // big.bin and mid.bin (its copy has the same root: hashed once); short.txt is one piece.
  assert.deepEqual(
    r.layers.map((l) => l.file),
    [fileIndex(made, 'big.bin'), fileIndex(made, 'mid-copy.bin')].sort((a, b) => a - b),
  );
  for (const l of r.layers) {
    const at = l.firstPiece * 32;
    assert.deepEqual(Buffer.from(l.layer), Buffer.from(made.pieceLayers!.subarray(at, at + l.layer.length)));
  }
  // The trees over them are those of the .torrent that has them: the same roots, the same nodes.
  const fromData = layerTrees(r.layers, made.pieceLength);
  const fromTorrent = pieceLayerTrees(made)!;
  assert.deepEqual([...fromData.files.keys()].sort(), [...fromTorrent.files.keys()].sort());
  for (const [key, tree] of fromTorrent.files)
    assert.deepEqual(
      fromData.files.get(key)!.layers.map((x) => Buffer.from(x)),
      tree.layers.map((x) => Buffer.from(x)),
    );
});

test('a byte changed on disk: the file is inconsistent and gets no layer; the others do', async (t) => {
  const { made, paths } = await hybrid(t);
  const big = fileIndex(made, 'big.bin');
  const handle = await open(paths[big]!, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, LAYER_READ_BYTES + 17);
  await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, LAYER_READ_BYTES + 17);
  await handle.close();
  const r = await computePieceLayers(made, { paths, have: Bitfield.full(made.pieceCount) });
  assert.deepEqual(r.inconsistent, [big]);
  assert.equal(r.missing, 0);
  assert.ok(r.layers.every((l) => l.file !== big));
  assert.equal(r.layers.length, 1);
});

test('a file with a piece not verified, or not selected, is not read: its layer is missing', async (t) => {
  const { made, paths } = await hybrid(t);
  const big = fileIndex(made, 'big.bin');
  const have = Bitfield.full(made.pieceCount);
  have.clear(made.files[big]!.offset / PIECE + 3);
  const r = await computePieceLayers(made, { paths, have });
  assert.equal(r.missing, 1);
  assert.deepEqual(
    r.layers.map((l) => l.file),
    [fileIndex(made, 'mid-copy.bin')],
  );
  // Neither copy of mid.bin selected: no file of that root is stored.
  const selected = made.files.map((f) => !f.path[f.path.length - 1]!.startsWith('mid'));
  const s = await computePieceLayers(made, { paths, have: Bitfield.full(made.pieceCount), selected });
  assert.equal(s.missing, 1);
  assert.deepEqual(
    s.layers.map((l) => l.file),
    [big],
  );
});

test('an aborted signal stops the hashing', async (t) => {
  const { made, paths } = await hybrid(t);
  const abort = new AbortController();
  abort.abort(new Error('stopping'));
  await assert.rejects(
    computePieceLayers(made, { paths, have: Bitfield.full(made.pieceCount), signal: abort.signal }),
    /stopping/,
  );
});

test('fetched layers are laid on a file of their root, none under the root of a file found inconsistent', async (t) => {
  const { made, paths } = await hybrid(t);
  const known = (await computePieceLayers(made, { paths, have: Bitfield.full(made.pieceCount) })).layers;
  const big = fileIndex(made, 'big.bin');
  const mid = made.files[fileIndex(made, 'mid-copy.bin')]!; // the first of its root (sorted)
  const at = (f: { firstPiece: number; length: number }) => [f.firstPiece, f.length];
  assert.deepEqual(
    layersOnFiles(made, known).map(at).sort(),
    [
      [made.files[big]!.offset / PIECE, made.files[big]!.length],
      [mid.offset / PIECE, mid.length],
    ].sort(),
  );
  assert.deepEqual(layersOnFiles(made, known, [big]).map(at), [[mid.offset / PIECE, mid.length]]);
});
