/**
 * BEP 6, the Fast Extension, in the peer machine: the handshake bit, haveAll / haveNone, reject,
 * allowed fast (both ways), suggest, and the changed meaning of choke and cancel — each rule with
 * the extension on, and the close when a peer uses these messages without it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PEER_TIMEOUTS, type PeerReport } from '../../../machines/peer.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

type Harness = ReturnType<typeof startPeer>;
const B = 16384;

function ours(pieces: number): Bitfield {
  const b = new Bitfield(20);
  for (let i = 0; i < pieces; i++) b.set(i);
  return b;
}
const ofType = <T extends PeerReport['type']>(h: Harness, type: T) =>
  h.reports.filter((r): r is Extract<PeerReport, { type: T }> => r.type === type);
const sentOf = <T extends WireItem['type']>(h: Harness, type: T) =>
  h.sent().filter((m): m is Extract<WireItem, { type: T }> => m.type === type);
const rejects = (h: Harness) => sentOf(h, 'reject').map((m) => `${m.index}:${m.begin}`);
/** Blocks handed to the connection to send (serve), in order. */
const servedOf = (h: Harness) =>
  h.commands.flatMap((c) => (c.type === 'serve' ? c.blocks.map((b) => `${b.index}:${b.begin}`) : []));

/** A fast peer that has every piece, has unchoked us, and holds `n` of our requests (piece 0, 1 …). */
function downloading(n: number): Harness {
  const h = startPeer();
  h.fastHandshake();
  h.deliver({ type: 'wire.haveAll' });
  h.command({ type: 'cmd.interested' });
  h.deliver({ type: 'wire.unchoke' });
  const blocks = Array.from({ length: n }, (_, i) => ({ index: i >> 1, begin: (i & 1) * B, length: B }));
  h.command({ type: 'cmd.request', blocks });
  return h;
}

/** A fast peer we serve (we have pieces 0..9), interested; unchoked unless `choking`. */
function serving(opts: { choking?: boolean; grant?: readonly number[] } = {}): Harness {
  const h = startPeer({ ourBitfield: ours(10) });
  h.fastHandshake(opts.grant);
  h.deliver({ type: 'wire.interested' });
  if (!opts.choking) h.command({ type: 'cmd.unchoke' });
  return h;
}

test('our handshake sets the fast bit: reserved[7] & 0x04', () => {
  const h = startPeer();
  h.deliver({ type: 'socket.connected' });
  const hs = h.sent()[0];
  assert.equal(hs?.type, 'handshake');
  assert.equal(hs?.type === 'handshake' && hs.reserved[7], 0x04);
  h.stop();
});

test('peer.handshaken says whether both ends set the bit', () => {
  const fast = startPeer();
  fast.fastHandshake();
  assert.equal(ofType(fast, 'peer.handshaken')[0]?.fast, true);
  const plain = startPeer();
  plain.handshake();
  assert.equal(ofType(plain, 'peer.handshaken')[0]?.fast, false);
  fast.stop();
  plain.stop();
});

for (const [what, have, first] of [
  ['every piece: haveAll', 20, 'haveAll'],
  ['no piece: haveNone', 0, 'haveNone'],
  ['some pieces: a bitfield', 5, 'bitfield'],
] as const) {
  test(`a fast peer hears ${what}, then the allowed fast set`, () => {
    const h = startPeer({ ourBitfield: ours(have) });
    h.fastHandshake([3, 7]);
    const after = h.sent().slice(1);
    assert.deepEqual(
      after.map((m) => (m.type === 'allowedFast' ? `allowedFast ${m.index}` : m.type)),
      [first, 'allowedFast 3', 'allowedFast 7'],
    );
    h.stop();
  });
}

test('without the bit on their side: a full bitfield, no allowed fast set (BEP 3 as before)', () => {
  const h = startPeer({ ourBitfield: ours(20) });
  h.deliver({ type: 'socket.connected', allowedFast: [3, 7] });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
  assert.deepEqual(
    h
      .sent()
      .slice(1)
      .map((m) => m.type),
    ['bitfield'],
  );
  h.stop();
});

for (const message of ['haveAll', 'haveNone', 'allowedFast', 'suggest', 'reject'] as const) {
  test(`${message} without the extension negotiated closes with fastNotNegotiated`, () => {
    const h = startPeer();
    h.handshake();
    const fields = message === 'reject' ? { index: 0, begin: 0, length: B } : { index: 1 };
    h.deliver({ type: `wire.${message}`, ...fields } as never);
    assert.deepEqual(h.output(), { reason: 'fastNotNegotiated', message });
  });
}

