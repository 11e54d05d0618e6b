import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConnectionEvent,
  DEFAULT_PEER_LIMITS,
  DEFAULT_PEER_TIMEOUTS,
  type PeerInput,
} from '../../../machines/peer.types.js';
import { pipelineTarget } from '../../../machines/peer-pipeline.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { INFO_HASH, OUR_ID, startPeer, THEIR_ID } from './peer-harness.js';

/** 20 pieces: 3 bitfield bytes, the last 4 bits spare. */
const ALL = new Uint8Array([0xff, 0xff, 0xf0]);

/** Unchoked, with requests for n blocks outstanding (pieces 0..19, then the next block of each). */
function unchokedWithRequests(n = 2, input: Partial<PeerInput> = {}) {
  const h = startPeer(input);
  h.handshake();
  h.deliver({ type: 'wire.bitfield', bitfield: ALL });
  h.command({ type: 'cmd.interested' });
  h.deliver({ type: 'wire.unchoke' });
  const blocks = Array.from({ length: n }, (_, i) => ({
    index: i % 20,
    begin: Math.floor(i / 20) * 16384,
    length: 16384,
  }));
  h.command({ type: 'cmd.request', blocks });
  return h;
}

test('outgoing: handshake sent on connect, then connected; no bitfield when we have nothing', () => {
  const h = startPeer();
  assert.deepEqual(h.sent(), []);
  h.deliver({ type: 'socket.connected' });
  assert.deepEqual(
    h.sent().map((m) => m.type),
    ['handshake'],
  );
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
  assert.deepEqual(
    h.sent().map((m) => m.type),
    ['handshake'],
  );
  assert.equal(h.reports[0]?.type, 'peer.handshaken');
});

test('our bitfield follows the handshake when we have a piece', () => {
  const ours = new Bitfield(20);
  ours.set(3);
  const h = startPeer({ ourBitfield: ours });
  h.handshake();
  const sent = h.sent();
  assert.deepEqual(
    sent.map((m) => m.type),
    ['handshake', 'bitfield'],
  );
  assert.deepEqual(sent[1]?.type === 'bitfield' && [...sent[1].bitfield], [0x10, 0, 0]);
});

type Harness = ReturnType<typeof startPeer>;
const handshakeWith = (infoHash: Uint8Array, peerId: Uint8Array) => (h: Harness) => {
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash, peerId, reserved: new Uint8Array(8) });
};
/** After a valid handshake, deliver these items. */
const afterHandshake =
  (...items: ConnectionEvent[]) =>
  (h: Harness) => {
    h.handshake();
    for (const e of items) h.deliver(e);
  };

const closes: [string, (h: Harness) => void, string][] = [
  ['other torrent', handshakeWith(new Uint8Array(20), THEIR_ID), 'infoHashMismatch'],
  ['our own id', handshakeWith(INFO_HASH, OUR_ID), 'connectedToSelf'],
  [
    'bitfield after a have',
    afterHandshake({ type: 'wire.have', index: 1 }, { type: 'wire.bitfield', bitfield: ALL }),
    'bitfieldNotFirst',
  ],
  [
    'bitfield of the wrong length',
    afterHandshake({ type: 'wire.bitfield', bitfield: new Uint8Array(2) }),
    'badBitfield',
  ],
  [
    'bitfield with spare bits set',
    afterHandshake({ type: 'wire.bitfield', bitfield: new Uint8Array([0, 0, 0x01]) }),
    'badBitfield',
  ],
  ['have past the last piece', afterHandshake({ type: 'wire.have', index: 20 }), 'haveOutOfRange'],
  [
    'unrequested block',
    afterHandshake({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(16384) }),
    'unrequestedBlock',
  ],
  [
    'block of the wrong length',
    (h) => h.deliver({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(100) }),
    'wrongBlockLength',
  ],
  [
    'frame too long',
    afterHandshake({ type: 'wire.error', code: 'frameTooLong', message: 'frame of 9999999 bytes' }),
    'wireError',
  ],
  [
    'an accepted socket whose MSE preface fails, before it counts as connected',
    (h) => {
      h.deliver({ type: 'wire.error', code: 'mseBadVc', message: 'bad MSE verification constant' });
      h.deliver({ type: 'socket.closed' });
    },
    'wireError',
  ],
  ['socket closed', (h) => h.deliver({ type: 'socket.closed' }), 'socketClosed'],
  ['socket error', (h) => h.deliver({ type: 'socket.closed', error: 'ECONNRESET' }), 'socketError'],
  [
    'our dial failed at the proxy (its code the reason)',
    (h) =>
      h.deliver({ type: 'socket.closed', error: 'SOCKS5 proxy: connection refused', proxy: 'proxyRefused' }),
    'proxyRefused',
  ],
  [
    'banned by the supervisor',
    (h) => {
      h.handshake();
      h.command({ type: 'cmd.close', reason: { reason: 'banned' } });
    },
    'banned',
  ],
];

