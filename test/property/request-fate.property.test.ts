/**
 * The fate of a peer's request, as docs/machines.md ("Serving") gives the rules, against the peer
 * machine. A reference model written here from those rules (not requestFate, which the machine
 * itself reads) says what each request does; for generated traffic — requests valid, duplicated,
 * for pieces we lack or out of range, past a full queue, while we choke (a fast peer with granted
 * pieces or a BEP 3 one), with blocks written, congestion, chokes and unchokes between — delivered
 * one `wire.request` at a time:
 * - each request does what the model says: `closed` closes with exactly that reason; `queued`
 *   queues or serves it; `duplicate` does nothing; `discarded` and `dropped` send a reject to a
 *   fast peer only, `rejected` a reject; nothing else is sent; and the counts in a row (refused
 *   while we choke, dropped at a full queue) and the grant used are the model's;
 * - the same requests as one `wire.requests` per read close at the same read with the same reason
 *   (the first `closed` fate met one by one), and otherwise leave the same queue, blocks served,
 *   rejects and counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type BlockRef, blockKey, type CloseReason } from '../../machines/peer.types.js';
import type { PeerContext } from '../../machines/peer-context.js';
import { Bitfield } from '../../src/picker/bitfield.js';
import { type PeerHarness, startPeer } from '../unit/machines/peer-harness.js';

/** 20 pieces of 32 KiB (the last one 20 KiB); we have pieces 0..15; a fast peer is granted 2 and 3. */
const PIECES = 20;
const PIECE = 32768;
const LAST_PIECE = 20480;
const TOTAL = (PIECES - 1) * PIECE + LAST_PIECE;
const HAVE = 16;
const GRANTED = [2, 3];

type Fate = 'queued' | 'duplicate' | 'discarded' | 'rejected' | 'dropped' | 'closed';

/** The reference model: what it knows of the peer, and its counts, kept from what it is told. */
interface Model {
  readonly limits: Limits;
  readonly fast: boolean;
  choking: boolean;
  /** Refused in a row while we choke; dropped in a row at a full queue; granted bytes this choke. */
  refusedWhileChoked: number;
  droppedInARow: number;
  grantUsed: number;
}

/**
 * What a request does, from docs/machines.md "Serving" and BEP 3/6: a bad one (index out of range,
 * a piece we lack from a BEP 3 peer, an empty block or one past 16 KiB or past the piece's end)
 * closes as badRequest; while we choke, a fast peer's request for a piece we granted it is served
 * within the grant (2 pieces' worth per choke), any other is discarded, and the maxChokedRequests-th
 * in a row closes as requestsWhileChoked; a request when the queue (`outstanding`) holds
 * maxPeerRequests is dropped, and the floodRequests-th in a row closes as requestFlood (while we
 * choke, a full queue drops granted requests without closing); a fast peer's request for a piece
 * we lack is rejected (after the flood check: it is one more at a full queue); one already queued
 * or being served does nothing; else it is queued. A request queued ends both runs.
 */
function modelRequest(
  m: Model,
  outstanding: ReadonlySet<number>,
  ref: BlockRef,
): { fate: Fate; reason?: string } {
  const inRange = Number.isInteger(ref.index) && ref.index >= 0 && ref.index < PIECES;
  const size = ref.index === PIECES - 1 ? LAST_PIECE : PIECE;
  const lacking = inRange && ref.index >= HAVE;
  const bad =
    !inRange ||
    ref.length === 0 ||
    ref.length > 16384 ||
    ref.begin + ref.length > size ||
    (lacking && !m.fast);
  if (bad) return { fate: 'closed', reason: 'badRequest' };
  if (m.choking) {
    const granted =
      m.fast && GRANTED.includes(ref.index) && m.grantUsed + ref.length <= GRANTED.length * PIECE;
    if (!granted) {
      m.refusedWhileChoked++;
      if (m.refusedWhileChoked >= m.limits.maxChokedRequests)
        return { fate: 'closed', reason: 'requestsWhileChoked' };
      return { fate: 'discarded' };
    }
  }
  const key = blockKey(ref.index, ref.begin);
  const duplicate = outstanding.has(key);
  const full = outstanding.size >= m.limits.maxPeerRequests;
  if (full && !duplicate && !m.choking && m.droppedInARow + 1 >= m.limits.floodRequests)
    return { fate: 'closed', reason: 'requestFlood' };
  if (lacking) return { fate: 'rejected' };
  if (duplicate) return { fate: 'duplicate' };
  if (full) {
    m.droppedInARow++;
    return { fate: 'dropped' };
  }
  if (m.choking) m.grantUsed += ref.length;
  m.droppedInARow = 0;
  m.refusedWhileChoked = 0;
  return { fate: 'queued' };
}

