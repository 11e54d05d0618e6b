/**
 * The write half of a connection: served blocks and messages leave in the machine's order, block
 * bytes come from the read cache exactly, every pin is released once the socket took the bytes,
 * and `onServed` counts the written blocks once a tick; what waits unsent for a peer that never
 * reads pauses reading (`onReadPause`) and is bounded. Real loopback TCP, a real PieceStore.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PEER_LIMITS } from '../../../machines/peer.types.js';
import { READ_PAUSE_BYTES, READ_RESUME_BYTES, SendQueue } from '../../../src/net/send-queue.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { ReadCache } from '../../../src/storage/read-cache.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { WireDecoder } from '../../../src/wire/wire-decoder.js';
import { socketPair as loopbackPair } from '../../helpers/socket-pair.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 32768;
const BLOCK = 16384;

/** A loopback TCP pair (test/helpers/socket-pair.ts), closed when the test ends. */
async function socketPair(t: { after(fn: () => void): void }): Promise<[Socket, Socket]> {
  const [a, b, close] = await loopbackPair();
  t.after(close);
  return [a, b];
}

/** A store under a temporary folder holding `pieces` pieces of a payload, every piece written. */
async function storeWithPieces(t: { after(fn: () => unknown): void }, pieces: number, seed: number) {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-send-queue-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = payloadBytes(pieces * PIECE, seed);
  const torrent = makeTorrent('q', [{ path: ['q.bin'], length: payload.length }], PIECE, payload, false);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 0 });
  t.after(() => store.close());
  for (let i = 0; i < pieces; i++) await store.writeBlock(i, 0, payload.subarray(i * PIECE, (i + 1) * PIECE));
  return { store, payload };
}

test('served blocks and messages leave in order, bytes exact, pins released, counted once a tick', async (t) => {
  const { store, payload } = await storeWithPieces(t, 4, 9);
  const cache = new ReadCache(store, PIECE); // one chunk: serving piece 2 evicts piece 1
  const [out, inn] = await socketPair(t);

  const served: number[] = [];
  const queue = new SendQueue(out, {
    source: cache,
    onCongestion: () => {},
    onServed: (n) => served.push(n),
    onReadError: (err) => assert.fail(String(err)),
  });
  const received: WireItem[] = [];
  const decoder = new WireDecoder({ expectHandshake: false });
  inn.on('data', (chunk: Buffer) => {
    decoder.push(chunk, (m) => {
      received.push(m.type === 'piece' ? { ...m, block: Uint8Array.from(m.block) } : m);
    });
  });

  queue.send({ type: 'unchoke' });
  queue.serve([
    { index: 1, begin: 0, length: BLOCK },
    { index: 1, begin: BLOCK, length: BLOCK },
  ]);
  queue.send({ type: 'have', index: 3 }); // after the blocks, though they are still being read
  queue.serve([{ index: 2, begin: BLOCK, length: BLOCK }]);
  queue.send({ type: 'choke' });
  while (received.length < 6) await new Promise((r) => setTimeout(r, 5));

  assert.deepEqual(
    received.map((m) => (m.type === 'piece' ? `piece ${m.index}:${m.begin}` : m.type)),
    ['unchoke', 'piece 1:0', `piece 1:${BLOCK}`, 'have', `piece 2:${BLOCK}`, 'choke'],
  );
  for (const m of received)
    if (m.type === 'piece') {
      const at = m.index * PIECE + m.begin;
      assert.deepEqual(m.block, payload.subarray(at, at + BLOCK), `bytes of ${m.index}:${m.begin}`);
    }
  assert.equal(
    served.reduce((a, b) => a + b, 0),
    3,
  );
  assert.equal(cache.reads, 2, 'one read per piece');
  // Piece 1 was evicted while pinned; released after the write, its buffer was freed for reuse.
  cache.release(await cache.acquire(3, 0, BLOCK));
  assert.equal(cache.allocations, 2, 'piece 3 was read into piece 1’s released buffer');
  queue.close();
});

