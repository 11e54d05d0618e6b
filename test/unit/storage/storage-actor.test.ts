import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createActor, createMachine, sendTo } from 'xstate';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { storageActor } from '../../../src/storage/storage-actor.js';
import type { StorageCommand, StorageNotification } from '../../../src/storage/storage-events.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

/** A parent that forwards commands to `storage` and records what comes back. */
function harness(store: PieceStore) {
  const seen: StorageNotification[] = [];
  const parent = createMachine({
    types: {} as { events: StorageCommand | StorageNotification | { type: 'fwd'; cmd: StorageCommand } },
    invoke: { id: 'storage', src: storageActor(store) },
    on: {
      fwd: { actions: sendTo('storage', ({ event }) => event.cmd) },
      'piece.verified': { actions: ({ event }) => seen.push(event) },
      'pieces.verified': { actions: ({ event }) => seen.push(event) },
      'piece.hashFailed': { actions: ({ event }) => seen.push(event) },
      'storage.error': { actions: ({ event }) => seen.push(event) },
    },
  });
  const actor = createActor(parent).start();
  return { seen, send: (cmd: StorageCommand) => actor.send({ type: 'fwd', cmd }), stop: () => actor.stop() };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('verify sent right after the writes waits for them: verified / hashFailed / error', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-actor-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  // Many small blocks so the verify would overtake unfinished writes if it did not wait.
  const pieceLength = 1 << 16;
  const payload = payloadBytes(pieceLength * 3, 21);
  const files = [
    { path: ['x'], length: 80_000 },
    { path: ['y'], length: 3 * pieceLength - 80_000 },
  ];
  const torrent = makeTorrent('a', files, pieceLength, payload);
  const store = await PieceStore.open(torrent, out);
  const h = harness(store);
  try {
    for (let index = 0; index < 2; index++) {
      for (let begin = 0; begin < pieceLength; begin += 16) {
        const at = index * pieceLength + begin;
        const block = Uint8Array.from(payload.subarray(at, at + 16));
        if (index === 1 && begin === 128) block[0]! ^= 0xff; // piece 1 gets a bad block
        h.send({ type: 'storage.write', blocks: [{ index, begin, block }] });
      }
      h.send({ type: 'storage.verify', index });
    }
    h.send({ type: 'storage.write', blocks: [{ index: 2, begin: pieceLength, block: new Uint8Array(1) }] });
    await until(() => h.seen.length === 3);
    const sorted = [...h.seen].sort((a, b) => (a.type < b.type ? -1 : 1));
    // The failed piece comes with the hash of each of its 16 KiB blocks (the default) as written.
    const failed = Uint8Array.from(payload.subarray(pieceLength, 2 * pieceLength));
    failed[128]! ^= 0xff;
    const blockHashes = new Uint8Array(4 * 20);
    for (let b = 0; b < 4; b++)
      blockHashes.set(
        createHash('sha1')
          .update(failed.subarray(b * 16384, (b + 1) * 16384))
          .digest(),
        b * 20,
      );
    assert.deepEqual(sorted, [
      { type: 'piece.hashFailed', index: 1, blockHashes },
      { type: 'piece.verified', index: 0 },
      {
        type: 'storage.error',
        code: 'badRange',
        index: 2,
        message: sorted[2]?.type === 'storage.error' ? sorted[2].message : '',
      },
    ]);
  } finally {
    h.stop();
    await store.close();
  }
  // Piece 0 (the first 64 KiB of x) is on disk exactly.
  const x = new Uint8Array(await readFile(join(out, 'a', 'x')));
  assert.deepEqual(x.subarray(0, pieceLength), payload.subarray(0, pieceLength));
});

test('pieces verified in one turn are told as one pieces.verified', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-actor-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const pieceLength = 64;
  const payload = payloadBytes(pieceLength * 3, 22);
  const torrent = makeTorrent('p', [{ path: ['p'], length: payload.length }], pieceLength, payload, false);
  const store = await PieceStore.open(torrent, out, { writeMode: 'sync' });
  const h = harness(store);
  try {
    for (let index = 0; index < 3; index++) {
      const at = index * pieceLength;
      h.send({
        type: 'storage.write',
        blocks: [{ index, begin: 0, block: payload.slice(at, at + pieceLength) }],
      });
    }
    for (let index = 0; index < 3; index++) h.send({ type: 'storage.verify', index });
    await until(() => h.seen.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(h.seen, [{ type: 'pieces.verified', indexes: [0, 1, 2] }]);
  } finally {
    h.stop();
    await store.close();
  }
});
