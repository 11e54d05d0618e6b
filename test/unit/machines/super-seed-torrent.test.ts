/**
 * BEP 16, super-seeding, through the torrent machine and its peer machines
 * (machines/torrent-super-seed.ts, super-seed-reveals.ts, the peer machine's opening and request
 * fate): a super-seed says it has nothing (haveNone to a fast peer, no bitfield to another), shows
 * each peer two pieces with `have` — different peers different pieces —, shows the next when the
 * peer announces one it was shown, replaces one the peer's bitfield names, refuses requests for the
 * pieces it did not show (a fast peer's rejected, another's closed as any request for a piece we
 * never announced), serves the ones it showed, and says no `upload_only`. A seed without the
 * option, and a super-seed still downloading, announce their pieces as ever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import type { TorrentInput } from '../../../machines/torrent.types.js';
import { extensionHandshakeEvent } from '../../../src/net/wire-events.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { type start as Start, start } from './torrent-harness.js';

type T = ReturnType<typeof Start>;

const superSeed = (over: Partial<TorrentInput> = {}) =>
  start({ maxPeers: 8, have: Bitfield.full(8), seedWhenComplete: true, superSeed: true, ...over });

/** We dial the peer at `address`; it handshakes with BEP 10 and, if `fast`, BEP 6. */
function connect(t: T, address: string, fast = true): (e: ConnectionEvent) => void {
  t.actor.send({ type: 'peer.add', address });
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  if (fast) reserved[7] = 0x04;
  send({ type: 'socket.connected' });
  send({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(address.charCodeAt(0) + address.length),
    reserved,
  });
  return send;
}

const sentTo = (t: T, address: string): WireItem[] => t.sentTo.get(address) ?? [];
const havesTo = (t: T, address: string): number[] =>
  sentTo(t, address).flatMap((m) => (m.type === 'have' ? [m.index] : []));
const peerContext = (t: T, address: string) => {
  const e = t.actor.getSnapshot().context.peers.get(address);
  assert.ok(e !== undefined, `no peer ${address}`);
  return e.ref.getSnapshot().context;
};
const closedWith = (t: T, address: string) =>
  t.emitted.flatMap((e) => (e.type === 'torrent.peerClosed' && e.address === address ? [e.reason] : []));

test('a super-seed says it has nothing to a fast peer (haveNone), then shows two pieces with have', () => {
  const t = superSeed();
  try {
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
    assert.ok(t.emitted.some((e) => e.type === 'torrent.seeding' && e.superSeed === true));
    connect(t, 'p:1');
    const types = sentTo(t, 'p:1').map((m) => m.type);
    assert.equal(types.includes('haveAll'), false);
    assert.equal(types.includes('bitfield'), false);
    assert.equal(types.includes('allowedFast'), false, 'no allowed fast set: pieces it never showed');
    assert.ok(types.indexOf('haveNone') >= 0 && types.indexOf('haveNone') < types.indexOf('have'));
    const shown = havesTo(t, 'p:1');
    assert.equal(shown.length, 2);
    assert.notEqual(shown[0], shown[1]);
    // libtorrent's rule: a super-seed does not say upload_only (the peer might leave after a piece).
    const ext = sentTo(t, 'p:1').find((m) => m.type === 'extended' && m.extendedId === 0);
    assert.ok(ext?.type === 'extended');
    assert.equal(extensionHandshakeEvent(ext.payload).uploadOnly, undefined);
  } finally {
    t.actor.stop();
  }
});

test('to a peer without BEP 6 a super-seed sends no bitfield at all, only the haves', () => {
  const t = superSeed();
  try {
    connect(t, 'p:1', false);
    const types = sentTo(t, 'p:1').map((m) => m.type);
    assert.deepEqual(
      types.filter((x) => x !== 'extended' && x !== 'handshake'),
      ['have', 'have'],
    );
  } finally {
    t.actor.stop();
  }
});