/** Our choke or unchoke, when it changes: the refusals and the grant are counted from here. */
function modelChoking(m: Model, choking: boolean): void {
  if (m.choking === choking) return;
  m.choking = choking;
  m.refusedWhileChoked = 0;
  m.grantUsed = 0;
}

interface Limits {
  maxPeerRequests: number;
  floodRequests: number;
  readWindow: number;
  maxChokedRequests: number;
}

type Step =
  | { kind: 'requests'; refs: BlockRef[] }
  | { kind: 'written'; count: number }
  | { kind: 'choke' | 'unchoke' | 'congested' | 'drained' };

function servingPeer(limits: Limits, fast: boolean, choked: boolean): PeerHarness {
  const ours = new Bitfield(PIECES);
  for (let i = 0; i < 16; i++) ours.set(i);
  const h = startPeer({
    ourBitfield: ours,
    limits,
    pieceCount: PIECES,
    pieceLength: PIECE,
    totalLength: TOTAL,
  });
  if (fast) h.fastHandshake([2, 3]);
  else h.handshake();
  h.deliver({ type: 'wire.interested' });
  if (!choked) h.command({ type: 'cmd.unchoke' });
  return h;
}

const context = (h: PeerHarness) => h.context() as unknown as PeerContext;
const served = (h: PeerHarness) =>
  h.commands.flatMap((c) => (c.type === 'serve' ? c.blocks.map((b) => `${b.index}:${b.begin}`) : []));
const counts = (h: PeerHarness) => {
  const c = context(h);
  return {
    queue: [...c.requestQueue.keys()],
    reading: [...c.reading.keys()],
    droppedRequests: c.droppedRequests,
    chokedRequests: c.chokedRequests,
    grantedBytes: c.grantedBytes,
  };
};

/** Everything but the requests: the same for both peers. */
function other(h: PeerHarness, step: Exclude<Step, { kind: 'requests' }>): void {
  if (step.kind === 'written') h.deliver({ type: 'socket.served', count: step.count });
  else if (step.kind === 'choke') h.command({ type: 'cmd.choke' });
  else if (step.kind === 'unchoke') h.command({ type: 'cmd.unchoke' });
  else if (step.kind === 'congested') h.deliver({ type: 'socket.congested' });
  else h.deliver({ type: 'socket.drained' });
}

/** Deliver one request and check the machine did what the model says. */
function oneRequest(h: PeerHarness, m: Model, ref: BlockRef): Fate {
  const c = context(h);
  const before = counts(h);
  const fate = modelRequest(m, new Set([...before.queue, ...before.reading]), ref);
  const k = blockKey(ref.index, ref.begin);
  const from = h.commands.length;
  h.deliver({ type: 'wire.request', ...ref });
  const commands = h.commands.slice(from);
  const what = `${JSON.stringify(ref)} (${fate.fate})`;
  if (fate.fate === 'closed') {
    assert.equal(
      (h.output() as CloseReason | undefined)?.reason,
      fate.reason,
      `${what}: closed as ${fate.reason}`,
    );
    return fate.fate;
  }
  assert.equal(h.isClosed(), false, `${what}: closed as ${JSON.stringify(h.output())}`);
  const rejects = commands.filter((x) => x.type === 'send' && x.message.type === 'reject');
  const serves = commands.filter((x) => x.type === 'serve');
  assert.equal(rejects.length + serves.length, commands.length, `${what}: only rejects and serves`);
  const after = counts(h);
  assert.deepEqual(
    {
      droppedRequests: after.droppedRequests,
      chokedRequests: after.chokedRequests,
      grantedBytes: after.grantedBytes,
    },
    { droppedRequests: m.droppedInARow, chokedRequests: m.refusedWhileChoked, grantedBytes: m.grantUsed },
    `${what}: the counts in a row and the grant used`,
  );
  switch (fate.fate) {
    case 'queued':
      assert.ok(c.requestQueue.has(k) || c.reading.has(k), `${what}: queued or served`);
      assert.equal(rejects.length, 0, `${what}: no reject`);
      break;
    case 'duplicate':
      assert.deepEqual(commands, [], `${what}: nothing`);
      assert.deepEqual(after, before);
      break;
    case 'discarded':
    case 'dropped':
    case 'rejected': {
      const answered = fate.fate === 'rejected' || m.fast;
      assert.deepEqual(
        rejects.map((x) => x.type === 'send' && x.message),
        answered ? [{ type: 'reject', ...ref }] : [],
        `${what}: a reject to a fast peer only`,
      );
      assert.deepEqual(serves, [], `${what}: nothing served`);
      assert.deepEqual(after.queue, before.queue);
      break;
    }
  }
  return fate.fate;
}

