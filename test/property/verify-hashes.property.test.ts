/**
 * The asking side of BEP 52 hash requests (src/metainfo/verify-hashes.ts) against a file's whole
 * tree built the slow way (every 16 KiB leaf, zero leaves up to a power of two, layer by layer, as
 * in merkle-proof.property.test.ts): the requests tile the piece layer as libtorrent asks it (512
 * at a time); an answer made of the slow tree's nodes — the run, then the sibling of each of the
 * run's ancestors below the root — verifies and gives back the run; any change to it (a flipped
 * bit, a hash too many or too few, another root) does not verify.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  fileTreeHeight,
  pieceLayerRequest,
  pieceLayerRunCount,
} from '../../src/metainfo/piece-layer-requests.js';
import { verifyHashes } from '../../src/metainfo/verify-hashes.js';
import { madeUpLeaves, slowLayers } from '../helpers/bep52-reference.js';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The slow tree: `layers[h]` the nodes at height h over `blocks` leaves padded with zero leaves. */
function slowTree(blocks: number, seed: number): Uint8Array[][] {
  return slowLayers(madeUpLeaves(blocks, seed));
}

/** A file longer than one piece: piece layer height, and blocks (its last piece maybe partial). */
const fileCase = fc
  .record({
    pieceLayer: fc.integer({ min: 0, max: 2 }),
    pieces: fc.oneof(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 500, max: 1100 })),
    short: fc.nat(),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ pieceLayer, pieces, short, seed }) => {
    const perPiece = 2 ** pieceLayer;
    const blocks = (pieces - 1) * perPiece + 1 + (short % perPiece);
    return { pieceLayer, pieces, slow: slowTree(blocks, seed) };
  });

/** The answer the slow tree gives to a request: the run, then the siblings up to below the root. */
function slowAnswer(slow: Uint8Array[][], base: number, index: number, length: number, proofLayers: number) {
  const hashes: Uint8Array[] = slow[base]!.slice(index, index + length);
  const first = Math.log2(length);
  for (let h = first; h <= proofLayers; h++) {
    const ancestor = Math.floor(index / 2 ** h);
    hashes.push(slow[base + h]![ancestor ^ 1]!);
  }
  return Buffer.concat(hashes);
}

test("the requests tile the file's piece layer, 512 at a time, proved to just below the root", () => {
  fc.assert(
    fc.property(fileCase, ({ pieceLayer, pieces, slow }) => {
      const height = slow.length - 1;
      assert.equal(fileTreeHeight(pieceLayer, pieces), height);
      const file = { piecesRoot: slow[height]![0]!, pieces };
      let next = 0;
      for (let run = 0; run < pieceLayerRunCount(pieces); run++) {
        const r = pieceLayerRequest(file, pieceLayer, run);
        assert.equal(r.index, next);
        assert.equal(r.baseLayer, pieceLayer);
        assert.ok(r.length <= 512 && (r.length & (r.length - 1)) === 0);
        assert.equal(r.proofLayers, height - pieceLayer - 1);
        next += Math.min(r.length, pieces - r.index);
      }
      assert.equal(next, pieces);
    }),
    { numRuns: 60 },
  );
});

test("the slow tree's answer verifies against the root and gives back the run; any change does not", () => {
  fc.assert(
    fc.property(fileCase, fc.nat(), fc.nat(), ({ pieceLayer, pieces, slow }, runPick, flip) => {
      const height = slow.length - 1;
      const root = slow[height]![0]!;
      const file = { piecesRoot: root, pieces };
      const r = pieceLayerRequest(file, pieceLayer, runPick % pieceLayerRunCount(pieces));
      const answer = slowAnswer(slow, r.baseLayer, r.index, r.length, r.proofLayers);
      const run = verifyHashes(root, height, r, answer);
      assert.ok(run !== undefined, 'the right answer verifies');
      assert.equal(hex(run), hex(Buffer.concat(slow[pieceLayer]!.slice(r.index, r.index + r.length))));
      const forged = Uint8Array.from(answer);
      forged[flip % forged.length]! ^= 1 << (flip % 8);
      assert.equal(verifyHashes(root, height, r, forged), undefined, 'a flipped bit');
      assert.equal(verifyHashes(root, height, r, answer.subarray(32)), undefined, 'a hash short');
      assert.equal(
        verifyHashes(root, height, r, Buffer.concat([answer, new Uint8Array(32)])),
        undefined,
        'a hash too many',
      );
      assert.equal(verifyHashes(sha256(root), height, r, answer), undefined, 'another root');
      // A proof that stops below the root cannot be checked against it.
      if (r.proofLayers > 0 && r.proofLayers >= Math.log2(r.length))
        assert.equal(
          verifyHashes(root, height, { ...r, proofLayers: r.proofLayers - 1 }, answer.subarray(0, -32)),
          undefined,
        );
    }),
    { numRuns: 60 },
  );
});