for (const [what, act, reason] of closes) {
  test(`closes with ${reason}: ${what}`, () => {
    const h = what === 'block of the wrong length' ? unchokedWithRequests(1) : startPeer();
    act(h);
    assert.equal(h.output()?.reason, reason);
    const closed = h.reports.at(-1);
    assert.equal(closed?.type, 'peer.closed');
    assert.equal(h.commands.at(-1)?.type, 'close');
  });
}

test('timeouts fire in virtual time: connect, handshake, silence, snub', () => {
  const c = startPeer();
  c.advance(DEFAULT_PEER_TIMEOUTS.connect - 50);
  assert.equal(c.isClosed(), false);
  c.advance(100);
  assert.deepEqual(c.output(), { reason: 'connectTimeout' });

  const hs = startPeer();
  hs.deliver({ type: 'socket.connected' });
  hs.advance(DEFAULT_PEER_TIMEOUTS.handshake + 50);
  assert.deepEqual(hs.output(), { reason: 'handshakeTimeout' });

  const quiet = startPeer({ timeouts: { idle: 30_000, keepAlive: 10_000 } });
  quiet.handshake();
  quiet.advance(29_000);
  assert.equal(quiet.isClosed(), false);
  assert.equal(quiet.sent().filter((m) => m.type === 'keepAlive').length, 2, 'keep-alive every 10 s');
  quiet.deliver({ type: 'wire.keepAlive' });
  quiet.advance(29_000);
  assert.equal(quiet.isClosed(), false, 'a keep-alive resets the silence clock');
  quiet.advance(2_000);
  assert.equal(quiet.output()?.reason, 'keepAliveTimeout');

  const snub = unchokedWithRequests(2);
  snub.advance(DEFAULT_PEER_TIMEOUTS.request - 2_000);
  snub.deliver({ type: 'wire.keepAlive' });
  assert.equal(snub.isClosed(), false);
  snub.advance(3_000);
  assert.deepEqual(snub.output(), {
    reason: 'requestTimeout',
    waitedMs: DEFAULT_PEER_TIMEOUTS.request,
    outstanding: 2,
  });
  const closed = snub.reports.at(-1);
  assert.equal(closed?.type === 'peer.closed' && closed.returned.length, 2, 'outstanding blocks go back');
});

test('requests only while interested and unchoked, only for pieces the peer has, never past the cap', () => {
  const h = startPeer({ limits: { maxPipeline: 3 } });
  h.handshake();
  h.deliver({ type: 'wire.have', index: 2 });
  h.command({ type: 'cmd.request', blocks: [{ index: 2, begin: 0, length: 10 }] });
  assert.equal(h.sent().filter((m) => m.type === 'request').length, 0, 'not interested yet');
  h.command({ type: 'cmd.interested' });
  h.command({ type: 'cmd.request', blocks: [{ index: 2, begin: 0, length: 10 }] });
  assert.equal(h.sent().filter((m) => m.type === 'request').length, 0, 'still choked');
  h.deliver({ type: 'wire.unchoke' });
  const want = h.reports.filter((r) => r.type === 'peer.wantBlocks').at(-1);
  assert.equal(want?.type === 'peer.wantBlocks' && want.count, 3);
  const blocks = [0, 1, 2, 3, 4].map((b) => ({ index: 2, begin: b * 10, length: 10 }));
  h.command({ type: 'cmd.request', blocks: [{ index: 5, begin: 0, length: 10 }, ...blocks] });
  assert.deepEqual(
    h.sent().flatMap((m) => (m.type === 'request' ? [m.begin] : [])),
    [0, 10, 20],
  );
  const back = h.reports.filter((r) => r.type === 'peer.returned').at(-1);
  assert.deepEqual(back?.type === 'peer.returned' && back.returned.map((b) => `${b.index}:${b.begin}`), [
    '5:0',
    '2:30',
    '2:40',
  ]);
});

