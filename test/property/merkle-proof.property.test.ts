/**
 * BEP 52 hash requests answered from the piece layers (src/metainfo/merkle-proof.ts and
 * piece-layer-trees.ts) against a file's whole tree built the slow way: every 16 KiB leaf, zero
 * leaves up to a power of two, layer by layer. The hashes of any valid request are the slow tree's
 * nodes, and they prove themselves as libtorrent checks a `hashes` message: its length is libtorrent's
 * count (length + proof layers − log2(length) + 1), and folding the run, then each uncle on the side
 * the index says, gives the slow tree's node above the last proof layer — the root for a full proof.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { hashRequestProblem, merkleHashes, treeHeight } from '../../src/metainfo/merkle-proof.js';
import { layerRoot } from '../../src/metainfo/merkle-tree.js';
import { fileTree } from '../../src/metainfo/piece-layer-trees.js';
import { madeUpLeaves, slowLayers } from '../helpers/bep52-reference.js';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The slow tree: `layers[h]` the nodes at height h over `blocks` leaves padded with zero leaves. */
function slowTree(blocks: number): Uint8Array[][] {
  return slowLayers(madeUpLeaves(blocks, 7));
}

/** A file longer than one piece: its blocks, the piece layer's height, and a valid request. */
const requestCase = fc
  .record({
    pieceLayer: fc.integer({ min: 0, max: 3 }),
    extraBlocks: fc.integer({ min: 1, max: 300 }),
    base: fc.nat(),
    lengthLog: fc.nat(),
    slot: fc.nat(),
    proof: fc.nat(),
  })
  .map(({ pieceLayer, extraBlocks, base, lengthLog, slot, proof }) => {
    const blocks = 2 ** pieceLayer + extraBlocks; // more than one piece
    const slow = slowTree(blocks);
    const height = slow.length - 1;
    const baseLayer = pieceLayer + (base % (height - pieceLayer));
    const above = height - baseLayer; // the base layer has 2^above nodes
    const length = 2 ** (lengthLog % (above + 1));
    const index = (slot % (2 ** above / length)) * length;
    return { blocks, pieceLayer, slow, height, baseLayer, index, length, proofLayers: proof % above };
  });

/** The piece layer as a torrent holds it: the slow tree's nodes at that height that cover the file. */
function pieceLayerOf(slow: Uint8Array[][], pieceLayer: number, blocks: number): Uint8Array {
  return Buffer.concat(slow[pieceLayer]!.slice(0, Math.ceil(blocks / 2 ** pieceLayer)));
}

test("a file's tree from its piece layer has the slow tree's root, height and nodes", () => {
  fc.assert(
    fc.property(requestCase, ({ blocks, pieceLayer, slow, height }) => {
      const layer = pieceLayerOf(slow, pieceLayer, blocks);
      const tree = fileTree(layer, pieceLayer);
      assert.equal(treeHeight(tree), height);
      assert.equal(hex(tree.root), hex(slow[height]![0]!));
      // The same root as the piece layer's own (what the parser checks against `pieces root`).
      assert.equal(hex(tree.root), hex(layerRoot(layer, pieceLayer)));
    }),
  );
});

test('the hashes of a valid request are the slow tree’s run, then the uncles from the run’s root up', () => {
  fc.assert(
    fc.property(requestCase, (c) => {
      const tree = fileTree(pieceLayerOf(c.slow, c.pieceLayer, c.blocks), c.pieceLayer);
      assert.equal(hashRequestProblem(tree, c), undefined);
      const got = merkleHashes(tree, c);
      const expected: Uint8Array[] = c.slow[c.baseLayer]!.slice(c.index, c.index + c.length);
      // BEP 52: one uncle per proof layer, those inside the run (below its root) omitted.
      for (let h = Math.log2(c.length); h <= c.proofLayers; h++)
        expected.push(c.slow[c.baseLayer + h]![Math.floor(c.index / 2 ** h) ^ 1]!);
      assert.equal(hex(got), hex(Buffer.concat(expected)));
    }),
  );
});

test('the hashes prove themselves as libtorrent checks them: its count, and folded up they give the slow tree’s node', () => {
  fc.assert(
    fc.property(requestCase, fc.boolean(), (c, fullProof) => {
      const proofLayers = fullProof ? c.height - c.baseLayer - 1 : c.proofLayers;
      const req = { ...c, proofLayers };
      const tree = fileTree(pieceLayerOf(c.slow, c.pieceLayer, c.blocks), c.pieceLayer);
      const got = merkleHashes(tree, req);
      // libtorrent's on_hashes: count + max(0, proof layers − (merkle_num_layers(merkle_num_leafs(count)) − 1)).
      const uncles = Math.max(0, proofLayers - (Math.log2(c.length) - 1));
      assert.equal(got.length, 32 * (c.length + uncles));
      const hashes = Array.from({ length: got.length / 32 }, (_, i) => got.subarray(32 * i, 32 * i + 32));
      // Fold the run to its root, then climb with each uncle on the side the index says.
      let run = hashes.slice(0, c.length);
      while (run.length > 1) {
        const up: Uint8Array[] = [];
        for (let i = 0; i < run.length; i += 2) up.push(sha256(run[i]!, run[i + 1]!));
        run = up;
      }
      let node = run[0]!;
      let h = Math.log2(c.length);
      for (const uncle of hashes.slice(c.length)) {
        // A run of one starts with its own sibling, at its own height.
        const at = Math.floor(c.index / 2 ** h);
        node = at % 2 === 0 ? sha256(node, uncle) : sha256(uncle, node);
        h++;
      }
      assert.equal(hex(node), hex(c.slow[c.baseLayer + h]![Math.floor(c.index / 2 ** h)]!));
      if (fullProof) assert.equal(hex(node), hex(tree.root));
    }),
  );
});
