/**
 * Serving in the peer machine (the `upload` region): request validation and its close reasons,
 * the request cap, requests while we choke (and their limit), cancel, choke, the read window
 * (serve → socket.served) and congestion.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { startPeer } from './peer-harness.js';

/** 20 pieces of 32 KiB; we have pieces 0..9. */
function servingPeer(
  limits: {
    maxPeerRequests?: number;
    floodRequests?: number;
    readWindow?: number;
    maxChokedRequests?: number;
  } = {},
  opts: { fast?: boolean } = {},
) {
  const ours = new Bitfield(20);
  for (let i = 0; i < 16; i++) ours.set(i);
  const h = startPeer({ ourBitfield: ours, limits });
  if (opts.fast) h.fastHandshake([2, 3]);
  else h.handshake();
  h.deliver({ type: 'wire.interested' });
  h.command({ type: 'cmd.unchoke' });
  return h;
}

type Harness = ReturnType<typeof startPeer>;
/** Every block handed to the connection to send, in order. */
const served = (h: Harness) =>
  h.commands.flatMap((c) =>
    c.type === 'serve' ? c.blocks.map((b) => `${b.index}:${b.begin}+${b.length}`) : [],
  );
/** The connection wrote the first n blocks it was handed. */
const written = (h: Harness, count: number) => h.deliver({ type: 'socket.served', count });

test('a valid request is handed to the connection (serve), not to the parent; no bytes pass the machine', () => {
  const h = servingPeer();
  assert.equal(h.sent().at(-1)?.type, 'unchoke');
  h.deliver({ type: 'wire.request', index: 3, begin: 16384, length: 16384 });
  assert.deepEqual(served(h), ['3:16384+16384']);
  assert.deepEqual(
    h.reports.filter((r) => r.type !== 'peer.interest' && r.type !== 'peer.handshaken'),
    [],
  );
  // The same request again while the first is not written: one answer only.
  h.deliver({ type: 'wire.request', index: 3, begin: 16384, length: 16384 });
  assert.deepEqual(served(h), ['3:16384+16384']);
  h.stop();
});

for (const [name, req, why] of [
  ['index past the last piece', { index: 20, begin: 0, length: 16384 }, 'indexOutOfRange'],
  ['a piece we do not have', { index: 17, begin: 0, length: 16384 }, 'notHave'],
  ['past the end of the piece', { index: 2, begin: 16385, length: 16384 }, 'pastPieceEnd'],
  ['longer than 16 KiB', { index: 2, begin: 0, length: 16385 }, 'tooLong'],
  ['empty', { index: 2, begin: 0, length: 0 }, 'empty'],
] as const) {
  test(`a request for ${name} closes with badRequest (${why})`, () => {
    const h = servingPeer();
    h.deliver({ type: 'wire.request', ...req });
    assert.deepEqual(h.output(), { reason: 'badRequest', ...req, why });
    assert.deepEqual(served(h), []);
    h.stop();
  });
}

test('requests while we choke are ignored (BEP 3), not a violation', () => {
  const h = servingPeer();
  h.command({ type: 'cmd.choke' });
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: 16384 });
  assert.deepEqual(served(h), []);
  assert.equal(h.isClosed(), false);
  h.stop();
});

const rejects = (h: Harness) => h.sent().filter((m) => m.type === 'reject').length;
const request = (index: number) => ({ type: 'wire.request', index, begin: 0, length: 16384 }) as const;

for (const fast of [false, true])
  test(`a ${fast ? 'fast' : 'BEP 3'} peer that keeps requesting while we choke it is closed at maxChokedRequests refusals in a row (requestsWhileChoked)`, () => {
    const h = servingPeer({ maxChokedRequests: 5 }, { fast }); // a fast peer is granted pieces 2 and 3
    h.command({ type: 'cmd.choke' });
    for (let i = 0; i < 4; i++) h.deliver(request(5 + i));
    assert.equal(h.isClosed(), false);
    assert.equal(rejects(h), fast ? 4 : 0, 'a fast peer gets a reject for each (BEP 6), a BEP 3 peer none');
    h.deliver(request(9));
    assert.deepEqual(h.output(), { reason: 'requestsWhileChoked', requests: 5, limit: 5 });
    assert.deepEqual(served(h), []);
    h.stop();
  });

