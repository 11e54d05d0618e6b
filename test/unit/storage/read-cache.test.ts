/**
 * The read cache that serves blocks: one read per chunk, blocks as views pinned until released,
 * buffers reused only once evicted and unpinned, padding read as zeros into a reused buffer.
 * A real PieceStore on real files in a temp folder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { ReadCache } from '../../../src/storage/read-cache.js';
import { type FileSpec, makeTorrent, payloadBytes, zeroPadding } from './make-torrent.js';

const PIECE = 64;

async function storeOf(
  t: { after(fn: () => Promise<void>): void },
  specs: FileSpec[],
): Promise<{ store: PieceStore; payload: Uint8Array; torrent: Torrent }> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-read-cache-'));
  const total = specs.reduce((n, s) => n + s.length, 0);
  const payload = zeroPadding(payloadBytes(total, 5), specs);
  const torrent = makeTorrent('cache', specs, PIECE, payload);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 0 });
  for (let i = 0; i < torrent.pieceCount; i++) {
    const at = i * PIECE;
    await store.writeBlock(i, 0, payload.subarray(at, Math.min(total, at + PIECE)));
  }
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, payload, torrent };
}

test('blocks of one chunk cost one read, concurrent misses included; hits are answered at once', async (t) => {
  const { store, payload } = await storeOf(t, [{ path: ['a.bin'], length: 4 * PIECE }]);
  const cache = new ReadCache(store, 4 * PIECE);
  const [a, b] = await Promise.all([cache.acquire(1, 0, 16), cache.acquire(1, 16, 16)]);
  assert.equal(cache.reads, 1);
  assert.deepEqual(a.block, payload.subarray(64, 80));
  assert.deepEqual(b.block, payload.subarray(80, 96));
  const hit = cache.acquire(1, 48, 16);
  assert.ok(!(hit instanceof Promise), 'a cached chunk is served without waiting');
  assert.deepEqual(hit.block, payload.subarray(112, 128));
  assert.equal(a.chunk?.pins, 3);
  for (const p of [a, b, hit]) cache.release(p);
  assert.equal(a.chunk?.pins, 0);
  assert.throws(() => cache.release(a), { code: 'badRange' }, 'a double release is a bug');
});

test('a pinned chunk is never reused; once released after eviction its buffer serves the next read', async (t) => {
  const { store, payload } = await storeOf(t, [{ path: ['a.bin'], length: 4 * PIECE }]);
  const cache = new ReadCache(store, PIECE); // room for one chunk
  const pinned = await cache.acquire(0, 0, PIECE);
  const before = Uint8Array.from(pinned.block);
  // Piece 1 evicts piece 0 while a socket still holds piece 0's view: piece 0's buffer is kept.
  const one = await cache.acquire(1, 0, PIECE);
  assert.deepEqual(pinned.block, before, 'the pinned view is untouched');
  assert.equal(cache.allocations, 2);
  cache.release(one);
  cache.release(pinned); // evicted and now free: its buffer goes to the free list
  const two = await cache.acquire(2, 0, PIECE); // evicts piece 1 (unpinned)
  assert.equal(cache.allocations, 2, 'no new buffer: a freed one was reused');
  assert.deepEqual(two.block, payload.subarray(128, 192));
  assert.equal(two.block.buffer, pinned.block.buffer, 'piece 0’s old buffer now holds piece 2');
  cache.release(two);
  const three = await cache.acquire(3, 0, PIECE);
  assert.equal(cache.allocations, 2);
  assert.deepEqual(three.block, payload.subarray(192, 256));
  cache.release(three);
});

test('padding bytes read as zeros into a reused buffer', async (t) => {
  const specs: FileSpec[] = [
    { path: ['a.bin'], length: PIECE + 10 },
    { path: ['.pad', '54'], length: PIECE - 10, padding: true },
    { path: ['b.bin'], length: 2 * PIECE },
  ];
  const { store, payload } = await storeOf(t, specs);
  const cache = new ReadCache(store, PIECE);
  cache.release(await cache.acquire(2, 0, PIECE)); // non-zero bytes in the buffer
  cache.release(await cache.acquire(3, 0, PIECE)); // evicts 2: its buffer is free
  const padded = await cache.acquire(1, 0, PIECE); // piece 1: 10 bytes of a.bin, then padding
  assert.equal(cache.allocations, 2, 'read into the reused buffer');
  assert.deepEqual(padded.block, payload.subarray(PIECE, 2 * PIECE));
  assert.ok(padded.block.subarray(10).every((x) => x === 0));
  cache.release(padded);
});

test('a block outside the torrent is refused with a typed error', async (t) => {
  const { store } = await storeOf(t, [{ path: ['a.bin'], length: 2 * PIECE }]);
  const cache = new ReadCache(store);
  await assert.rejects(async () => cache.acquire(1, 60, 16), { code: 'badRange' });
  await assert.rejects(async () => cache.acquire(2, 0, 16), { code: 'badRange' });
});

test('memory stays bounded whatever a peer asks: one block from each of 128 pieces, all pinned', async (t) => {
  const pieces = 128;
  const { store, payload } = await storeOf(t, [{ path: ['a.bin'], length: pieces * PIECE }]);
  const cache = new ReadCache(store, 4 * PIECE); // budget: 2 × 4 chunks in all
  const bound = 2 * 4 * PIECE;
  let peak = 0;
  // Held as a socket holds blocks it has not written yet: nothing is released until the end. Half
  // asked at once (misses issued before any read lands), half one after the other (each read lands
  // and evicts a chunk that is still pinned).
  const concurrent = [];
  for (let i = 0; i < pieces / 2; i++) {
    concurrent.push(cache.acquire(i, 16, 16));
    peak = Math.max(peak, cache.heldBytes);
  }
  const held = await Promise.all(concurrent);
  for (let i = pieces / 2; i < pieces; i++) {
    held.push(await cache.acquire(i, 16, 16));
    peak = Math.max(peak, cache.heldBytes);
  }
  assert.ok(peak <= bound, `held ${peak} bytes of chunks, the bound is ${bound}`);
  assert.ok(cache.blockReads >= pieces - 8, `${cache.blockReads} lone block reads`);
  held.forEach((p, i) => {
    assert.deepEqual(p.block, payload.subarray(i * PIECE + 16, i * PIECE + 32), `piece ${i}`);
  });
  for (const p of held) cache.release(p);
  assert.ok(cache.heldBytes <= bound);
  // Once released, chunks are read whole again.
  const reads = cache.reads;
  const again = await cache.acquire(100, 0, 16);
  assert.equal(cache.reads, reads + 1);
  assert.equal(again.chunk?.pins, 1);
  cache.release(again);
});