test('a choke returns every outstanding request; late copies of cancelled or returned blocks are dropped quietly', () => {
  const h = unchokedWithRequests(3);
  h.command({ type: 'cmd.cancel', blocks: [{ index: 2, begin: 0, length: 16384 }] });
  assert.equal(h.sent().at(-1)?.type, 'cancel');
  h.deliver({ type: 'wire.piece', index: 2, begin: 0, block: new Uint8Array(16384) });
  assert.equal(h.isClosed(), false, 'cancel races the piece (BEP 3)');
  h.deliver({ type: 'wire.choke' });
  const choked = h.reports.at(-1);
  assert.deepEqual(choked?.type === 'peer.choked' && choked.returned.map((b) => b.index), [0, 1]);
  h.deliver({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(16384) });
  assert.equal(h.isClosed(), false, 'a block in flight past the choke is not a violation');
  assert.equal(h.reports.filter((r) => r.type === 'peer.block').length, 0, 'and not reported');
  h.deliver({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(16384) });
  assert.equal(h.output()?.reason, 'unrequestedBlock', 'a second copy is');
});

test('every block is reported with its bytes and the room left', () => {
  const h = unchokedWithRequests(2);
  const block = new Uint8Array(16384).fill(9);
  h.deliver({ type: 'wire.piece', index: 1, begin: 0, block });
  const [b, w] = h.reports.slice(-2);
  assert.ok(b?.type === 'peer.block' && b.block === block && b.index === 1);
  // Slow start: the block widened the pipeline to initialPipeline + 1; one request is still out.
  assert.deepEqual(w, {
    type: 'peer.wantBlocks',
    key: 'peer-a',
    count: DEFAULT_PEER_LIMITS.initialPipeline,
  });
});

test('slow start: before the first tick each block received widens the pipeline by one, up to the cap', () => {
  const h = unchokedWithRequests(32);
  const deliver = (i: number) =>
    h.deliver({
      type: 'wire.piece',
      index: i % 20,
      begin: Math.floor(i / 20) * 16384,
      block: new Uint8Array(16384),
    });
  for (let i = 0; i < 32; i++) deliver(i);
  const want = h.reports.filter((r) => r.type === 'peer.wantBlocks').at(-1);
  // 32 answered: the pipeline doubled to 64, all of it free.
  assert.deepEqual(want, { type: 'peer.wantBlocks', key: 'peer-a', count: 64 });
  // The first tick measures the rate and sets the target from it (512 KiB/s × 3 s: 96).
  h.advance(DEFAULT_PEER_TIMEOUTS.tick);
  const after = h.reports.filter((r) => r.type === 'peer.wantBlocks').at(-1);
  assert.deepEqual(after, { type: 'peer.wantBlocks', key: 'peer-a', count: 96 });

  const capped = unchokedWithRequests(8, {
    limits: { ...DEFAULT_PEER_LIMITS, initialPipeline: 8, maxPipeline: 10 },
  });
  for (let i = 0; i < 8; i++)
    capped.deliver({ type: 'wire.piece', index: i, begin: 0, block: new Uint8Array(16384) });
  const last = capped.reports.filter((r) => r.type === 'peer.wantBlocks').at(-1);
  assert.deepEqual(last, { type: 'peer.wantBlocks', key: 'peer-a', count: 10 }, 'never past maxPipeline');
});

test('nothing is sent after close', () => {
  const h = unchokedWithRequests(2);
  h.command({ type: 'cmd.close', reason: { reason: 'stopped' } });
  const n = h.commands.length;
  h.command({ type: 'cmd.have', index: 1 });
  h.advance(300_000);
  assert.equal(h.commands.length, n);
});

test('pipeline target follows the rate: clamp(ceil(rate × seconds / block), min, max)', () => {
  const l = DEFAULT_PEER_LIMITS;
  assert.equal(pipelineTarget(0, l), l.minPipeline);
  assert.equal(pipelineTarget(16384, l), Math.max(l.minPipeline, 3));
  assert.equal(pipelineTarget(10 * 16384, l), 30);
  assert.equal(pipelineTarget(1e9, l), l.maxPipeline);
});