test('haveAll from a fast peer is its full bitfield; haveNone leaves it empty', () => {
  const all = startPeer();
  all.fastHandshake();
  all.deliver({ type: 'wire.haveAll' });
  assert.equal(ofType(all, 'peer.bitfield')[0]?.bitfield.count, 20);
  const none = startPeer();
  none.fastHandshake();
  none.deliver({ type: 'wire.haveNone' });
  assert.deepEqual(ofType(none, 'peer.bitfield'), []);
  assert.equal(none.isClosed(), false);
  all.stop();
  none.stop();
});

test('from a fast peer a bitfield after haveNone and haves replaces them, as aria2 1.36 sends them', () => {
  const h = startPeer();
  h.fastHandshake();
  h.deliver({ type: 'wire.haveNone' });
  h.deliver({ type: 'wire.have', index: 1 });
  h.deliver({ type: 'wire.bitfield', bitfield: new Uint8Array([0xc0, 0, 0]) });
  assert.equal(h.isClosed(), false);
  assert.equal(ofType(h, 'peer.bitfield')[0]?.bitfield.count, 2);
  h.deliver({ type: 'wire.haveAll' }); // after a have it is a violation, as a bitfield is
  assert.equal(h.output()?.reason, 'bitfieldNotFirst');
});

test('a choke from a fast peer keeps our requests: a late piece is taken, a reject returns its block', () => {
  const h = downloading(4);
  assert.equal(sentOf(h, 'request').length, 4);
  h.deliver({ type: 'wire.choke' });
  assert.deepEqual(ofType(h, 'peer.choked').at(-1)?.returned, []);
  h.deliver({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(B) });
  assert.deepEqual(
    ofType(h, 'peer.block').map((r) => `${r.index}:${r.begin}`),
    ['0:0'],
  );
  h.deliver({ type: 'wire.reject', index: 0, begin: B, length: B });
  assert.deepEqual(ofType(h, 'peer.returned').at(-1)?.returned, [{ index: 0, begin: B, length: B }]);
  assert.equal(h.isClosed(), false);
  h.stop();
});

test('a fast peer that chokes and never answers: its requests come back after timeouts.request, no close', () => {
  const h = downloading(2);
  h.deliver({ type: 'wire.choke' });
  h.advance(DEFAULT_PEER_TIMEOUTS.request + DEFAULT_PEER_TIMEOUTS.tick);
  assert.equal(h.isClosed(), false);
  assert.equal(ofType(h, 'peer.returned').at(-1)?.returned.length, 2);
  h.stop();
});

test('a reject for a block never requested closes (unrequestedReject); one for a cancelled block does not', () => {
  const h = downloading(2);
  h.command({ type: 'cmd.cancel', blocks: [{ index: 0, begin: 0, length: B }] });
  h.deliver({ type: 'wire.reject', index: 0, begin: 0, length: B });
  assert.equal(h.isClosed(), false);
  assert.deepEqual(ofType(h, 'peer.returned'), []); // the supervisor already took it back
  h.deliver({ type: 'wire.reject', index: 5, begin: 0, length: B });
  assert.deepEqual(h.output(), { reason: 'unrequestedReject', index: 5, begin: 0, length: B });
});

test('a cancelled request to a fast peer counts in the pipeline until answered, so its mark is never forgotten', () => {
  // A pipeline of 4: four requests, all cancelled (endgame), are still owed an answer each.
  const h = startPeer({ limits: { initialPipeline: 4, minPipeline: 4, maxPipeline: 4 } });
  h.fastHandshake();
  h.deliver({ type: 'wire.haveAll' });
  h.command({ type: 'cmd.interested' });
  h.deliver({ type: 'wire.unchoke' });
  const first = [0, 1, 2, 3].map((index) => ({ index, begin: 0, length: B }));
  h.command({ type: 'cmd.request', blocks: first });
  h.command({ type: 'cmd.cancel', blocks: first });
  // No room: four more would make eight unanswered requests (and eight marks for a pipeline of 4).
  const next = [4, 5, 6, 7].map((index) => ({ index, begin: 0, length: B }));
  h.command({ type: 'cmd.request', blocks: next });
  assert.deepEqual(
    sentOf(h, 'request').map((m) => m.index),
    [0, 1, 2, 3],
  );
  assert.deepEqual(ofType(h, 'peer.returned').at(-1)?.returned, next);
  // Two answers (a reject, a late piece) free two slots.
  h.deliver({ type: 'wire.reject', index: 0, begin: 0, length: B });
  h.deliver({ type: 'wire.piece', index: 1, begin: 0, block: new Uint8Array(B) });
  h.command({ type: 'cmd.request', blocks: next });
  assert.deepEqual(
    sentOf(h, 'request').map((m) => m.index),
    [0, 1, 2, 3, 4, 5],
  );
  // The last two cancelled requests are answered late, after new ones: dropped, not a violation.
  h.deliver({ type: 'wire.piece', index: 2, begin: 0, block: new Uint8Array(B) });
  h.deliver({ type: 'wire.piece', index: 3, begin: 0, block: new Uint8Array(B) });
  assert.equal(h.isClosed(), false);
  h.stop();
});