test('requests crossing our choke do not close an honest peer: the default limit is above a read window and a full queue', () => {
  const h = servingPeer({}, { fast: true });
  h.command({ type: 'cmd.choke' });
  // One request per block written ahead of the choke (readWindow 128), and a full pipeline (reqq 250).
  const crossing = Array.from({ length: 128 + 250 }, (_, i) => ({
    index: 4 + (i % 12),
    begin: 0,
    length: 16384,
  }));
  h.deliver({ type: 'wire.requests', requests: crossing });
  assert.equal(h.isClosed(), false);
  assert.equal(rejects(h), crossing.length);
  h.stop();
});

test('the refusals are counted in a row: a request we accept (a granted piece) or our choke or unchoke starts again', () => {
  const h = servingPeer({ maxChokedRequests: 3 }, { fast: true });
  h.command({ type: 'cmd.choke' });
  h.deliver(request(5));
  h.deliver(request(6));
  h.deliver(request(2)); // granted: queued and served while we choke
  assert.deepEqual(served(h), ['2:0+16384']);
  h.deliver(request(5));
  h.deliver(request(6));
  assert.equal(h.isClosed(), false);
  h.command({ type: 'cmd.unchoke' });
  h.command({ type: 'cmd.choke' });
  h.deliver(request(7));
  h.deliver(request(8));
  assert.equal(h.isClosed(), false);
  // A batch is judged as its requests one by one: the third refusal in a row closes.
  h.deliver({
    type: 'wire.requests',
    requests: [
      { index: 9, begin: 0, length: 16384 },
      { index: 10, begin: 0, length: 16384 },
    ],
  });
  assert.deepEqual(h.output(), { reason: 'requestsWhileChoked', requests: 3, limit: 3 });
  h.stop();
});

test('the read window bounds what the connection holds unwritten; written blocks pull the rest in one serve', () => {
  const h = servingPeer({ readWindow: 2 });
  for (let i = 0; i < 5; i++) h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
  assert.deepEqual(served(h), ['0:0+16384', '1:0+16384']);
  written(h, 1);
  assert.deepEqual(served(h), ['0:0+16384', '1:0+16384', '2:0+16384']);
  const serves = h.commands.filter((c) => c.type === 'serve').length;
  written(h, 2);
  assert.deepEqual(served(h).slice(3), ['3:0+16384', '4:0+16384']);
  assert.equal(h.commands.filter((c) => c.type === 'serve').length, serves + 1, 'two blocks, one serve');
  h.stop();
});

test('requests past maxPeerRequests are dropped, not served; a flood of them closes with requestFlood', () => {
  const h = servingPeer({ maxPeerRequests: 4, floodRequests: 3, readWindow: 1 });
  for (let i = 0; i < 4; i++) h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
  // A duplicate is not counted twice.
  h.deliver({ type: 'wire.request', index: 3, begin: 0, length: 16384 });
  // Two past the cap: dropped, the connection stays (an honest deep pipeline is not hostile).
  h.deliver({ type: 'wire.request', index: 4, begin: 0, length: 16384 });
  h.deliver({ type: 'wire.request', index: 5, begin: 0, length: 16384 });
  assert.equal(h.isClosed(), false);
  // Written blocks make room; the dropped ones were never served.
  for (let i = 0; i < 4; i++) written(h, 1);
  assert.deepEqual(served(h), ['0:0+16384', '1:0+16384', '2:0+16384', '3:0+16384']);
  // A new request is queued again, and resets the count of drops in a row.
  h.deliver({ type: 'wire.request', index: 6, begin: 0, length: 16384 });
  assert.deepEqual(served(h).at(-1), '6:0+16384');
  for (let i = 7; i < 10; i++) h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
  assert.equal(h.isClosed(), false);
  // Full again: the third drop in a row is a flood.
  for (let i = 10; i < 12; i++) h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
  assert.equal(h.isClosed(), false);
  h.deliver({ type: 'wire.request', index: 12, begin: 0, length: 16384 });
  assert.equal(h.isClosed(), true);
  assert.equal((h.output() as { reason: string }).reason, 'requestFlood');
  h.stop();
});

test('cancel drops a queued request; one handed to the connection is already on its way', () => {
  const h = servingPeer({ readWindow: 1 });
  h.deliver({ type: 'wire.request', index: 0, begin: 0, length: 16384 });
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: 16384 });
  h.deliver({ type: 'wire.cancel', index: 1, begin: 0, length: 16384 }); // queued
  h.deliver({ type: 'wire.cancel', index: 0, begin: 0, length: 16384 }); // handed over
  written(h, 1);
  assert.deepEqual(served(h), ['0:0+16384'], 'the cancelled queued one is never served');
  assert.equal(h.isClosed(), false);
  h.stop();
});