test('without a block source, serve is a read error (nothing is sent)', async (t) => {
  const [out] = await socketPair(t);
  const errors: unknown[] = [];
  const queue = new SendQueue(out, {
    onCongestion: () => {},
    onServed: () => assert.fail('nothing was served'),
    onReadError: (err) => errors.push(err),
  });
  queue.serve([{ index: 0, begin: 0, length: BLOCK }]);
  assert.equal(errors.length, 1);
  queue.close();
});

test('a batch of requests leaves as request messages, in order, behind blocks still being read', async (t) => {
  const { store } = await storeWithPieces(t, 2, 5);
  const [out, inn] = await socketPair(t);
  const queue = new SendQueue(out, {
    source: new ReadCache(store, PIECE),
    onCongestion: () => {},
    onServed: () => {},
    onReadError: (err) => assert.fail(String(err)),
  });
  const received: string[] = [];
  const decoder = new WireDecoder({ expectHandshake: false });
  inn.on('data', (chunk: Buffer) => {
    decoder.push(chunk, (m) => {
      received.push(m.type === 'request' ? `request ${m.index}:${m.begin}:${m.length}` : m.type);
    });
  });

  // Nothing ahead: one buffer for the batch.
  queue.sendRequests([
    { index: 0, begin: 0, length: BLOCK },
    { index: 0, begin: BLOCK, length: BLOCK },
  ]);
  // Behind a block being read: queued, and still after it on the wire.
  queue.serve([{ index: 1, begin: 0, length: BLOCK }]);
  queue.sendRequests([{ index: 1, begin: BLOCK, length: 100 }]);
  while (received.length < 4) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(received, [
    `request 0:0:${BLOCK}`,
    `request 0:${BLOCK}:${BLOCK}`,
    'piece',
    `request 1:${BLOCK}:100`,
  ]);
});

/** Writes the socket was given and has not started (each a write request of Node's). */
function waitingWrites(socket: Socket): number {
  return (socket as unknown as { writableBuffer: readonly unknown[] }).writableBuffer.length;
}

/** Resolves once `done()` holds; fails after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A queue on a socket whose peer reads nothing until `read()`; the pauses it asked for, in order. */
async function neverReading(t: { after(fn: () => void): void }) {
  const [out, inn] = await socketPair(t);
  inn.pause(); // the peer reads nothing until read()
  const pauses: boolean[] = [];
  let unsentAtResume = 0;
  const queue: SendQueue = new SendQueue(out, {
    onCongestion: () => {},
    onServed: () => {},
    onReadError: (err) => assert.fail(String(err)),
    onReadPause: (paused) => {
      pauses.push(paused);
      if (!paused) unsentAtResume = queue.unsentBytes;
    },
  });
  t.after(() => queue.close());
  let received = 0;
  /** The peer reads from now on: answers the bytes it got and the unsent bytes when reading resumed. */
  const read = async (sentBytes: number) => {
    inn.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    inn.resume();
    await until(() => pauses.length === 2, 10_000, 'reading to resume');
    await until(() => received === sentBytes, 10_000, 'every byte to arrive');
    return unsentAtResume;
  };
  return { out, queue, pauses, read };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a peer that never reads: haves never pause reading, rejects pause it past READ_PAUSE_REJECTS; it reads, reading resumes', async (t) => {
  const { out, queue, pauses, read } = await neverReading(t);
  let sentBytes = 0;

  // 20,000 haves over 40 ticks (4,096 unsent messages used to pause reading): packed, they cost
  // their 180 KB in shared buffers and a write request or two, not a buffer and a request each.
  for (let turn = 0; turn < 40; turn++) {
    for (let i = 0; i < 500; i++) queue.send({ type: 'have', index: turn * 500 + i });
    sentBytes += 500 * 9;
    await tick();
  }
  assert.deepEqual(pauses, [], 'haves count by their bytes');
  assert.ok(waitingWrites(out) <= 2, `write requests waiting: ${waitingWrites(out)}`);

  // The answers to one 64 KiB read of requests per tick, as to a flood past our queue's cap, until
  // the kernel's buffers are full and more than READ_PAUSE_REJECTS wait here.
  const reject = { type: 'reject', index: 0, begin: 0, length: BLOCK } as const;
  const perRead = Math.floor((64 * 1024) / 17);
  let turns = 0;
  for (; pauses.length === 0 && turns < 2000; turns++) {
    for (let i = 0; i < perRead; i++) queue.send(reject);
    sentBytes += perRead * 17;
    await tick();
  }
  t.diagnostic(
    `paused after ${turns} reads: unsent ${queue.unsentBytes} bytes, ${waitingWrites(out)} write requests`,
  );
  assert.deepEqual(pauses, [true], 'paused on rejects');
  assert.ok(queue.unsentBytes < READ_PAUSE_BYTES, `well under the byte mark: ${queue.unsentBytes}`);
  assert.ok(waitingWrites(out) <= 4, `write requests waiting: ${waitingWrites(out)}`);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pauses, [true], 'still paused while the peer reads nothing');

  // The peer reads: what waits drains, reading resumes, every byte arrives.
  assert.ok((await read(sentBytes)) <= READ_RESUME_BYTES);
  assert.deepEqual(pauses, [true, false]);
  assert.equal(queue.unsentBytes, 0);
});