test('the pipeline grows with a fast peer, measured per tick', () => {
  const h = unchokedWithRequests(32);
  for (let i = 0; i < 32; i++)
    h.deliver({
      type: 'wire.piece',
      index: i % 20,
      begin: Math.floor(i / 20) * 16384,
      block: new Uint8Array(16384),
    });
  h.advance(DEFAULT_PEER_TIMEOUTS.tick);
  const want = h.reports.filter((r) => r.type === 'peer.wantBlocks').at(-1);
  // 32 blocks in one second: 512 KiB/s × 3 s / 16 KiB = 96 requests wanted.
  assert.deepEqual(want, { type: 'peer.wantBlocks', key: 'peer-a', count: 96 });
});

test('a peer that flaps choke/unchoke past limits.unchokeBurst is closed; one unchoke per tick is not', () => {
  const { unchokeBurst } = DEFAULT_PEER_LIMITS;
  const flapping = unchokedWithRequests(2); // unchoked once
  for (let i = 1; i < unchokeBurst; i++) {
    flapping.deliver({ type: 'wire.choke' });
    flapping.deliver({ type: 'wire.unchoke' });
  }
  assert.equal(flapping.isClosed(), false, `${unchokeBurst} unchokes at once are within the burst`);
  const asked = flapping.reports.filter((r) => r.type === 'peer.wantBlocks').length;
  flapping.deliver({ type: 'wire.choke' });
  flapping.deliver({ type: 'wire.unchoke' });
  assert.deepEqual(flapping.output(), {
    reason: 'unchokeFlood',
    unchokes: unchokeBurst + 1,
    limit: unchokeBurst,
  });
  assert.equal(
    flapping.reports.filter((r) => r.type === 'peer.wantBlocks').length,
    asked,
    'the unchoke that closes asks for no blocks',
  );

  // A choke and an unchoke every tick for a minute: the bucket leaks one per tick.
  const rotating = unchokedWithRequests(2);
  for (let i = 0; i < 60; i++) {
    rotating.advance(DEFAULT_PEER_TIMEOUTS.tick);
    rotating.deliver({ type: 'wire.choke' });
    rotating.deliver({ type: 'wire.unchoke' });
    rotating.deliver({ type: 'wire.keepAlive' });
  }
  assert.equal(rotating.isClosed(), false);
  // Not interested in the peer, flapping costs the same check.
  const idle = startPeer();
  idle.handshake();
  for (let i = 0; i <= unchokeBurst; i++) {
    idle.deliver({ type: 'wire.unchoke' });
    idle.deliver({ type: 'wire.choke' });
  }
  assert.equal(idle.output()?.reason, 'unchokeFlood');
});

test('wire.haves: each new piece reported once, in order; an index out of range closes the connection', () => {
  const h = startPeer();
  h.handshake();
  h.deliver({ type: 'wire.have', index: 2 });
  h.deliver({ type: 'wire.haves', indices: [1, 2, 7, 1, 19] });
  assert.deepEqual(
    h.reports.flatMap((r) => (r.type === 'peer.have' ? [r.index] : [])),
    [2, 1, 7, 19],
  );
  assert.equal(h.isClosed(), false);
  h.deliver({ type: 'wire.haves', indices: [3, 20, 4] });
  assert.deepEqual(h.output(), { reason: 'haveOutOfRange', index: 20, pieceCount: 20 });
});

test('a peer whose interest flaps past limits.interestBurst is closed; one change per tick is not', () => {
  const { interestBurst } = DEFAULT_PEER_LIMITS;
  const flapping = startPeer();
  flapping.handshake();
  for (let i = 0; i < interestBurst; i++) {
    flapping.deliver({ type: 'wire.interested' });
    flapping.deliver({ type: 'wire.notInterested' });
  }
  assert.equal(flapping.isClosed(), false);
  flapping.deliver({ type: 'wire.interested' });
  assert.deepEqual(flapping.output(), {
    reason: 'interestFlood',
    times: interestBurst + 1,
    limit: interestBurst,
  });

  const steady = startPeer();
  steady.handshake();
  for (let i = 0; i < 60; i++) {
    steady.advance(DEFAULT_PEER_TIMEOUTS.tick);
    steady.deliver({ type: 'wire.interested' });
    steady.deliver({ type: 'wire.interested' }); // a repeat is not a change
    steady.deliver({ type: 'wire.notInterested' });
  }
  assert.equal(steady.isClosed(), false);
});
