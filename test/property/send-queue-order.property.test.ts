/**
 * The write half's wire order (src/net/packed-queue.ts, src/net/send-queue.ts) under any sequence of
 * messages, request batches and served blocks whose reads land in any order, with BEP 52 `hashes` and
 * `hash reject` answers given at any point: what leaves is the machine's order, but for each hash
 * answer, which goes ahead of the first block still being read at the moment it is given (and behind
 * everything else, hash answers given before it included).
 *
 * - PackedQueue alone, its items taken off as the send queue takes them (a block only once read):
 *   the bytes taken are exactly the model's frames, none split or interleaved; bytes handed out are
 *   never written again while more is packed (a chunk's span stays as it was while in flight); the
 *   bytes, rejects and blocks waiting are counted exactly at every step.
 * - SendQueue on real loopback TCP, plain or under MSE's RC4: the peer decodes exactly the model's
 *   frames in that order; whenever the queue has settled, everything ahead of the first block still
 *   being read has reached the peer (a hash answer never waits for a read it went ahead of); every
 *   block is counted served once and every pin released, also when the queue is closed with blocks
 *   still being read.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BlockRef } from '../../machines/peer.types.js';
import { type Outgoing, PackedQueue } from '../../src/net/packed-queue.js';
import { Rc4 } from '../../src/net/rc4.js';
import { SendQueue } from '../../src/net/send-queue.js';
import type { BlockSource, PinnedBlock } from '../../src/storage/read-cache.js';
import { encodeMessage } from '../../src/wire/encode-message.js';
import type { WireMessage } from '../../src/wire/messages.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';

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

const blockArb = fc
  .record({ index: fc.nat(1), length: fc.integer({ min: 1, max: 16384 }), at: fc.nat(PIECE) })
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

/** What the wire must carry: frames in order, a served block known by its read (landed or not). */
type Frame =
  | { kind: 'message'; message: WireMessage }
  | { kind: 'block'; ref: BlockRef; read: { landed: boolean } };

const isHashAnswer = (m: WireMessage) => m.type === 'hashes' || m.type === 'hashReject';

/** A message given to the model: a hash answer ahead of the first block still being read, anything else at the end. */
function modelSend(model: Frame[], message: WireMessage): void {
  const frame: Frame = { kind: 'message', message };
  const at = isHashAnswer(message) ? model.findIndex((f) => f.kind === 'block' && !f.read.landed) : -1;
  if (at === -1) model.push(frame);
  else model.splice(at, 0, frame);
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

test('PackedQueue: hash answers ahead of the first block still being read, every frame whole, bytes in flight never rewritten, counts exact', () => {
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
        /** Blocks queued whose reads have not landed, and their model frames. */
        const reading: { item: { pinned: PinnedBlock | undefined }; read: { landed: boolean } }[] = [];
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
              stream.push(frameHex({ kind: 'block', ref: item.ref, read: { landed: true } }));
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
              const read = { landed: cached };
              if (cached) item.pinned = { block: blockBytes(ref), chunk: undefined };
              else reading.push({ item, read });
              model.push({ kind: 'block', ref, read });
              blocks++;
            }
          } else if (o.op === 'land') {
            const r = reading.splice(o.pick % Math.max(1, reading.length), 1)[0];
            if (r !== undefined) {
              r.item.pinned = { block: new Uint8Array(0), chunk: undefined }; // its bytes are the model's
              r.read.landed = true;
            }
          } else if (o.op === 'take') take(o.take);
          else take(Number.POSITIVE_INFINITY);
          assert.equal(q.bytes, messageBytes(model) - taken);
          assert.equal(q.rejects, rejects - takenRejects);
          assert.equal(q.blocks, blocks - takenBlocks);
        }
        for (const r of reading) {
          r.item.pinned = { block: new Uint8Array(0), chunk: undefined };
          r.read.landed = true;
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

async function socketPair(): Promise<[Socket, Socket, () => void]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect({ host: '127.0.0.1', port, noDelay: true });
  const b = await accepted;
  return [
    a,
    b,
    () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  ];
}

/** Blocks of `payload`, read from memory at once (`cached`) or held until the test lands them, in any order. */
class HeldSource implements BlockSource {
  readonly reads: { land: () => void; read: { landed: boolean } }[] = [];
  readonly #cached = new Map<string, number>();
  pinned = 0;

  cache(ref: BlockRef): void {
    const key = `${ref.index}:${ref.begin}:${ref.length}`;
    this.#cached.set(key, (this.#cached.get(key) ?? 0) + 1);
  }

  acquire(index: number, begin: number, length: number): PinnedBlock | Promise<PinnedBlock> {
    const pinned = { block: blockBytes({ index, begin, length }), chunk: undefined };
    const key = `${index}:${begin}:${length}`;
    const cached = this.#cached.get(key) ?? 0;
    if (cached > 0) {
      this.#cached.set(key, cached - 1);
      this.pinned++;
      return pinned;
    }
    return new Promise((resolve) => {
      this.reads.push({
        land: () => {
          this.pinned++;
          resolve(pinned);
        },
        read: { landed: false },
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

test('SendQueue over loopback, plain or RC4: the peer decodes the model frames; what is ahead of the first read still waiting has left; pins released', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 30 }),
      fc.boolean(),
      fc.boolean(),
      async (ops, rc4, closeEarly) => {
        const [out, inn, stop] = await socketPair();
        try {
          const source = new HeldSource();
          let served = 0;
          const queue = new SendQueue(out, {
            source,
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
          const model: Frame[] = [];
          const ahead = () => {
            const at = model.findIndex((f) => f.kind === 'block' && !f.read.landed);
            return at === -1 ? model.length : at;
          };
          const settle = async () => {
            const n = ahead();
            await until(() => received.length >= n, 5000, 'what is ahead of the first read still waiting');
            assert.deepEqual(received.slice(0, n), model.slice(0, n).map(frameHex));
          };
          let blocks = 0;
          for (const o of ops) {
            if (o.op === 'send') {
              queue.send(o.message);
              modelSend(model, o.message);
            } else if (o.op === 'requests') {
              queue.sendRequests(o.blocks);
              for (const ref of o.blocks)
                model.push({ kind: 'message', message: { type: 'request', ...ref } });
            } else if (o.op === 'serve') {
              for (const { ref, cached } of o.blocks) if (cached) source.cache(ref);
              const before = source.reads.length;
              queue.serve(o.blocks.map((b) => b.ref));
              let r = before;
              for (const { ref, cached } of o.blocks)
                model.push({ kind: 'block', ref, read: cached ? { landed: true } : source.reads[r++]!.read });
              blocks += o.blocks.length;
            } else if (o.op === 'land') {
              const waiting = source.reads.filter((r) => !r.read.landed);
              const r = waiting[o.pick % Math.max(1, waiting.length)];
              if (r !== undefined) {
                r.land();
                await Promise.resolve(); // the queue's answer to the read runs first
                r.read.landed = true;
              }
            } else await settle();
          }
          if (closeEarly) {
            queue.close();
            for (const r of source.reads) if (!r.read.landed) r.land();
            await until(() => source.pinned === 0, 5000, 'every pin released after close');
            return;
          }
          for (const r of source.reads) {
            if (r.read.landed) continue;
            r.land();
            await Promise.resolve();
            r.read.landed = true;
          }
          await settle();
          await until(
            () => source.pinned === 0 && served === blocks,
            5000,
            'every block served and released',
          );
          assert.equal(received.length, model.length);
          assert.equal(queue.unsentBytes, 0);
          queue.close();
        } finally {
          stop();
        }
      },
    ),
    { numRuns: 40 },
  );
});
