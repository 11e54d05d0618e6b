/**
 * The blocks of a failed piece read back for the ban rule (src/storage/block-hashes.ts): the hash of
 * each block as it failed, read before the failure is told — a block of the next attempt written
 * the moment it is told cannot be what was hashed — and once the piece passes, as it passed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createActor, createMachine, sendTo } from 'xstate';
import { hashBlocks } from '../../../src/storage/block-hashes.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { storageActor } from '../../../src/storage/storage-actor.js';
import type { StorageCommand, StorageNotification } from '../../../src/storage/storage-events.js';
import { makeTorrent, payloadBytes, zeroPadding } from './make-torrent.js';

const BLOCK = 1024;

/** The SHA-1 of each BLOCK of `piece`, concatenated: what the storage answers. */
function expected(piece: Uint8Array): Uint8Array {
  const n = Math.ceil(piece.length / BLOCK);
  const out = new Uint8Array(n * 20);
  for (let b = 0; b < n; b++)
    out.set(
      createHash('sha1')
        .update(piece.subarray(b * BLOCK, (b + 1) * BLOCK))
        .digest(),
      b * 20,
    );
  return out;
}

test('hashBlocks: each block of a piece across files, padding as zeros, the last block short', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-blockhash-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const pieceLength = 4 * BLOCK;
  const specs = [
    { path: ['a'], length: 5000 },
    { path: ['.pad', '1'], length: 1000, padding: true },
    { path: ['b'], length: 2 * pieceLength + 700 - 6000 },
  ];
  const payload = zeroPadding(payloadBytes(2 * pieceLength + 700, 5), specs);
  const torrent = makeTorrent('t', specs, pieceLength, payload);
  const store = await PieceStore.open(torrent, out);
  try {
    for (let begin = 0; begin < payload.length; begin += BLOCK) {
      const index = Math.floor(begin / pieceLength);
      const block = payload.slice(begin, Math.min(payload.length, begin + BLOCK));
      await store.writeBlock(index, begin - index * pieceLength, block);
    }
    for (let index = 0; index < 3; index++) {
      const piece = payload.subarray(index * pieceLength, (index + 1) * pieceLength);
      assert.deepEqual(await hashBlocks(store, index, BLOCK), expected(piece), `piece ${index}`);
    }
  } finally {
    await store.close();
  }
});

test('a failed piece is told with its blocks as they failed, never a block written after', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-blockhash-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const pieceLength = 8 * BLOCK;
  const payload = payloadBytes(2 * pieceLength, 9);
  const torrent = makeTorrent('f', [{ path: ['f'], length: payload.length }], pieceLength, payload, false);
  const store = await PieceStore.open(torrent, out, { writeMode: 'sync' });
  const goodBlock3 = payload.slice(pieceLength + 3 * BLOCK, pieceLength + 4 * BLOCK);
  const seen: StorageNotification[] = [];
  // The parent plays the torrent machine: the moment it hears of the failure it writes the next
  // attempt's block 3 (the good one) and verifies again; then it asks for the blocks as they passed.
  const parent = createMachine({
    types: {} as { events: StorageNotification | { type: 'fwd'; cmd: StorageCommand } },
    invoke: { id: 'storage', src: storageActor(store), input: { blockLength: BLOCK } as never },
    on: {
      fwd: { actions: sendTo('storage', ({ event }) => event.cmd) },
      'piece.hashFailed': {
        actions: [
          ({ event }) => seen.push(event),
          sendTo('storage', {
            type: 'storage.write',
            blocks: [{ index: 1, begin: 3 * BLOCK, block: goodBlock3 }],
          }),
          sendTo('storage', { type: 'storage.verify', index: 1 }),
        ],
      },
      'piece.verified': {
        actions: [
          ({ event }) => seen.push(event),
          sendTo('storage', { type: 'storage.hashBlocks', index: 1 }),
        ],
      },
      'piece.blockHashes': { actions: ({ event }) => seen.push(event) },
      'storage.error': { actions: ({ event }) => seen.push(event) },
    },
  });
  const actor = createActor(parent).start();
  try {
    // Piece 1 arrives last block first (the digests hold the blocks that came ahead of their turn),
    // block 3 spoiled.
    const spoiled = payload.slice(pieceLength, 2 * pieceLength);
    spoiled[3 * BLOCK + 17]! ^= 0x01;
    for (let b = 7; b >= 0; b--) {
      const block = spoiled.slice(b * BLOCK, (b + 1) * BLOCK);
      actor.send({
        type: 'fwd',
        cmd: { type: 'storage.write', blocks: [{ index: 1, begin: b * BLOCK, block }] },
      });
    }
    actor.send({ type: 'fwd', cmd: { type: 'storage.verify', index: 1 } });
    const end = Date.now() + 5000;
    while (seen.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const good = expected(payload.subarray(pieceLength));
    const bad = expected(spoiled);
    assert.deepEqual(seen, [
      { type: 'piece.hashFailed', index: 1, blockHashes: bad },
      { type: 'piece.verified', index: 1 },
      { type: 'piece.blockHashes', index: 1, hashes: good },
    ]);
    // Only block 3 differs between the two.
    for (let b = 0; b < 8; b++)
      assert.equal(
        Buffer.from(bad.subarray(b * 20, b * 20 + 20)).equals(good.subarray(b * 20, b * 20 + 20)),
        b !== 3,
        `block ${b}`,
      );
  } finally {
    actor.stop();
    await store.close();
  }
});
