import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_SLAB_BYTES, BlockPool } from '../../../src/net/block-pool.js';

test('a released slab is reused for the next copy; its bytes are the new block', () => {
  const pool = new BlockPool(2 * 1024 * 1024);
  const a = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES).fill(1));
  assert.equal(pool.arenaBytes, 1024 * 1024);
  pool.release(a);
  const b = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES).fill(2));
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.byteOffset, a.byteOffset);
  assert.ok(b.every((x) => x === 2));
});

test('a short block is a view of a slab and gives the whole slab back', () => {
  const pool = new BlockPool(1024 * 1024);
  const free = () => pool.free;
  const short = pool.copy(Uint8Array.from([9, 8, 7]));
  assert.deepEqual([...short], [9, 8, 7]);
  const before = free();
  pool.release(short);
  assert.equal(free(), before + 1);
  const next = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES).fill(5));
  assert.equal(next.length, BLOCK_SLAB_BYTES);
  assert.equal(next.byteOffset, short.byteOffset);
});

test('giving back twice, a subarray, or a foreign buffer changes nothing', () => {
  const pool = new BlockPool(1024 * 1024);
  const a = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES));
  const free = pool.free;
  pool.release(a);
  pool.release(a);
  pool.release(a.subarray(0, 10));
  pool.release(new Uint8Array(BLOCK_SLAB_BYTES));
  assert.equal(pool.free, free + 1);
});

test('past the cap and for blocks larger than a slab, copies are fresh buffers outside the pool', () => {
  const pool = new BlockPool(1024 * 1024); // one arena: 64 slabs
  const held = Array.from({ length: 64 }, (_, i) => pool.copy(new Uint8Array(BLOCK_SLAB_BYTES).fill(i)));
  assert.equal(pool.arenaBytes, 1024 * 1024);
  const extra = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES).fill(77));
  assert.equal(pool.arenaBytes, 1024 * 1024, 'no arena past the cap');
  assert.notEqual(extra.buffer, held[0]!.buffer);
  assert.ok(extra.every((x) => x === 77));
  pool.release(extra);
  assert.equal(pool.free, 0, 'a fresh buffer never joins the pool');
  const big = pool.copy(new Uint8Array(BLOCK_SLAB_BYTES + 1).fill(3));
  assert.equal(big.length, BLOCK_SLAB_BYTES + 1);
  for (const [i, h] of held.entries())
    assert.ok(
      h.every((x) => x === i),
      `slab ${i} untouched`,
    );
});
