/**
 * BEP 52 answers do not wait for the disk: a `hashes` or `hash reject` given while a served block
 * waits for its read leaves ahead of that block (as libtorrent answers a hash request from memory
 * at once), whole and never inside the block's frame, which then follows intact; a `have` given
 * after the waiting block still waits behind it. Plain, and under MSE's RC4, whose keystream must
 * follow the bytes in the order they reach the socket. Under an upload limit the answers also leave
 * ahead of a block already read that waits for its tokens, while it waits (they take none), and the
 * send queue still counts itself held by the limit. Real loopback TCP and a real TokenBucket; the
 * blocks come from an in-memory BlockSource whose reads land only when the test says so.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { Rc4 } from '../../../src/net/rc4.js';
import { SendQueue } from '../../../src/net/send-queue.js';
import { TokenBucket } from '../../../src/net/token-bucket.js';
import type { BlockSource, PinnedBlock } from '../../../src/storage/read-cache.js';
import type { Hashes, HashReject, WireItem } from '../../../src/wire/messages.js';
import { WireDecoder } from '../../../src/wire/wire-decoder.js';
import { socketPair as loopbackPair } from '../../helpers/socket-pair.js';

const PIECE = 32768;
const BLOCK = 16384;

/** A loopback TCP pair (test/helpers/socket-pair.ts), closed when the test ends. */
async function socketPair(t: { after(fn: () => void): void }): Promise<[Socket, Socket]> {
  const [a, b, close] = await loopbackPair();
  t.after(close);
  return [a, b];
}

/**
 * Blocks of an in-memory payload, each read landing when `land()` is called (a disk that is slow
 * for as long as the test wants); counts the blocks pinned.
 */
class HeldSource implements BlockSource {
  readonly #payload: Uint8Array;
  readonly #reads: (() => void)[] = [];
  pinned = 0;

  constructor(payload: Uint8Array) {
    this.#payload = payload;
  }

  acquire(index: number, begin: number, length: number): Promise<PinnedBlock> {
    const at = index * PIECE + begin;
    return new Promise((resolve) => {
      this.#reads.push(() => {
        this.pinned++;
        resolve({ block: this.#payload.subarray(at, at + length), chunk: undefined });
      });
    });
  }

  release(): void {
    this.pinned--;
  }

  /** Reads waiting to land. */
  get waiting(): number {
    return this.#reads.length;
  }

  /** The oldest waiting read lands. */
  land(): void {
    this.#reads.shift()?.();
  }
}

/** Resolves once `done()` holds; fails after `ms` (a bound on a hang, not a measured time). */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const payload = Uint8Array.from({ length: 4 * PIECE }, (_, i) => (i * 31 + (i >> 8)) & 255);
const root = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
const range = { piecesRoot: root, baseLayer: 1, index: 0, proofLayers: 1 };
const hashesOf = (n: number): Hashes => ({
  type: 'hashes',
  ...range,
  length: n,
  hashes: Uint8Array.from({ length: 32 * (n + 1) }, (_, i) => (i * 7) & 255), // n hashes, one uncle
});
const hashReject: HashReject = { type: 'hashReject', ...range, index: 2, length: 2 };

/** What the peer end decodes (decrypted first when a cipher is given), each message kept whole. */
function peerEnd(inn: Socket, decrypt?: Rc4): WireItem[] {
  const received: WireItem[] = [];
  const decoder = new WireDecoder({ expectHandshake: false });
  inn.on('data', (chunk: Buffer) => {
    if (decrypt !== undefined) decrypt.applyTo(chunk, chunk);
    decoder.push(chunk, (m) => {
      if (m.type === 'piece') received.push({ ...m, block: Uint8Array.from(m.block) });
      else if (m.type === 'hashes')
        received.push({ ...m, piecesRoot: Uint8Array.from(m.piecesRoot), hashes: Uint8Array.from(m.hashes) });
      else if (m.type === 'hashReject') received.push({ ...m, piecesRoot: Uint8Array.from(m.piecesRoot) });
      else received.push(m);
    });
  });
  return received;
}

const named = (m: WireItem) =>
  m.type === 'piece' || m.type === 'have'
    ? `${m.type} ${m.index}${m.type === 'piece' ? `:${m.begin}` : ''}`
    : m.type;

/**
 * unchoke, a served block whose read is held, a have, then a hashes answer and a hash reject: the
 * answers reach the peer before the block; once the read lands the block follows intact, then the have.
 */
async function answersAheadOfAHeldRead(
  t: { after(fn: () => void): void },
  hashes: Hashes,
  cipher?: { encrypt: Rc4; decrypt: Rc4 },
) {
  const [out, inn] = await socketPair(t);
  const source = new HeldSource(payload);
  let served = 0;
  const queue = new SendQueue(out, {
    source,
    onCongestion: () => {},
    onServed: (n) => {
      served += n;
    },
    onReadError: (err) => assert.fail(String(err)),
  });
  t.after(() => queue.close());
  const received = peerEnd(inn, cipher?.decrypt);
  if (cipher !== undefined) queue.encryptWith(cipher.encrypt);

  queue.send({ type: 'unchoke' });
  queue.serve([{ index: 1, begin: BLOCK, length: BLOCK }]);
  queue.send({ type: 'have', index: 3 });
  queue.send(hashes);
  queue.send(hashReject);
  await until(() => received.length >= 3, 5000, 'the answers while the block is being read');
  assert.equal(source.waiting, 1, 'the block is still being read');
  assert.deepEqual(received.map(named), ['unchoke', 'hashes', 'hashReject']);
  assert.deepEqual(received[1], hashes);
  assert.deepEqual(received[2], hashReject);

  source.land();
  await until(() => received.length >= 5, 5000, 'the block and the have');
  assert.deepEqual(received.map(named), ['unchoke', 'hashes', 'hashReject', `piece 1:${BLOCK}`, 'have 3']);
  const piece = received[3] as Extract<WireItem, { type: 'piece' }>;
  assert.deepEqual(piece.block, payload.subarray(PIECE + BLOCK, PIECE + 2 * BLOCK), 'the block intact');
  await until(() => source.pinned === 0, 5000, 'the block to be released');
  assert.equal(served, 1);
}

