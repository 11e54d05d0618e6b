import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailedBlocks } from '../../../machines/failed-blocks.js';

/** Block hashes as storage sends them: 20 bytes per block, each block's filled with its byte. */
const hashes = (...fill: number[]) => {
  const out = new Uint8Array(fill.length * 20);
  for (const [b, v] of fill.entries()) out.fill(v, b * 20, b * 20 + 20);
  return out;
};

test('a passed piece blames exactly the senders whose block differed', () => {
  const f = new FailedBlocks();
  assert.deepEqual(f.pieceFailed(3, ['a', 'h', 'h', 'g'], hashes(9, 2, 3, 4)), []);
  assert.ok(f.has(3));
  f.judging(3);
  assert.equal(f.awaitingJudgement, true);
  assert.deepEqual(f.piecePassed(3, hashes(1, 2, 3, 4)), ['a']);
  assert.equal(f.awaitingJudgement, false);
  assert.equal(f.has(3), false, 'forgotten once judged');
  assert.deepEqual(f.toJSON(), { pieces: 0, blocks: 0, judging: 0 });
  assert.deepEqual(f.piecePassed(3, hashes(1, 2, 3, 4)), [], 'judged once');
});

test('every failed attempt is remembered: a block sent bad to the first and good to the second still blames', () => {
  const f = new FailedBlocks();
  f.pieceFailed(0, ['a', 'h'], hashes(9, 2));
  f.pieceFailed(0, ['h', 'b'], hashes(1, 8));
  assert.deepEqual(f.blocks, 4);
  assert.deepEqual(f.piecePassed(0, hashes(1, 2)).sort(), ['a', 'b']);
});

test('a peer that sends the same block of a piece two ways is proven bad at once', () => {
  const f = new FailedBlocks();
  assert.deepEqual(f.pieceFailed(0, ['a', 'h'], hashes(9, 2)), []);
  assert.deepEqual(f.pieceFailed(0, ['a', 'h'], hashes(9, 2)), [], 'the same bytes again prove nothing');
  assert.deepEqual(f.pieceFailed(0, ['a', 'h'], hashes(7, 2)), ['a']);
  assert.equal(f.blocks, 2);
});

test('blocks nobody sent, and blocks without a hash, are not recorded', () => {
  const f = new FailedBlocks();
  f.pieceFailed(0, [undefined, 'h', 'a'], hashes(1, 2));
  assert.equal(f.blocks, 1);
  assert.deepEqual(f.piecePassed(0, hashes(1, 5, 3)), ['h']);
});

test('memory is bounded: past the bound the pieces that failed longest ago are forgotten', () => {
  const f = new FailedBlocks(5);
  f.pieceFailed(0, ['a', 'b'], hashes(1, 2));
  f.pieceFailed(1, ['a', 'b'], hashes(1, 2));
  f.pieceFailed(0, ['c', 'b'], hashes(1, 2)); // piece 0 failed again: now the latest, 3 blocks
  assert.deepEqual(f.toJSON(), { pieces: 2, blocks: 5, judging: 0 });
  f.pieceFailed(2, ['a'], hashes(1));
  assert.deepEqual([f.has(0), f.has(1), f.has(2)], [true, false, true]);
  assert.equal(f.blocks, 4);
  // A piece larger than the bound alone is not kept at all.
  f.pieceFailed(3, ['a', 'b', 'c', 'd', 'e', 'f'], hashes(1, 2, 3, 4, 5, 6));
  assert.equal(f.has(3), false);
  assert.ok(f.blocks <= 5);
});
