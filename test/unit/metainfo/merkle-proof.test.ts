/**
 * Which BEP 52 hash requests are answered (src/metainfo/merkle-proof.ts): libtorrent's own requests
 * for a piece layer, and a reject for each rule a request may break; the trees a v2 torrent gets
 * (src/metainfo/piece-layer-trees.ts): one per file longer than a piece, under its `pieces root`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  blockRunPieces,
  hashRequestProblem,
  MAX_BLOCK_HASH_PIECES,
  merkleHashes,
  rootKey,
  treeHeight,
  uncleCount,
} from '../../../src/metainfo/merkle-proof.js';
import { layerRoot } from '../../../src/metainfo/merkle-tree.js';
import { fileTree, pieceLayerTrees } from '../../../src/metainfo/piece-layer-trees.js';
import type { TorrentFile } from '../../../src/metainfo/torrent.js';

const KiB = 1024;
const hashes = (n: number, seed: number) =>
  Buffer.concat(Array.from({ length: n }, (_, i) => createHash('sha256').update(`${seed}:${i}`).digest()));

/** Same bytes (Buffer and Uint8Array alike). */
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  assert.equal(Buffer.from(a ?? []).toString('hex'), Buffer.from(b ?? []).toString('hex'));

/** 256 KiB pieces: the piece layer is 4 layers above the 16 KiB leaves. */
const PIECE_LAYER = 4;

test("libtorrent's requests for a piece layer are answered: 512 at a time, the proof up to the layers it lacks", () => {
  // 2,000 pieces: a tree 11 layers above the piece layer (2,048 wide), four runs of 512.
  const tree = fileTree(hashes(2000, 1), PIECE_LAYER);
  assert.equal(treeHeight(tree), PIECE_LAYER + 11);
  // hash_picker::pick_hashes: base = the piece layer, index = bucket × 512, count = 512, proof layers
  // = the unknown layers above the run's root (1 for the first run: its parent; the root is known) + 9.
  const first = { baseLayer: PIECE_LAYER, index: 0, length: 512, proofLayers: 10 };
  assert.equal(hashRequestProblem(tree, first), undefined);
  assert.equal(uncleCount(512, 10), 2);
  assert.equal(merkleHashes(tree, first).length, 32 * (512 + 2));
  // The last run covers 464 pieces and 48 pads; its proof is known by then: no uncle (proof 8).
  const last = { baseLayer: PIECE_LAYER, index: 1536, length: 512, proofLayers: 8 };
  assert.equal(hashRequestProblem(tree, last), undefined);
  const answer = merkleHashes(tree, last);
  assert.equal(answer.length, 32 * 512);
  same(answer.subarray(0, 464 * 32), hashes(2000, 1).subarray(1536 * 32));
  same(answer.subarray(464 * 32, 465 * 32), tree.pads[0]);
});

test('a file of 3 pieces: libtorrent asks for 4 hashes (the pad included) with 1 proof layer, all inside the run', () => {
  const tree = fileTree(hashes(3, 2), PIECE_LAYER);
  const req = { baseLayer: PIECE_LAYER, index: 0, length: 4, proofLayers: 1 };
  assert.equal(hashRequestProblem(tree, req), undefined);
  same(merkleHashes(tree, req), Buffer.concat([hashes(3, 2), tree.pads[0]!]));
});

