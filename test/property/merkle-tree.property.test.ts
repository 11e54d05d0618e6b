import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { layerRoot, MerkleRoot, PieceMerkle, padHash } from '../../src/metainfo/merkle-tree.js';
import { createPieceHash, v2PieceShape } from '../../src/metainfo/piece-hash.js';
import { blockHashes, sha256, slowRoot } from '../helpers/bep52-reference.js';

/**
 * BEP 52's merkle trees (src/metainfo/merkle-tree.ts) against the tree built the slow way
 * (test/helpers/bep52-reference.ts), whatever slices the bytes come in.
 */

const B = 16 * 1024;
const slowPieceRoot = (data: Uint8Array, leaves: number) => hex(slowRoot(blockHashes(data), leaves));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a piece root is the slow tree of its 16 KiB leaves, whatever the slices; bytes past its data are ignored', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 * B + 100 }),
      fc.integer({ min: 0, max: 3 }),
      fc.array(fc.integer({ min: 1, max: 3 * B }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: B }),
      (length, extraHeight, cuts, padding) => {
        const data = Uint8Array.from({ length }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
        let leaves = 1;
        while (leaves * B < length) leaves *= 2;
        leaves *= 2 ** extraHeight;
        const m = new PieceMerkle(length, leaves);
        const fed = Buffer.concat([data, new Uint8Array(padding).fill(0xee)]);
        for (let at = 0, k = 0; at < fed.length; k++) {
          const n = cuts[k % cuts.length]!;
          m.update(fed.subarray(at, at + n));
          at += n;
        }
        assert.equal(hex(m.digest()), slowPieceRoot(data, leaves));
      },
    ),
  );
});

test('a layer root pads with whole zero subtrees; pushing subtrees equals pushing their leaves', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 4 }), (count, padHeight) => {
      const layer = Buffer.concat(Array.from({ length: count }, (_, i) => sha256(Uint8Array.of(i))));
      let width = 1;
      while (width < count) width *= 2;
      const hashes = Array.from({ length: count }, (_, i) => layer.subarray(i * 32, i * 32 + 32));
      assert.equal(hex(layerRoot(layer, padHeight)), hex(slowRoot(hashes, width, padHash(padHeight))));
      // padHash(h) is the root of 2^h zero leaves.
      assert.equal(hex(padHash(padHeight)), hex(slowRoot([], 2 ** padHeight)));
    }),
  );
});

test('a tree that cannot hold what was pushed is a RangeError, not a wrong root', () => {
  const t = new MerkleRoot();
  for (let i = 0; i < 3; i++) t.push(sha256(Uint8Array.of(i)));
  assert.throws(() => t.root(2), RangeError);
  assert.throws(() => t.root(6), RangeError);
  assert.throws(() => new PieceMerkle(B + 1, 1), RangeError);
});

test('v2 piece shapes: a file longer than a piece has piece-wide subtrees, a shorter one its own; padding is not a piece', () => {
  const P = 4 * B;
  // a: 2.5 pieces, then padding to the boundary; b: 1.5 blocks; then padding; c: empty; d: exactly one piece.
  const files = [
    { length: 2 * P + 2 * B, offset: 0, padding: false },
    { length: 2 * B, offset: 2 * P + 2 * B, padding: true },
    { length: B + B / 2, offset: 3 * P, padding: false },
    { length: P - B - B / 2, offset: 3 * P + B + B / 2, padding: true },
    { length: 0, offset: 4 * P, padding: false },
    { length: P, offset: 4 * P, padding: false },
  ];
  const spec = { version: 'v2' as const, files, pieceLength: P };
  assert.deepEqual(v2PieceShape(spec, 0), { dataLength: P, leaves: 4 });
  assert.deepEqual(v2PieceShape(spec, 2), { dataLength: 2 * B, leaves: 4 });
  assert.deepEqual(v2PieceShape(spec, 3), { dataLength: B + B / 2, leaves: 2 });
  assert.deepEqual(v2PieceShape(spec, 4), { dataLength: P, leaves: 4 });
  assert.throws(() => v2PieceShape(spec, 5), RangeError);
  // v1 pieces are SHA-1 over every byte, padding included.
  const v1 = createPieceHash({ ...spec, version: 'v1' }, 0);
  v1.update(Uint8Array.of(1, 2));
  assert.equal(hex(v1.digest()), createHash('sha1').update(Uint8Array.of(1, 2)).digest('hex'));
});
