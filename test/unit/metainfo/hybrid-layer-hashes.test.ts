/**
 * A hybrid torrent's `piece layers` (BEP 52) are kept (Torrent.pieceLayers, src/metainfo/
 * piece-layers.ts), laid on its v1 pieces, and its v2 peers' hash requests are answered from them
 * (src/metainfo/piece-layer-trees.ts): the hashes verify up to the file's `pieces root`, computed
 * here the slow way (test/helpers/bep52-reference.ts). Layers that do not hash to their root, a
 * missing one, or a file with a layer off a piece boundary are refused with the v2 errors; a hybrid
 * without `piece layers` is taken as before, with none to serve.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTorrent } from '../../../src/metainfo/create-torrent.js';
import { hashRequestProblem, merkleHashes, rootKey } from '../../../src/metainfo/merkle-proof.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import {
  blockHashes,
  referencePieceLayer,
  referencePiecesRoot,
  slowLayers,
} from '../../helpers/bep52-reference.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { fileHashes, withLayers } from '../../helpers/v2-torrent.js';

/** 32 KiB pieces: the piece layer is 1 above the 16 KiB leaves. */
const P = 32 * 1024;
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

/** A hybrid made by bitstate of: a short file, a long one (10 pieces and a bit), one of 3 pieces. */
async function hybrid(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, 'bitstate-hybrid-layers-');
  const contents = new Map<string, Buffer>([
    ['a.short', randomBytes(100)],
    ['b.long', randomBytes(10 * P + 7)],
    ['c.three', randomBytes(3 * P)],
  ]);
  await mkdir(join(dir, 'payload'));
  for (const [path, data] of contents) await writeFile(join(dir, 'payload', path), data);
  const made = await makeTorrent(join(dir, 'payload'), { format: 'hybrid', pieceLength: P, creationDate: 1 });
  return { bytes: Buffer.from(made.bytes), contents };
}

test("a hybrid keeps its piece layers, laid on its v1 pieces, and answers hash requests that verify to each file's root", async (t) => {
  const { bytes, contents } = await hybrid(t);
  const torrent = parseTorrent(bytes);
  assert.equal(torrent.version, 'hybrid');
  assert.equal(torrent.pieces.length, torrent.pieceCount * 20, 'its pieces are still checked with SHA-1');
  // a.short: piece 0 (its root), b.long: pieces 1–11, c.three: pieces 12–14.
  const long = contents.get('b.long')!;
  const three = contents.get('c.three')!;
  assert.equal(torrent.pieceCount, 15);
  assert.equal(
    hex(torrent.pieceLayers),
    hex(
      Buffer.concat([
        referencePiecesRoot(contents.get('a.short')!),
        referencePieceLayer(long, P),
        referencePieceLayer(three, P),
      ]),
    ),
  );

  const trees = pieceLayerTrees(torrent);
  assert.ok(trees !== undefined, 'a hybrid with piece layers has trees to serve');
  assert.deepEqual(
    [...trees.files.keys()].sort(),
    [rootKey(referencePiecesRoot(long)), rootKey(referencePiecesRoot(three))].sort(),
  );
  // libtorrent's request for b.long's piece layer: 11 pieces, asked as 16 (pads), proof layers 3 —
  // the run is the whole layer, so no uncle follows. Its hashes are the slow tree's piece layer.
  const tree = trees.files.get(rootKey(referencePiecesRoot(long)))!;
  const req = { baseLayer: 1, index: 0, length: 16, proofLayers: 3 };
  assert.equal(hashRequestProblem(tree, req), undefined);
  const layers = slowLayers(blockHashes(long));
  assert.equal(hex(merkleHashes(tree, req)), hex(Buffer.concat(layers[1]!.slice(0, 16))));
  // A run of 2 with its uncles up to the root: the slow tree's siblings, and they fold to the root.
  const run = { baseLayer: 1, index: 4, length: 2, proofLayers: 3 };
  const answer = merkleHashes(tree, run);
  assert.equal(
    hex(answer),
    hex(Buffer.concat([layers[1]![4]!, layers[1]![5]!, layers[2]![3]!, layers[3]![0]!, layers[4]![1]!])),
  );
  assert.equal(hex(layers.at(-1)![0]), hex(referencePiecesRoot(long)));
});

test('a hybrid without piece layers is taken as before: nothing to serve', async (t) => {
  const { bytes } = await hybrid(t);
  const at = bytes.indexOf('12:piece layers');
  assert.ok(at > 0);
  // `piece layers` is the root dictionary's last key: cut it and its value.
  const without = Buffer.concat([bytes.subarray(0, at), Buffer.from('e')]);
  const torrent = parseTorrent(without);
  assert.equal(torrent.version, 'hybrid');
  assert.equal(torrent.pieceLayers, undefined);
  assert.equal(pieceLayerTrees(torrent), undefined);
  assert.equal(torrent.infoHashHex, parseTorrent(bytes).infoHashHex);
});

test("a hybrid's piece layers are checked as a v2 torrent's: wrong or missing ones are refused", async (t) => {
  const { bytes, contents } = await hybrid(t);
  const refused = (b: Buffer, code: string, message: RegExp) =>
    assert.throws(
      () => parseTorrent(b),
      (e: unknown) => e instanceof MetainfoError && e.code === code && message.test(e.message),
    );
  // One byte of b.long's layer changed: it no longer hashes to its pieces root.
  const layer = referencePieceLayer(contents.get('b.long')!, P);
  const at = bytes.indexOf(layer);
  assert.ok(at > 0);
  const tampered = Buffer.from(bytes);
  tampered[at + 40]! ^= 1;
  refused(tampered, 'invalid-value', /piece layers: the layer of "b.long" does not hash to its pieces root/);
  // c.three's layer under another key: its file has none.
  const key = referencePiecesRoot(contents.get('c.three')!);
  const keyAt = bytes.indexOf(key, bytes.indexOf('12:piece layers'));
  const rekeyed = Buffer.from(bytes);
  rekeyed[keyAt]! ^= 1;
  refused(rekeyed, 'unsupported', /piece layers missing: "c.three" is longer than a piece and has no layer/);
});

test('a hybrid with piece layers whose file does not start a piece (no padding before it) is refused', () => {
  const a = randomBytes(100);
  const b = randomBytes(3 * P);
  const hb = fileHashes(b, P);
  const info = {
    files: [
      { length: a.length, path: ['a'] },
      { length: b.length, path: ['b'] },
    ],
    'file tree': {
      a: { '': { length: a.length, 'pieces root': referencePiecesRoot(a) } },
      b: { '': { length: b.length, 'pieces root': hb.root } },
    },
    'meta version': 2,
    name: 'h',
    'piece length': P,
    pieces: new Uint8Array(4 * 20), // 100 + 3 pieces: 4 pieces (not checked when parsed)
  };
  const refused = (bytes: Buffer) =>
    assert.throws(
      () => parseTorrent(bytes),
      (e: unknown) =>
        e instanceof MetainfoError &&
        e.code === 'invalid-value' &&
        /"b" starts at byte 100, not at a piece boundary/.test(e.message),
    );
  refused(withLayers(info, [[hb.root, hb.layer!]]));
  // Without piece layers it loads as before (its v1 pieces are what it is checked with).
  assert.equal(parseTorrent(withLayers(info, undefined)).pieceLayers, undefined);
});