// Mostly valid requests over few blocks (duplicates, the cap and floods happen), now and then one
// for a piece we lack (16..19), past the last piece (20), at a bad offset or of a bad length.
const valid = fc.record({
  index: fc.integer({ min: 0, max: 9 }),
  begin: fc.constantFrom(0, 16384),
  length: fc.constant(16384),
});
const lacking = fc.record({
  index: fc.integer({ min: 16, max: 19 }),
  begin: fc.constant(0),
  length: fc.constant(16384),
});
const any = fc.record({
  index: fc.integer({ min: 0, max: 20 }),
  begin: fc.constantFrom(0, 4096, 16384, 16385),
  length: fc.constantFrom(16384, 1, 0, 16385),
});
const ref: fc.Arbitrary<BlockRef> = fc.oneof(
  { arbitrary: valid, weight: 40 },
  { arbitrary: lacking, weight: 4 },
  { arbitrary: any, weight: 1 },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('requests' as const),
      refs: fc.array(ref, { minLength: 1, maxLength: 10 }),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('written' as const), count: fc.integer({ min: 1, max: 3 }) }),
    weight: 3,
  },
  { arbitrary: fc.constantFrom<Step>({ kind: 'choke' }, { kind: 'unchoke' }), weight: 2 },
  { arbitrary: fc.constantFrom<Step>({ kind: 'congested' }, { kind: 'drained' }), weight: 1 },
);
const limits: fc.Arbitrary<Limits> = fc.record({
  maxPeerRequests: fc.integer({ min: 1, max: 6 }),
  floodRequests: fc.integer({ min: 1, max: 5 }),
  readWindow: fc.integer({ min: 1, max: 3 }),
  maxChokedRequests: fc.integer({ min: 1, max: 8 }),
});

test('every request does what the rules say (a model of docs/machines.md "Serving"), and a batch meets the same fates as its requests one by one', () => {
  fc.assert(
    fc.property(
      limits,
      fc.boolean(),
      fc.boolean(),
      fc.array(step, { minLength: 1, maxLength: 25 }),
      (limits, fast, choked, steps) => {
        const one = servingPeer(limits, fast, choked);
        const batch = servingPeer(limits, fast, choked);
        const model: Model = {
          limits,
          fast,
          choking: choked,
          refusedWhileChoked: 0,
          droppedInARow: 0,
          grantUsed: 0,
        };
        try {
          for (const s of steps) {
            if (s.kind !== 'requests') {
              other(one, s);
              other(batch, s);
              if (s.kind === 'choke' || s.kind === 'unchoke') modelChoking(model, s.kind === 'choke');
              continue;
            }
            let closed = false;
            for (const r of s.refs) {
              closed = oneRequest(one, model, r) === 'closed';
              if (closed) break;
            }
            batch.deliver({ type: 'wire.requests', requests: s.refs });
            if (closed) {
              assert.deepEqual(batch.output(), one.output(), 'the batch closes with the first closing fate');
              return;
            }
            assert.equal(batch.isClosed(), false, `the batch closed as ${JSON.stringify(batch.output())}`);
            assert.deepEqual(counts(batch), counts(one), 'the same queue and counts');
            assert.deepEqual(served(batch), served(one), 'the same blocks served');
            assert.deepEqual(batch.sent(), one.sent(), 'the same rejects');
          }
        } finally {
          one.stop();
          batch.stop();
        }
      },
    ),
    { numRuns: 400 },
  );
});