test('a peer that never reads: large messages pause reading past READ_PAUSE_BYTES with what waits bounded; it reads, reading resumes', async (t) => {
  const { out, queue, pauses, read } = await neverReading(t);
  let sentBytes = 0;
  // 64 KiB messages, as an answer to each read would be, until the kernel's buffers are full and what
  // waits passes READ_PAUSE_BYTES; the caller stops reading, so no more answers come.
  const big = { type: 'bitfield', bitfield: new Uint8Array(64 * 1024) } as const;
  for (let turn = 0; pauses.length === 0 && turn < 400; turn++) {
    queue.send(big);
    sentBytes += 5 + big.bitfield.length;
    await tick();
  }
  assert.deepEqual(pauses, [true], 'paused on bytes');
  assert.ok(
    queue.unsentBytes > READ_PAUSE_BYTES && queue.unsentBytes <= READ_PAUSE_BYTES + 64 * 1024 + 5,
    `unsent bytes bounded: ${queue.unsentBytes} (socket ${out.writableLength})`,
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pauses, [true], 'still paused while the peer reads nothing');
  assert.ok((await read(sentBytes)) <= READ_RESUME_BYTES);
  assert.deepEqual(pauses, [true, false]);
  assert.equal(queue.unsentBytes, 0);
});

test('serving alone never pauses reading: a reader that reads nothing holds at most the high-water mark and a read window', async (t) => {
  const { store } = await storeWithPieces(t, 4, 3);
  const [out, inn] = await socketPair(t);
  inn.pause(); // a slow downloader at its slowest
  const pauses: boolean[] = [];
  let congested = false;
  let handed = 0; // blocks handed over and not yet written: the machine's read window
  const window = DEFAULT_PEER_LIMITS.readWindow;
  const queue: SendQueue = new SendQueue(out, {
    source: new ReadCache(store, PIECE),
    // As the peer machine: serve nothing while congested, at most readWindow unwritten.
    onCongestion: (now) => {
      congested = now;
      if (!now) topUp();
    },
    onServed: (n) => {
      handed -= n;
      topUp();
    },
    onReadError: (err) => assert.fail(String(err)),
    onReadPause: (paused) => pauses.push(paused),
  });
  t.after(() => queue.close());
  let next = 0;
  function topUp(): void {
    const blocks = [];
    while (!congested && handed + blocks.length < window) {
      blocks.push({ index: next % 4, begin: ((next >> 2) % 2) * BLOCK, length: BLOCK });
      next++;
    }
    handed += blocks.length;
    if (blocks.length > 0) queue.serve(blocks);
  }
  topUp();
  // The kernel's buffers fill (a few MiB on loopback), then the socket's, until congested for good.
  await until(() => congested && handed === 0, 10_000, 'serving to stop at the high-water mark');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(congested && handed === 0);
  t.diagnostic(`unsent while congested: ${out.writableLength} bytes`);
  assert.deepEqual(pauses, [], 'reading never paused');
  assert.ok(out.writableLength <= READ_PAUSE_BYTES, `unsent ${out.writableLength}`);
});

