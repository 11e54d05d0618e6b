/**
 * The write half's wire order (src/net/packed-queue.ts, src/net/send-queue.ts) under any sequence of
 * messages, request batches and served blocks whose reads land in any order, with BEP 52 `hashes` and
 * `hash reject` answers given at any point: what leaves is the machine's order, but for each hash
 * answer, which goes ahead of the first block not yet written at the moment it is given — still being
 * read, or read and waiting for upload tokens — (and behind everything else, hash answers given
 * before it included): a hash answer is never behind a block not yet written.
 *
 * - PackedQueue alone, its items taken off as the send queue takes them (a block only once read, and
 *   not always at once, as under an upload limit): the bytes taken are exactly the model's frames,
 *   none split or interleaved; bytes handed out are never written again while more is packed (a
 *   chunk's span stays as it was while in flight); the bytes, rejects and blocks waiting are counted
 *   exactly at every step.
 * - SendQueue on real loopback TCP, plain or under MSE's RC4, with or without an upload limit (a real
 *   TokenBucket holding one to three blocks' tokens, at 1 byte in 100 s: no more come during a run):
 *   the peer decodes exactly the model's frames in that order; whenever the queue has settled,
 *   everything ahead of the first block not yet written has reached the peer (a hash answer never
 *   waits for a read or for tokens of a block it went ahead of), and under a limit nothing behind it;
 *   every block written is counted served once and every pin released, also when the queue is closed
 *   with blocks still being read or waiting for tokens.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BlockRef } from '../../machines/peer.types.js';
import { type Outgoing, PackedQueue } from '../../src/net/packed-queue.js';
import { Rc4 } from '../../src/net/rc4.js';
import { SendQueue } from '../../src/net/send-queue.js';
import { TokenBucket } from '../../src/net/token-bucket.js';
import type { BlockSource, PinnedBlock } from '../../src/storage/read-cache.js';
import { encodeMessage } from '../../src/wire/encode-message.js';
import type { WireMessage } from '../../src/wire/messages.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';
import { socketPair } from '../helpers/socket-pair.js';

const PIECE = 32768;
const payload = Uint8Array.from({ length: 2 * PIECE }, (_, i) => (i * 31 + (i >> 8)) & 255);
const root = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);

/** A message the machine may send; hash answers small (packed) or larger than a chunk (a buffer of their own). */
const messageArb: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.constantFrom<WireMessage>(
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'keepAlive' },
    { type: 'interested' },
  ),
  fc.nat(1000).map((index): WireMessage => ({ type: 'have', index })),
  fc
    .record({ index: fc.nat(9), begin: fc.nat(7) })
    .map(({ index, begin }): WireMessage => ({ type: 'reject', index, begin: begin * 16384, length: 16384 })),
  fc.record({ n: fc.constantFrom(1, 2, 4, 200), fill: fc.nat(255), index: fc.nat(64) }).map(
    ({ n, fill, index }): WireMessage => ({
      type: 'hashes',
      piecesRoot: root,
      baseLayer: 1,
      index,
      length: n,
      proofLayers: 0,
      hashes: new Uint8Array(32 * n).fill(fill),
    }),
  ),
  fc.nat(64).map(
    (index): WireMessage => ({
      type: 'hashReject',
      piecesRoot: root,
      baseLayer: 1,
      index,
      length: 2,
      proofLayers: 0,
    }),
  ),
);

/** A block of any length, whole (16 KiB, the usual block: an upload limit's tokens run out) as often as not. */
const blockArb = fc
  .record({
    index: fc.nat(1),
    length: fc.oneof(fc.integer({ min: 1, max: 16384 }), fc.constant(16384)),
    at: fc.nat(PIECE),
  })
  .map(({ index, length, at }): BlockRef => ({ index, begin: Math.min(at, PIECE - length), length }));