test('a request is rejected for each rule it breaks', () => {
  const tree = fileTree(hashes(2000, 1), PIECE_LAYER); // height 15, piece layer 2,048 wide
  const ok = { baseLayer: PIECE_LAYER, index: 512, length: 512, proofLayers: 10 };
  assert.equal(hashRequestProblem(tree, ok), undefined);
  const cases: [Partial<typeof ok>, string][] = [
    [{ baseLayer: 1, index: 0, length: 8 }, 'belowPieceLayer'], // between the blocks and the pieces
    [{ baseLayer: PIECE_LAYER - 1 }, 'belowPieceLayer'],
    [{ baseLayer: 0, index: 0, length: 128 }, 'tooManyBlocks'], // the blocks of 8 pieces
    [{ baseLayer: 15, index: 0, length: 1, proofLayers: 0 }, 'baseAboveTree'], // the root's layer
    [{ length: 0 }, 'badLength'],
    [{ length: 384 }, 'badLength'], // not a power of two
    [{ baseLayer: 4, index: 0, length: 16384, proofLayers: 0 }, 'badLength'], // above 8,192
    [{ index: 256 }, 'misaligned'],
    [{ index: 2048 }, 'pastLayerEnd'],
    [{ baseLayer: 14, index: 0, length: 4, proofLayers: 0 }, 'pastLayerEnd'], // that layer is 2 wide
    [{ proofLayers: 11 }, 'tooManyProofLayers'], // the root has no uncle
    [{ proofLayers: 0xffffffff }, 'tooManyProofLayers'],
  ];
  for (const [change, problem] of cases)
    assert.equal(hashRequestProblem(tree, { ...ok, ...change }), problem, JSON.stringify(change));
  // The block layer itself: a piece's 16 blocks (libtorrent's request after a failed piece), up to
  // MAX_BLOCK_HASH_PIECES pieces' worth, read back from disk to answer (blockRunPieces).
  const piece = { baseLayer: 0, index: 16 * 7, length: 16, proofLayers: 4 };
  assert.equal(hashRequestProblem(tree, piece), undefined);
  assert.deepEqual(blockRunPieces(tree, piece), { from: 7, to: 8, first: 7, count: 1 });
  const four = {
    baseLayer: 0,
    index: 16 * 4 * MAX_BLOCK_HASH_PIECES,
    length: 16 * MAX_BLOCK_HASH_PIECES,
    proofLayers: 14,
  };
  assert.equal(hashRequestProblem(tree, four), undefined);
  assert.deepEqual(blockRunPieces(tree, four), { from: 16, to: 20, first: 16, count: 4 });
  // A block inside a piece is answered from its whole piece; pieces past the file's end are not read.
  assert.deepEqual(blockRunPieces(tree, { index: 16 * 1999 + 5, length: 1 }), {
    from: 1999,
    to: 2000,
    first: 1999,
    count: 1,
  });
  assert.deepEqual(blockRunPieces(tree, { index: 16 * 2044, length: 64 }), {
    from: 2044,
    to: 2048,
    first: 2044,
    count: 0,
  });
  assert.deepEqual(
    blockRunPieces(fileTree(hashes(3, 1), PIECE_LAYER, 10, 0), { index: 16, length: 32 }).first,
    11,
  );
  assert.equal(hashRequestProblem(undefined, ok), 'unknownRoot');
});

test('layers above the piece layer and runs of one are answered too: a run of one starts with its sibling', () => {
  const tree = fileTree(hashes(5, 3), PIECE_LAYER); // 8 wide at the piece layer
  const req = { baseLayer: PIECE_LAYER, index: 4, length: 1, proofLayers: 2 };
  const answer = merkleHashes(tree, req);
  assert.equal(answer.length, 32 * 4);
  same(answer.subarray(0, 32), hashes(5, 3).subarray(4 * 32)); // piece 4
  same(answer.subarray(32, 64), tree.pads[0]); // its sibling, piece 5: a pad
  same(answer.subarray(64, 96), tree.pads[1]); // pieces 6–7: pads
  same(answer.subarray(96, 128), tree.layers[2]!.subarray(0, 32)); // pieces 0–3
  assert.equal(hashRequestProblem(tree, req), undefined);
  const upper = { baseLayer: PIECE_LAYER + 1, index: 0, length: 4, proofLayers: 1 };
  assert.equal(hashRequestProblem(tree, upper), undefined);
  same(
    merkleHashes(tree, upper),
    Buffer.concat([tree.layers[1]!, tree.pads[1]!]), // 3 nodes, then a pad; the proof is the run itself
  );
});

test('a v2 torrent gets a tree for each file longer than a piece, under its pieces root; v1 and hybrids none', () => {
  const pieceLength = 64 * KiB; // piece layer 2
  const file = (path: string, length: number, offset: number, padding = false): TorrentFile => ({
    path: [path],
    length,
    offset,
    padding,
  });
  // a: 3 pieces; pad; b: exactly one piece (its root is its piece hash); c: 600 pieces.
  const files = [
    file('a', 3 * pieceLength - 5, 0),
    file('.pad', 5, 3 * pieceLength - 5, true),
    file('b', pieceLength, 3 * pieceLength),
    file('c', 600 * pieceLength - 1, 4 * pieceLength),
  ];
  const pieces = hashes(604, 4);
  const trees = pieceLayerTrees({ version: 'v2', files, pieces, pieceLength });
  assert.ok(trees !== undefined);
  const rootA = layerRoot(pieces.subarray(0, 3 * 32), 2);
  const rootC = layerRoot(pieces.subarray(4 * 32), 2);
  assert.deepEqual([...trees.files.keys()].sort(), [rootKey(rootA), rootKey(rootC)].sort());
  same(trees.files.get(rootKey(rootC))!.layers[0], pieces.subarray(4 * 32));
  assert.equal(trees.files.get(rootKey(pieces.subarray(3 * 32, 4 * 32))), undefined);
  // Requests of 512 that fetch every piece layer: a's one, c's two.
  assert.equal(trees.pieceLayerRequests, 3);
  for (const version of ['v1', 'hybrid'] as const)
    assert.equal(pieceLayerTrees({ version, files, pieces, pieceLength }), undefined);
});