test('thousands of haves behind served blocks to a reader that reads nothing never pause reading, and leave in order', async (t) => {
  const { store } = await storeWithPieces(t, 4, 7);
  const [out, inn] = await socketPair(t);
  inn.pause(); // a slow downloader at its slowest
  const pauses: boolean[] = [];
  let congested = false;
  let handed = 0; // blocks handed over and not yet written: the machine's read window
  let filling = true;
  const queue: SendQueue = new SendQueue(out, {
    source: new ReadCache(store, PIECE),
    // As the peer machine while filling: serve nothing while congested, at most readWindow unwritten.
    // (A window handed on a timer, whether congested or not, once made this test fail under load:
    // two windows unsent, 4.2 MB, past READ_PAUSE_BYTES before a single have.)
    onCongestion: (now) => {
      congested = now;
      if (!now) topUp();
    },
    onServed: (n) => {
      handed -= n;
      topUp();
    },
    onReadError: (err) => assert.fail(String(err)),
    onReadPause: (paused) => pauses.push(paused),
  });
  t.after(() => queue.close());
  let served = 0;
  const serve = (from: number, n: number) => {
    const blocks = Array.from({ length: n }, (_, i) => ({
      index: (from + i) % 4,
      begin: (((from + i) >> 2) % 2) * BLOCK,
      length: BLOCK,
    }));
    handed += n;
    served += n;
    queue.serve(blocks);
  };
  function topUp(): void {
    if (!filling || congested) return;
    const n = DEFAULT_PEER_LIMITS.readWindow - handed;
    if (n > 0) serve(served, n);
  }
  // Serve until the kernel's buffers are full and the socket congested, every block written.
  topUp();
  await until(() => congested && handed === 0, 10_000, 'serving to stop at the high-water mark');
  filling = false;
  // A fast download of 16 KiB pieces completes 6,000 of them: 6,000 haves, then a block more.
  const HAVES = 6000;
  for (let i = 0; i < HAVES; i++) queue.send({ type: 'have', index: i });
  serve(served, 1);
  await until(() => handed === 0, 10_000, 'the last block to be written behind the haves');
  t.diagnostic(`unsent ${queue.unsentBytes} bytes in ${waitingWrites(out)} write requests`);
  assert.deepEqual(pauses, [], 'reading never paused');
  assert.ok(queue.unsentBytes <= READ_PAUSE_BYTES, `unsent ${queue.unsentBytes}`);

  // The reader reads: every block, then the haves, then the last block.
  const seen: string[] = [];
  const decoder = new WireDecoder({ expectHandshake: false });
  inn.on('data', (chunk: Buffer) => {
    decoder.push(chunk, (m) => {
      const kind = m.type === 'have' ? `have ${m.index}` : m.type;
      if (seen.at(-1) !== kind || m.type === 'have') seen.push(kind);
    });
  });
  inn.resume();
  await until(() => seen.length === HAVES + 2, 10_000, 'everything to arrive');
  assert.deepEqual(seen, ['piece', ...Array.from({ length: HAVES }, (_, i) => `have ${i}`), 'piece']);
  assert.deepEqual(pauses, []);
});