type Op =
  | { op: 'send'; message: WireMessage }
  | { op: 'requests'; blocks: BlockRef[] }
  | { op: 'serve'; blocks: { ref: BlockRef; cached: boolean }[] }
  | { op: 'land'; pick: number }
  | { op: 'settle' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: messageArb.map((message): Op => ({ op: 'send', message })) },
  {
    weight: 1,
    arbitrary: fc
      .array(blockArb, { minLength: 1, maxLength: 300 })
      .map((blocks): Op => ({ op: 'requests', blocks })),
  },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.record({ ref: blockArb, cached: fc.boolean() }), { minLength: 1, maxLength: 3 })
      .map((blocks): Op => ({ op: 'serve', blocks })),
  },
  { weight: 3, arbitrary: fc.nat().map((pick): Op => ({ op: 'land', pick })) },
  { weight: 2, arbitrary: fc.constant<Op>({ op: 'settle' }) },
);

/** A served block: its read landed or not, the block written (taken off the queue) or not. */
interface BlockState {
  landed: boolean;
  written: boolean;
}

/** What the wire must carry: frames in order, a served block known by its state. */
type Frame = { kind: 'message'; message: WireMessage } | { kind: 'block'; ref: BlockRef; state: BlockState };

const isHashAnswer = (m: WireMessage) => m.type === 'hashes' || m.type === 'hashReject';

/** Where the first block not yet written is in the model (its length when there is none). */
function firstUnwritten(model: Frame[]): number {
  const at = model.findIndex((f) => f.kind === 'block' && !f.state.written);
  return at === -1 ? model.length : at;
}

/**
 * A message given to the model: a hash answer ahead of the first block not yet written, anything
 * else at the end. Answers whether it went ahead of a block.
 */
function modelSend(model: Frame[], message: WireMessage): boolean {
  const frame: Frame = { kind: 'message', message };
  const at = isHashAnswer(message) ? firstUnwritten(model) : model.length;
  model.splice(at, 0, frame);
  return at < model.length - 1;
}

const blockBytes = (ref: BlockRef) =>
  payload.subarray(ref.index * PIECE + ref.begin, ref.index * PIECE + ref.begin + ref.length);
const frameHex = (f: Frame) =>
  Buffer.from(
    f.kind === 'message'
      ? encodeMessage(f.message)
      : encodeMessage({ type: 'piece', index: f.ref.index, begin: f.ref.begin, block: blockBytes(f.ref) }),
  ).toString('hex');
const messageBytes = (model: Frame[]) =>
  model.reduce((n, f) => n + (f.kind === 'message' ? encodeMessage(f.message).length : 0), 0);