test('hashes and hash reject leave ahead of a block still being read; the block follows intact, a have given after it still behind it', async (t) => {
  await answersAheadOfAHeldRead(t, hashesOf(2));
});

test('under RC4: the answers ahead of a held block decrypt on the other side, then the block and the have', async (t) => {
  // 512 hashes (16 KiB, larger than a packing chunk: a buffer of its own) as a piece layer's run.
  const key = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
  const encrypt = new Rc4(key);
  const decrypt = new Rc4(key);
  encrypt.skip(1024);
  decrypt.skip(1024);
  await answersAheadOfAHeldRead(t, hashesOf(512), { encrypt, decrypt });
});

/**
 * Under an upload limit of one block's tokens: unchoke, two served blocks, a have; both reads land,
 * the first block takes the tokens and leaves, the second waits for its own; then a hashes answer and
 * a hash reject. They reach the peer while that block still waits, and the queue still says it is
 * held by the limit; the block then follows intact once its tokens come (`refill`), then the have.
 * Without `refill` the tokens never come: the queue is ended, and the peer got exactly the unchoke,
 * the first block and the answers (nothing behind the waiting block).
 */
async function answersAheadOfABlockWaitingForTokens(
  t: { after(fn: () => void): void },
  hashes: Hashes,
  opts: { refill: boolean; cipher?: { encrypt: Rc4; decrypt: Rc4 } },
) {
  const [out, inn] = await socketPair(t);
  const source = new HeldSource(payload);
  // A real bucket holding one block's tokens, whose clock stands still until the test moves it: no
  // token comes before then. Its rate sets only how soon the queue's timer looks again: in 1 ms
  // (a block a millisecond) when the tokens are to come, else in ~19 days (1 byte in 100 s).
  let now = 0;
  const rate = opts.refill ? BLOCK * 1000 : 0.01;
  const uploadLimit = new TokenBucket(rate, { capacity: BLOCK, now: () => now });
  let served = 0;
  let congested = false;
  const queue = new SendQueue(out, {
    source,
    uploadLimit,
    onCongestion: (c) => {
      congested = c;
    },
    onServed: (n) => {
      served += n;
    },
    onReadError: (err) => assert.fail(String(err)),
  });
  t.after(() => queue.close());
  const received = peerEnd(inn, opts.cipher?.decrypt);
  const ended = new Promise<void>((r) => inn.once('end', r));
  if (opts.cipher !== undefined) queue.encryptWith(opts.cipher.encrypt);

  queue.send({ type: 'unchoke' });
  queue.serve([
    { index: 0, begin: 0, length: BLOCK },
    { index: 2, begin: BLOCK, length: BLOCK },
  ]);
  queue.send({ type: 'have', index: 3 });
  source.land();
  source.land();
  await Promise.resolve(); // the queue's answers to both reads run first: block 0:0 written, 2:BLOCK held
  assert.equal(source.pinned, 2, 'both blocks read');
  queue.send(hashes);
  queue.send(hashReject);
  await until(() => received.length >= 4, 5000, 'the answers while the block waits for its tokens');
  assert.deepEqual(received.map(named), ['unchoke', 'piece 0:0', 'hashes', 'hashReject']);
  assert.deepEqual(received[2], hashes);
  assert.deepEqual(received[3], hashReject);
  assert.equal(served, 1);
  assert.equal(congested, true, 'still held by the upload limit');

  if (opts.refill) {
    now += 1; // a millisecond: the second block's tokens are there, for the limit's timer to find
    await until(() => received.length >= 6, 5000, 'the block and the have once the tokens are there');
    assert.deepEqual(received.map(named), [
      'unchoke',
      'piece 0:0',
      'hashes',
      'hashReject',
      `piece 2:${BLOCK}`,
      'have 3',
    ]);
    const piece = received[4] as Extract<WireItem, { type: 'piece' }>;
    assert.deepEqual(
      piece.block,
      payload.subarray(2 * PIECE + BLOCK, 2 * PIECE + 2 * BLOCK),
      'the block intact',
    );
    await until(() => source.pinned === 0 && served === 2, 5000, 'both blocks served and released');
    return;
  }
  queue.end(); // what is ready leaves; the block still waiting for its tokens is dropped
  await ended;
  assert.deepEqual(received.map(named), ['unchoke', 'piece 0:0', 'hashes', 'hashReject']);
  const piece = received[1] as Extract<WireItem, { type: 'piece' }>;
  assert.deepEqual(piece.block, payload.subarray(0, BLOCK), 'the block intact');
  await until(() => source.pinned === 0, 5000, 'both blocks released');
}

test('under an upload limit: hashes and hash reject leave ahead of a block waiting for its tokens, while it waits; nothing behind that block leaves', async (t) => {
  await answersAheadOfABlockWaitingForTokens(t, hashesOf(2), { refill: false });
});

test('under an upload limit and RC4: the answers leave ahead of a block waiting for its tokens, which follows intact once they come, then the have', async (t) => {
  const key = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
  const encrypt = new Rc4(key);
  const decrypt = new Rc4(key);
  encrypt.skip(1024);
  decrypt.skip(1024);
  await answersAheadOfABlockWaitingForTokens(t, hashesOf(512), {
    refill: true,
    cipher: { encrypt, decrypt },
  });
});