test('allowed fast: while choked we ask only for allowed pieces the peer has, and may request them', () => {
  const h = startPeer();
  h.fastHandshake();
  const bits = new Uint8Array(3);
  bits[0] = 0b0011_0000; // the peer has pieces 2 and 3
  h.deliver({ type: 'wire.bitfield', bitfield: bits });
  h.command({ type: 'cmd.interested' });
  assert.deepEqual(ofType(h, 'peer.wantBlocks'), []); // choked, nothing allowed yet
  h.deliver({ type: 'wire.allowedFast', index: 9 }); // allowed, but the peer lacks it
  assert.deepEqual(ofType(h, 'peer.wantBlocks'), []);
  h.deliver({ type: 'wire.allowedFast', index: 3 });
  const want = ofType(h, 'peer.wantBlocks').at(-1);
  assert.deepEqual(want?.allowedFast, [3]);
  h.command({
    type: 'cmd.request',
    blocks: [
      { index: 3, begin: 0, length: B },
      { index: 2, begin: 0, length: B },
    ],
  });
  assert.deepEqual(
    sentOf(h, 'request').map((m) => m.index),
    [3],
  );
  assert.deepEqual(ofType(h, 'peer.returned').at(-1)?.returned, [{ index: 2, begin: 0, length: B }]);
  // The peer gets piece 9: now it may be asked for too.
  h.deliver({ type: 'wire.have', index: 9 });
  assert.deepEqual(ofType(h, 'peer.wantBlocks').at(-1)?.allowedFast, [9, 3]);
  h.stop();
});

test('suggest is recorded, newest last, and closes nothing', () => {
  const h = startPeer();
  h.fastHandshake();
  for (const index of [4, 2, 4]) h.deliver({ type: 'wire.suggest', index });
  assert.deepEqual(h.context()?.suggested, [2, 4]);
  assert.equal(h.isClosed(), false);
  h.stop();
});

test('serving a fast peer: requests while we choke are rejected, not silently dropped', () => {
  const h = serving({ choking: true });
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: B });
  assert.deepEqual(rejects(h), ['1:0']);
  assert.deepEqual(servedOf(h), []);
  h.stop();
});

test('serving a fast peer: a piece we lack is rejected, not a reason to close', () => {
  const h = serving();
  h.deliver({ type: 'wire.request', index: 15, begin: 0, length: B });
  assert.deepEqual(rejects(h), ['15:0']);
  assert.equal(h.isClosed(), false);
  h.stop();
});

test('serving a fast peer: choking it rejects every queued request; one handed over is its piece', () => {
  const h = startPeer({ ourBitfield: ours(10), limits: { readWindow: 1 } });
  h.fastHandshake();
  h.command({ type: 'cmd.unchoke' });
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: B }); // handed to the connection
  h.deliver({ type: 'wire.request', index: 2, begin: 0, length: B }); // queued
  assert.deepEqual(servedOf(h), ['1:0']);
  h.command({ type: 'cmd.choke' });
  // Exactly one answer each (BEP 6): 1 is served before the choke on the wire, 2 is rejected.
  assert.deepEqual(rejects(h), ['2:0']);
  h.deliver({ type: 'socket.served', count: 1 });
  assert.deepEqual(servedOf(h), ['1:0']);
  h.stop();
});

test('serving a fast peer: a cancel is answered with a reject', () => {
  const h = serving();
  h.deliver({ type: 'socket.congested' }); // so the request stays queued
  h.deliver({ type: 'wire.request', index: 1, begin: 0, length: B });
  h.deliver({ type: 'wire.cancel', index: 1, begin: 0, length: B });
  assert.deepEqual(rejects(h), ['1:0']);
  h.deliver({ type: 'socket.drained' });
  assert.deepEqual(servedOf(h), [], 'one answer: the reject');
  h.stop();
});

test('serving a fast peer: granted pieces are served while we choke, up to the grant, then rejected', () => {
  const h = serving({ choking: true, grant: [4] });
  // Piece 4 is 32 KiB: two blocks are the grant's worth; a third request is past it.
  h.deliver({ type: 'wire.request', index: 4, begin: 0, length: B });
  h.deliver({ type: 'wire.request', index: 4, begin: B, length: B });
  assert.deepEqual(servedOf(h), ['4:0', `4:${B}`]);
  h.deliver({ type: 'socket.served', count: 1 });
  h.deliver({ type: 'wire.request', index: 4, begin: 0, length: B });
  h.deliver({ type: 'wire.request', index: 5, begin: 0, length: B }); // not granted
  assert.deepEqual(rejects(h), ['4:0', '5:0']);
  h.stop();
});