test('PackedQueue: hash answers ahead of the first block not yet taken off, every frame whole, bytes in flight never rewritten, counts exact', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          { weight: 8, arbitrary: opArb },
          {
            weight: 3,
            arbitrary: fc.integer({ min: 1, max: 4 }).map((take) => ({ op: 'take' as const, take })),
          },
        ),
        { maxLength: 60 },
      ),
      (ops) => {
        const q = new PackedQueue();
        const model: Frame[] = [];
        /** Blocks queued whose reads have not landed, and their model frames' state. */
        const reading: { item: { pinned: PinnedBlock | undefined }; state: BlockState }[] = [];
        /** The model state of each block queued. */
        const states = new Map<Outgoing, BlockState>();
        let rejects = 0;
        let taken = 0; // message bytes taken off
        let takenRejects = 0;
        let takenBlocks = 0;
        let blocks = 0;
        const stream: string[] = []; // what was taken: bytes as hex, a block as its frame's hex
        const inFlight: { view: Buffer; copy: Buffer }[] = [];
        const take = (n: number) => {
          for (let i = 0; i < n; i++) {
            const item: Outgoing | undefined = q.first;
            if (item === undefined || (item.ref !== undefined && item.pinned === undefined)) return; // as #pump stops
            q.shift();
            if (item.ref === undefined) {
              const view = item.bytes.subarray(item.start, item.end);
              inFlight.push({ view, copy: Buffer.from(view) });
              stream.push(view.toString('hex'));
              taken += item.end - item.start;
              takenRejects += item.rejects;
            } else {
              stream.push(frameHex({ kind: 'block', ref: item.ref, state: { landed: true, written: true } }));
              states.get(item)!.written = true;
              takenBlocks++;
            }
          }
        };
        for (const o of ops) {
          if (o.op === 'send') {
            if (isHashAnswer(o.message)) q.messageAhead(o.message);
            else q.message(o.message);
            modelSend(model, o.message);
            if (o.message.type === 'reject') rejects++;
          } else if (o.op === 'requests') {
            q.requests(o.blocks);
            for (const ref of o.blocks) model.push({ kind: 'message', message: { type: 'request', ...ref } });
          } else if (o.op === 'serve') {
            for (const { ref, cached } of o.blocks) {
              const item = q.block(ref);
              const state = { landed: cached, written: false };
              states.set(item, state);
              if (cached) item.pinned = { block: blockBytes(ref), chunk: undefined };
              else reading.push({ item, state });
              model.push({ kind: 'block', ref, state });
              blocks++;
            }
          } else if (o.op === 'land') {
            const r = reading.splice(o.pick % Math.max(1, reading.length), 1)[0];
            if (r !== undefined) {
              r.item.pinned = { block: new Uint8Array(0), chunk: undefined }; // its bytes are the model's
              r.state.landed = true;
            }
          } else if (o.op === 'take') take(o.take);
          else take(Number.POSITIVE_INFINITY);
          assert.equal(q.bytes, messageBytes(model) - taken);
          assert.equal(q.rejects, rejects - takenRejects);
          assert.equal(q.blocks, blocks - takenBlocks);
        }
        for (const r of reading) {
          r.item.pinned = { block: new Uint8Array(0), chunk: undefined };
          r.state.landed = true;
        }
        take(Number.POSITIVE_INFINITY);
        assert.equal(q.first, undefined);
        assert.equal(q.bytes + q.rejects + q.blocks, 0);
        assert.equal(
          stream.join(''),
          model.map(frameHex).join(''),
          'the frames, whole and in the model order',
        );
        for (const { view, copy } of inFlight)
          assert.ok(view.equals(copy), 'bytes handed out were written again');
      },
    ),
    { numRuns: 400 },
  );
});

/**
 * Blocks of `payload`, read from memory at once (`cached`) or held until the test lands them, in any
 * order. Whether a block is cached is said per read, in the order they are asked for (the same block
 * served twice may be cached once and read once).
 */
class HeldSource implements BlockSource {
  readonly reads: { land: () => void; state: BlockState }[] = [];
  /** For each of the next reads, in order: whether its block is in memory. */
  cached: boolean[] = [];
  pinned = 0;

  acquire(index: number, begin: number, length: number): PinnedBlock | Promise<PinnedBlock> {
    const pinned = { block: blockBytes({ index, begin, length }), chunk: undefined };
    if (this.cached.shift() === true) {
      this.pinned++;
      return pinned;
    }
    return new Promise((resolve) => {
      this.reads.push({
        land: () => {
          this.pinned++;
          resolve(pinned);
        },
        state: { landed: false, written: false },
      });
    });
  }

  release(): void {
    this.pinned--;
  }
}

