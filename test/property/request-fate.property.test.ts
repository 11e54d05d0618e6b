/**
 * The fate of a peer's request is decided once (requestFate, machines/peer-request-fate.ts), and
 * every path of the peer machine keeps to it. For generated traffic — requests valid, duplicated,
 * for pieces we lack or out of range, past a full queue, while we choke (a fast peer with granted
 * pieces or a BEP 3 one), with blocks written, congestion, chokes and unchokes between — delivered
 * one `wire.request` at a time:
 * - each request does what its fate, worked out from the context just before, says: `closed` closes
 *   with exactly that reason; `queued` queues or serves it; `duplicate` does nothing; `discarded`
 *   and `dropped` send a reject to a fast peer only, `rejected` a reject; nothing else is sent;
 * - the same requests as one `wire.requests` per read close at the same read with the same reason
 *   (the first `closed` fate met one by one), and otherwise leave the same queue, blocks served,
 *   rejects and counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type BlockRef, blockKey } from '../../machines/peer.types.js';
import type { PeerContext } from '../../machines/peer-context.js';
import { type RequestFate, requestFate } from '../../machines/peer-request-fate.js';
import { Bitfield } from '../../src/picker/bitfield.js';
import { type PeerHarness, startPeer } from '../unit/machines/peer-harness.js';

/** 20 pieces of 32 KiB (the last one 20 KiB); we have pieces 0..15; a fast peer is granted 2 and 3. */
const PIECES = 20;
const PIECE = 32768;
const TOTAL = (PIECES - 1) * PIECE + 20480;

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

/** Deliver one request and check the machine did what its fate says. */
function oneRequest(h: PeerHarness, ref: BlockRef): RequestFate {
  const c = context(h);
  const fate = requestFate(c, ref);
  const k = blockKey(ref.index, ref.begin);
  const before = counts(h);
  const from = h.commands.length;
  h.deliver({ type: 'wire.request', ...ref });
  const commands = h.commands.slice(from);
  const what = `${JSON.stringify(ref)} (${fate.fate})`;
  if (fate.fate === 'closed') {
    assert.deepEqual(h.output(), fate.reason, `${what}: closed with its fate's reason`);
    return fate;
  }
  assert.equal(h.isClosed(), false, `${what}: closed as ${JSON.stringify(h.output())}`);
  const rejects = commands.filter((x) => x.type === 'send' && x.message.type === 'reject');
  const serves = commands.filter((x) => x.type === 'serve');
  assert.equal(rejects.length + serves.length, commands.length, `${what}: only rejects and serves`);
  const after = counts(h);
  switch (fate.fate) {
    case 'queued':
      assert.ok(c.requestQueue.has(k) || c.reading.has(k), `${what}: queued or served`);
      assert.equal(rejects.length, 0, `${what}: no reject`);
      assert.equal(after.droppedRequests, 0);
      assert.equal(after.chokedRequests, 0);
      assert.equal(
        after.grantedBytes,
        before.grantedBytes + (c.amChoking ? ref.length : 0),
        'the grant used',
      );
      break;
    case 'duplicate':
      assert.deepEqual(commands, [], `${what}: nothing`);
      assert.deepEqual(after, before);
      break;
    case 'discarded':
    case 'dropped':
    case 'rejected': {
      const answered = fate.fate === 'rejected' || c.fast;
      assert.deepEqual(
        rejects.map((x) => x.type === 'send' && x.message),
        answered ? [{ type: 'reject', ...ref }] : [],
        `${what}: a reject to a fast peer only`,
      );
      assert.deepEqual(serves, [], `${what}: nothing served`);
      assert.deepEqual(after.queue, before.queue);
      assert.equal(after.grantedBytes, before.grantedBytes);
      assert.equal(after.chokedRequests, before.chokedRequests + (fate.fate === 'discarded' ? 1 : 0));
      assert.equal(after.droppedRequests, before.droppedRequests + (fate.fate === 'dropped' ? 1 : 0));
      break;
    }
  }
  return fate;
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

test('every request does what requestFate says, and a batch meets the same fates as its requests one by one', () => {
  fc.assert(
    fc.property(
      limits,
      fc.boolean(),
      fc.boolean(),
      fc.array(step, { minLength: 1, maxLength: 25 }),
      (limits, fast, choked, steps) => {
        const one = servingPeer(limits, fast, choked);
        const batch = servingPeer(limits, fast, choked);
        try {
          for (const s of steps) {
            if (s.kind !== 'requests') {
              other(one, s);
              other(batch, s);
              continue;
            }
            let closing: RequestFate | undefined;
            for (const r of s.refs) {
              closing = oneRequest(one, r);
              if (closing.fate === 'closed') break;
            }
            batch.deliver({ type: 'wire.requests', requests: s.refs });
            if (closing?.fate === 'closed') {
              assert.deepEqual(
                batch.output(),
                closing.reason,
                'the batch closes with the first closing fate',
              );
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
