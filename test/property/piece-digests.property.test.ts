import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { PieceDigests } from '../../src/storage/piece-digests.js';

/**
 * Hashing pieces as their blocks are written (src/storage/piece-digests.ts): whatever order the
 * blocks of several pieces come in, a piece's digest is the SHA-1 of its bytes, or nothing (read it
 * back) — never a wrong digest — and the held copies never pass the bound.
 */

const BLOCK = 16;
const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest();

/** Pieces of 1..6 blocks (the last one short), their bytes, and every block in a random order. */
const swarmArb = fc
  .record({
    blocks: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
    tail: fc.integer({ min: 1, max: BLOCK }),
    seed: fc.integer(),
  })
  .chain(({ blocks, tail, seed }) => {
    const lengths = blocks.map((n, i) => (i === blocks.length - 1 ? (n - 1) * BLOCK + tail : n * BLOCK));
    const refs = lengths.flatMap((len, index) =>
      Array.from({ length: Math.ceil(len / BLOCK) }, (_, k) => ({
        index,
        begin: k * BLOCK,
        length: Math.min(BLOCK, len - k * BLOCK),
      })),
    );
    return fc.record({
      lengths: fc.constant(lengths),
      order: fc.shuffledSubarray(refs, { minLength: refs.length, maxLength: refs.length }),
      seed: fc.constant(seed),
      maxHeld: fc.integer({ min: 0, max: 8 * BLOCK }),
      // Pool slabs are held as they are; any other buffer is copied.
      pinnable: fc.boolean(),
    });
  });

function pieceBytes(index: number, length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (index * 131 + i * 7 + seed) & 0xff;
  return out;
}

test('any arrival order: each digest is the SHA-1 of its piece or absent, held bytes stay bounded', () => {
  fc.assert(
    fc.property(swarmArb, ({ lengths, order, seed, maxHeld, pinnable }) => {
      const pieces = lengths.map((len, i) => pieceBytes(i, len, seed));
      // The caller reuses a buffer (a pool slab) as soon as the digests do not hold it: scribble
      // over it then, so a digest that read it later would come out wrong.
      const held = new Set<Uint8Array>();
      const digests = new PieceDigests(
        (i) => lengths[i]!,
        (buf) => {
          assert.ok(held.delete(buf), 'released a block it did not hold, or twice');
          buf.fill(0xee);
        },
        maxHeld,
      );
      for (const b of order) {
        const buf = Uint8Array.from(pieces[b.index]!.subarray(b.begin, b.begin + b.length));
        // Told as a boolean, or (as PieceStore does) as a predicate asked only when a block is held.
        const pin = b.begin % (2 * BLOCK) === 0 ? pinnable : (x: Uint8Array) => x === buf && pinnable;
        if (digests.add(b.index, b.begin, buf, pin)) held.add(buf);
        else buf.fill(0xee);
        assert.ok(digests.heldBytes <= maxHeld, `held ${digests.heldBytes} > ${maxHeld}`);
      }
      let fromWrites = 0;
      lengths.forEach((_, i) => {
        const d = digests.take(i);
        if (d !== undefined) {
          assert.deepEqual(Buffer.from(d), sha1(pieces[i]!), `piece ${i}`);
          fromWrites++;
        }
      });
      assert.equal(digests.heldBytes, 0);
      assert.equal(digests.inProgress, 0);
      assert.equal(held.size, 0, 'every held block was given back');
      // With room for every block, nothing is ever given up on.
      if (maxHeld >= lengths.reduce((a, b) => a + b, 0)) assert.equal(fromWrites, lengths.length);
      assert.equal(digests.stats.abandoned, lengths.length - fromWrites);
    }),
    { numRuns: 300 },
  );
});

test('a block over bytes already hashed (a piece written twice) gives the piece up until taken', () => {
  const piece = pieceBytes(0, 3 * BLOCK, 1);
  const digests = new PieceDigests(
    () => piece.length,
    () => {},
  );
  digests.add(0, 0, piece.subarray(0, BLOCK));
  digests.add(0, BLOCK, piece.subarray(BLOCK, 2 * BLOCK));
  digests.add(0, BLOCK, new Uint8Array(BLOCK)); // rewritten with other bytes
  digests.add(0, 2 * BLOCK, piece.subarray(2 * BLOCK));
  assert.equal(digests.take(0), undefined, 'the disk holds what the last writes left: read it back');
  // Downloaded again from the start (after a failed hash): hashed afresh.
  for (let at = 0; at < piece.length; at += BLOCK) digests.add(0, at, piece.subarray(at, at + BLOCK));
  assert.deepEqual(Buffer.from(digests.take(0) ?? []), sha1(piece));
});

test('a missing block leaves no digest; blocks held past the bound are dropped at once', () => {
  const piece = pieceBytes(2, 4 * BLOCK, 3);
  const released: Uint8Array[] = [];
  const digests = new PieceDigests(
    () => piece.length,
    (b) => released.push(b),
    2 * BLOCK,
  );
  digests.add(2, 3 * BLOCK, piece.subarray(3 * BLOCK), true);
  digests.add(2, 2 * BLOCK, piece.subarray(2 * BLOCK, 3 * BLOCK), true);
  assert.equal(digests.heldBytes, 2 * BLOCK);
  digests.add(2, BLOCK, piece.subarray(BLOCK, 2 * BLOCK), true); // a third held block passes the bound
  assert.equal(digests.heldBytes, 0);
  assert.equal(digests.stats.abandoned, 1);
  assert.equal(released.length, 2, 'the two held blocks are given back when the piece is dropped');
  digests.add(2, 0, piece.subarray(0, BLOCK));
  assert.equal(digests.take(2), undefined);

  const other = new PieceDigests(
    () => piece.length,
    () => {},
  );
  for (const at of [0, 2 * BLOCK, 3 * BLOCK]) other.add(7, at, piece.subarray(at, at + BLOCK));
  assert.equal(other.take(7), undefined, 'block 1 never came');
  assert.equal(other.heldBytes, 0);
});