test('a choke empties the queue; blocks already handed over leave before the choke message', () => {
  const h = servingPeer({ readWindow: 1 });
  h.deliver({ type: 'wire.request', index: 0, begin: 0, length: 16384 });
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: 16384 });
  h.command({ type: 'cmd.choke' });
  const order = h.commands.map((c) => (c.type === 'send' ? c.message.type : c.type)).slice(-2);
  assert.deepEqual(order, ['serve', 'choke'], 'the served block precedes the choke on the wire');
  written(h, 1);
  h.command({ type: 'cmd.unchoke' });
  assert.deepEqual(served(h), ['0:0+16384'], 'the queue was emptied by the choke');
  // The window is free again after the choke: a new request is served at once.
  h.deliver({ type: 'wire.request', index: 2, begin: 0, length: 16384 });
  assert.deepEqual(served(h), ['0:0+16384', '2:0+16384']);
  h.stop();
});

test('congested: nothing more is handed to the connection until drained', () => {
  const h = servingPeer({ readWindow: 4 });
  h.deliver({ type: 'socket.congested' });
  for (let i = 0; i < 3; i++) h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
  assert.deepEqual(served(h), []);
  h.deliver({ type: 'socket.drained' });
  assert.equal(served(h).length, 3);
  assert.equal(h.commands.filter((c) => c.type === 'serve').length, 1, 'the three in one serve');
  h.stop();
});

test('peer.rate reports the upload rate measured on the tick', () => {
  const h = servingPeer();
  h.deliver({ type: 'wire.request', index: 0, begin: 0, length: 16384 });
  written(h, 1);
  h.advance(1000);
  const rate = h.reports.find((r) => r.type === 'peer.rate');
  assert.ok(rate !== undefined && rate.type === 'peer.rate');
  assert.equal(rate.uploadRate, 8192); // (0 + 16384) / 2: EWMA α = ½
  h.stop();
});

test('a batch of requests (wire.requests) closes, queues, drops and rejects as the same requests one by one', () => {
  // Mostly valid requests over few blocks (duplicates, the cap and floods happen), now and then one
  // we lack (16..19), past the last piece (20, 21), at a bad offset or of a bad length.
  const valid = fc.record({
    index: fc.integer({ min: 0, max: 9 }),
    begin: fc.constantFrom(0, 16384),
    length: fc.constant(16384),
  });
  const any = fc.record({
    index: fc.integer({ min: 0, max: 21 }),
    begin: fc.constantFrom(0, 16384, 16385),
    length: fc.constantFrom(16384, 1, 0, 16385),
  });
  const request = fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: any, weight: 1 });
  fc.assert(
    fc.property(
      fc.array(request, { minLength: 2, maxLength: 30 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 2 }),
      (requests, fast, choked, before, freed) => {
        const limits = { maxPeerRequests: 6, floodRequests: 4, readWindow: 2, maxChokedRequests: 3 };
        const one = servingPeer(limits, { fast });
        const batch = servingPeer(limits, { fast });
        for (const h of [one, batch]) {
          if (choked) h.command({ type: 'cmd.choke' });
          // Some requests queued already (the batch may repeat them), some dropped past the cap
          // (drops in a row carry into the batch), and room made by written blocks.
          for (let i = 0; i < before; i++)
            h.deliver({ type: 'wire.request', index: i, begin: 0, length: 16384 });
          if (freed > 0) written(h, freed);
        }
        for (const r of requests) one.deliver({ type: 'wire.request', ...r });
        batch.deliver({ type: 'wire.requests', requests });
        assert.deepEqual(batch.output(), one.output(), 'the same close, with the same reason');
        // A batch that closes serves none of it (one by one, the requests before the bad one were
        // handed over just before the close): the peer is gone either way.
        if (!one.isClosed()) {
          assert.deepEqual(served(batch), served(one));
          assert.deepEqual(batch.sent(), one.sent(), 'the same rejects');
          assert.equal(batch.context()?.droppedRequests, one.context()?.droppedRequests);
        }
        one.stop();
        batch.stop();
      },
    ),
    { numRuns: 300 },
  );
});

test('a batch is served in one serve', () => {
  const h = servingPeer();
  h.deliver({
    type: 'wire.requests',
    requests: [0, 1, 2].map((index) => ({ index, begin: 0, length: 16384 })),
  });
  assert.deepEqual(served(h), ['0:0+16384', '1:0+16384', '2:0+16384']);
  assert.equal(h.commands.filter((c) => c.type === 'serve').length, 1);
  h.stop();
});
