import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FileMerkleTree } from '../../src/metainfo/file-merkle-tree.js';
import { referencePieceLayer, referencePiecesRoot } from '../helpers/bep52-reference.js';

/**
 * A file's `pieces root` and piece layer (src/metainfo/file-merkle-tree.ts) against BEP 52's
 * definition built the slow way (test/helpers/bep52-reference.ts), whatever slices the bytes are
 * fed in.
 */

const B = 16 * 1024;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('pieces root and piece layer are the slow tree of the file, whatever the slices', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(B, 2 * B, 4 * B),
      fc.integer({ min: 1, max: 9 * B + 7 }),
      fc.array(fc.integer({ min: 1, max: 3 * B }), { minLength: 1, maxLength: 8 }),
      (pieceLength, length, cuts) => {
        const data = Uint8Array.from({ length }, (_, i) => (i * 131 + (i >> 9)) & 0xff);
        const tree = new FileMerkleTree(length, pieceLength);
        for (let at = 0, k = 0; at < length; k++) {
          const n = cuts[k % cuts.length]!;
          tree.update(data.subarray(at, at + n));
          at += n;
        }
        const { piecesRoot, pieceLayer } = tree.digest();
        assert.equal(hex(piecesRoot), hex(referencePiecesRoot(data)));
        if (length <= pieceLength) assert.equal(pieceLayer, undefined, 'one piece: no layer');
        else assert.equal(hex(pieceLayer!), hex(referencePieceLayer(data, pieceLength)));
      },
    ),
    { numRuns: 60 },
  );
});

test('fed more or fewer bytes than its length: a RangeError, not a wrong root', () => {
  const over = new FileMerkleTree(10, B);
  assert.throws(() => over.update(new Uint8Array(11)), RangeError);
  const under = new FileMerkleTree(B + 1, B);
  under.update(new Uint8Array(B));
  assert.throws(() => under.digest(), RangeError);
  assert.throws(() => new FileMerkleTree(0, B), RangeError);
  assert.throws(() => new FileMerkleTree(10, 3 * B), RangeError);
});