test('without the option, or still downloading, a seed announces its pieces as ever', () => {
  const plain = start({ maxPeers: 8, have: Bitfield.full(8), seedWhenComplete: true });
  const have = new Bitfield(8);
  for (let i = 0; i < 6; i++) have.set(i);
  const downloading = superSeed({ have });
  try {
    connect(plain, 'p:1');
    assert.ok(sentTo(plain, 'p:1').some((m) => m.type === 'haveAll'));
    connect(downloading, 'p:1');
    assert.ok(sentTo(downloading, 'p:1').some((m) => m.type === 'bitfield'));
    assert.deepEqual(havesTo(downloading, 'p:1'), []);
  } finally {
    plain.actor.stop();
    downloading.actor.stop();
  }
});

test('different peers are shown different pieces while there are unshown ones', () => {
  const t = superSeed();
  try {
    for (const a of ['p:1', 'p:2', 'p:3', 'p:4']) connect(t, a);
    const all = ['p:1', 'p:2', 'p:3', 'p:4'].flatMap((a) => havesTo(t, a));
    assert.equal(all.length, 8);
    assert.equal(new Set(all).size, 8, `8 pieces, each to one peer: ${all}`);
  } finally {
    t.actor.stop();
  }
});

test('a have for a piece it was shown brings the next one; a have for another does not', () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1');
    const [a, b] = havesTo(t, 'p:1') as [number, number];
    const other = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => i !== a && i !== b)!;
    send({ type: 'wire.have', index: other });
    assert.equal(havesTo(t, 'p:1').length, 2);
    send({ type: 'wire.have', index: a });
    const shown = havesTo(t, 'p:1');
    assert.equal(shown.length, 3);
    assert.ok(![a, b, other].includes(shown[2]!), `a piece it lacks and was not shown: ${shown}`);
    assert.deepEqual([...peerContext(t, 'p:1').revealed].sort(), [b, shown[2]!].sort());
  } finally {
    t.actor.stop();
  }
});

test("the peer's bitfield naming a piece it was shown replaces that piece", () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1');
    const [a, b] = havesTo(t, 'p:1') as [number, number];
    const bits = new Bitfield(8);
    bits.set(a);
    send({ type: 'wire.bitfield', bitfield: bits.bytes });
    const shown = havesTo(t, 'p:1');
    assert.equal(shown.length, 3);
    assert.ok(shown[2] !== a && shown[2] !== b);
    assert.deepEqual([...peerContext(t, 'p:1').revealed].sort(), [b, shown[2]!].sort());
  } finally {
    t.actor.stop();
  }
});

test('requests: a piece shown is served, another is rejected (BEP 6) or closes a peer without it', () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1');
    const [a, b] = havesTo(t, 'p:1') as [number, number];
    const hidden = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => i !== a && i !== b)!;
    send({ type: 'wire.interested' });
    assert.ok(sentTo(t, 'p:1').some((m) => m.type === 'unchoke'));
    send({ type: 'wire.request', index: a, begin: 0, length: 1024 });
    send({ type: 'wire.request', index: hidden, begin: 0, length: 1024 });
    const c = peerContext(t, 'p:1');
    assert.equal(c.reading.size + c.requestQueue.size, 1, 'the shown piece is served');
    assert.ok(
      sentTo(t, 'p:1').some((m) => m.type === 'reject' && m.index === hidden),
      'the hidden piece is rejected',
    );
    assert.deepEqual(closedWith(t, 'p:1'), []);

    const slow = connect(t, 'q:2', false);
    const shown = havesTo(t, 'q:2');
    const hiddenToSlow = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => !shown.includes(i))!;
    slow({ type: 'wire.interested' });
    slow({ type: 'wire.request', index: hiddenToSlow, begin: 0, length: 1024 });
    const [reason] = closedWith(t, 'q:2');
    assert.equal(reason?.reason, 'badRequest');
  } finally {
    t.actor.stop();
  }
});