/** Resolves once `done()` holds; fails after `ms` (a bound on a hang, not a measured time). */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('SendQueue over loopback, plain or RC4, with or without an upload limit: the peer decodes the model frames; what is ahead of the first block not yet written has left; pins released', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 30, size: '+1' }),
      fc.boolean(),
      fc.boolean(),
      fc.oneof(fc.constant(undefined), fc.integer({ min: 16384, max: 3 * 16384 })),
      async (ops, rc4, closeEarly, limit) => {
        const [out, inn, stop] = await socketPair();
        let queue: SendQueue | undefined;
        try {
          const source = new HeldSource();
          let served = 0;
          // 1 byte in 100 s: no token comes during a run, and the queue's timer is ~19 days away.
          const uploadLimit = limit === undefined ? undefined : new TokenBucket(0.01, { capacity: limit });
          queue = new SendQueue(out, {
            source,
            uploadLimit,
            onCongestion: () => {},
            onServed: (n) => {
              served += n;
            },
            onReadError: (err) => assert.fail(String(err)),
          });
          const key = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
          const decrypt = new Rc4(key);
          if (rc4) queue.encryptWith(new Rc4(key));
          const received: string[] = [];
          const decoder = new WireDecoder({ expectHandshake: false });
          inn.on('data', (chunk: Buffer) => {
            if (rc4) decrypt.applyTo(chunk, chunk);
            decoder.push(chunk, (m) =>
              received.push(Buffer.from(encodeMessage(m as WireMessage)).toString('hex')),
            );
          });
          const ended = new Promise<void>((r) => inn.once('end', r));

          // The model of when the queue writes blocks: each time it pumps (`serve`, a read landing on
          // the first item, the end of a tick), the blocks from the first not yet written on, while
          // read and their tokens are there; one that lacks them waits for good (no token comes), and
          // only messages put ahead of it leave.
          const model: Frame[] = [];
          let tokens = limit ?? Number.POSITIVE_INFINITY;
          let waitingForTokens = false;
          let aheadUnwritten = false; // hash answers put ahead of a block since the last pump
          let written = 0;
          const pump = () => {
            aheadUnwritten = false;
            if (waitingForTokens) return;
            for (const f of model) {
              if (f.kind !== 'block' || f.state.written) continue;
              if (!f.state.landed) return;
              if (tokens < f.ref.length) {
                waitingForTokens = true;
                return;
              }
              tokens -= f.ref.length;
              f.state.written = true;
              written++;
            }
          };
          const land = async (r: { land: () => void; state: BlockState }) => {
            const first = model[firstUnwritten(model)];
            r.land();
            await Promise.resolve(); // the queue's answer to the read runs first
            r.state.landed = true;
            // The queue pumps when the block is its first item (else at the end of the tick).
            if (first?.kind === 'block' && first.state === r.state && !aheadUnwritten) pump();
          };
          // The end of a tick runs (the test waits on the socket); nothing runs one between two ops.
          const settle = async () => {
            pump();
            const n = firstUnwritten(model);
            await until(
              () => received.length >= n && served === written,
              5000,
              'what is ahead of the first block not yet written',
            );
            assert.deepEqual(received.slice(0, n), model.slice(0, n).map(frameHex));
          };
          for (const o of ops) {
            if (o.op === 'send') {
              queue.send(o.message);
              if (modelSend(model, o.message)) aheadUnwritten = true;
            } else if (o.op === 'requests') {
              queue.sendRequests(o.blocks);
              for (const ref of o.blocks)
                model.push({ kind: 'message', message: { type: 'request', ...ref } });
            } else if (o.op === 'serve') {
              source.cached = o.blocks.map((b) => b.cached);
              const before = source.reads.length;
              queue.serve(o.blocks.map((b) => b.ref));
              let r = before;
              for (const { ref, cached } of o.blocks)
                model.push({
                  kind: 'block',
                  ref,
                  state: cached ? { landed: true, written: false } : source.reads[r++]!.state,
                });
              pump();
            } else if (o.op === 'land') {
              const waiting = source.reads.filter((r) => !r.state.landed);
              const r = waiting[o.pick % Math.max(1, waiting.length)];
              if (r !== undefined) await land(r);
            } else await settle();
          }
          if (closeEarly) {
            queue.close();
            for (const r of source.reads) if (!r.state.landed) r.land();
            await until(() => source.pinned === 0, 5000, 'every pin released after close');
            return;
          }
          for (const r of source.reads) if (!r.state.landed) await land(r);
          await settle();
          if (waitingForTokens) {
            // What is ready leaves and the socket ends: the peer got exactly what is ahead of the
            // block waiting for its tokens, nothing behind it.
            queue.end();
            await ended;
            assert.equal(received.length, firstUnwritten(model));
            await until(() => source.pinned === 0, 5000, 'every pin released after end');
            return;
          }
          await until(
            () => source.pinned === 0 && served === model.filter((f) => f.kind === 'block').length,
            5000,
            'every block served and released',
          );
          assert.equal(received.length, model.length);
          assert.equal(queue.unsentBytes, 0);
        } finally {
          queue?.close();
          stop();
        }
      },
    ),
    { numRuns: 100 },
  );
});