test('a connection that closes gives its pieces back: the next peer is shown them', () => {
  const t = superSeed({ pieceCount: 4, totalLength: 4 * 1024, have: Bitfield.full(4) });
  try {
    connect(t, 'p:1');
    connect(t, 'p:2');
    const first = havesTo(t, 'p:1');
    assert.equal(first.length, 2);
    assert.equal(havesTo(t, 'p:2').length, 2, 'the other two pieces');
    t.live.get('p:1')!({ type: 'socket.closed' });
    connect(t, 'p:3');
    assert.deepEqual([...havesTo(t, 'p:3')].sort(), [...first].sort());
  } finally {
    t.actor.stop();
  }
});

test('download --seed: connections made once the last piece is verified are super-seeded, earlier ones not', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 7; i++) have.set(i);
  const t = superSeed({ have });
  try {
    connect(t, 'p:1');
    assert.ok(sentTo(t, 'p:1').some((m) => m.type === 'bitfield'));
    assert.equal(
      t.emitted.some((e) => e.type === 'torrent.seeding'),
      false,
    );
    t.storage({ type: 'piece.verified', index: 7 });
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
    assert.ok(t.emitted.some((e) => e.type === 'torrent.seeding' && e.superSeed === true));
    // The connection from before heard our have for piece 7 as any peer does, and stays a seed's.
    assert.deepEqual(havesTo(t, 'p:1'), [7]);
    connect(t, 'p:2');
    const types = sentTo(t, 'p:2').map((m) => m.type);
    assert.ok(types.includes('haveNone') && !types.includes('bitfield') && !types.includes('haveAll'));
    assert.equal(havesTo(t, 'p:2').length, 2);
  } finally {
    t.actor.stop();
  }
});

// A peer that does not send `have` for a piece to a peer that announced it (libtorrent's
// send_redundant_have off, and clients that spare such haves) takes the two pieces it was shown
// and goes not interested: as libtorrent (peer_connection::incoming_not_interested), that is when
// it is shown the next — else a swarm of it and us stalls for good.
test('a peer that goes not interested without a have for the pieces it was shown is shown the next', () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1', false);
    const [a, b] = havesTo(t, 'p:1') as [number, number];
    send({ type: 'wire.interested' });
    send({ type: 'wire.notInterested' });
    const shown = havesTo(t, 'p:1');
    assert.ok(shown.length > 2, `no piece shown after the pieces it was shown: ${shown}`);
    assert.ok(
      shown.slice(2).every((i) => i !== a && i !== b),
      `new pieces, not those it was shown: ${shown}`,
    );
    // A have we sent stands: a request for a piece shown before (one that crossed the not
    // interested) is served, not taken for a request for a piece we never announced.
    send({ type: 'wire.interested' });
    send({ type: 'wire.request', index: a, begin: 0, length: 1024 });
    assert.deepEqual(closedWith(t, 'p:1'), []);
    const c = peerContext(t, 'p:1');
    assert.equal(c.reading.size + c.requestQueue.size, 1);
  } finally {
    t.actor.stop();
  }
});

test('a peer that was never interested and says not interested is not shown more', () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1');
    send({ type: 'wire.notInterested' });
    assert.equal(havesTo(t, 'p:1').length, 2);
  } finally {
    t.actor.stop();
  }
});

test('a piece shown on its have just before a not interested stays shown: the two may have crossed', () => {
  const t = superSeed();
  try {
    const send = connect(t, 'p:1', false);
    const [a, b] = havesTo(t, 'p:1') as [number, number];
    send({ type: 'wire.interested' });
    send({ type: 'wire.have', index: a });
    const c = havesTo(t, 'p:1')[2]!;
    send({ type: 'wire.notInterested' });
    const revealed = peerContext(t, 'p:1').revealed;
    assert.ok(revealed.includes(c), `the piece shown on its have stays: ${revealed}`);
    assert.equal(revealed.includes(b), false, `the piece it had heard of is declined: ${revealed}`);
  } finally {
    t.actor.stop();
  }
});
