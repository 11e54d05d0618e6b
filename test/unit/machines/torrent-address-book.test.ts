/**
 * The address book (machines/torrent-address-book.ts): a ban covers the peer's host for incoming
 * connections and the banned endpoints for dials; an incoming connection's record is forgotten as
 * it ends; the book and the banned hosts are bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerEncryption, PeerTransport } from '../../../machines/peer.types.js';
import { banPeer, isHostBanned, MAX_BANNED_HOSTS } from '../../../machines/torrent-address-book.js';
import type { TorrentContext, TorrentEffects } from '../../../machines/torrent-context.js';
import { hostOf } from '../../../src/net/address.js';
import { extensionHandshake, sendsRequestedBlocks, start } from './torrent-harness.js';

function rejected(t: ReturnType<typeof start>): [unknown, string][] {
  return t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : []));
}

test('a banned incoming peer is refused when it dials in again from any source port', () => {
  const t = start({ maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.incoming', address: '127.0.0.1:53718', handle: 'first' });
  t.actor.send({ type: 'peer.incoming', address: '127.0.0.1:53719', handle: 'second' });
  extensionHandshake(t, '127.0.0.1:53718', 6001);
  extensionHandshake(t, '127.0.0.1:53719', 6002, new Uint8Array(20).fill(3));
  const [bad] = sendsRequestedBlocks(t, '127.0.0.1:53718');
  assert.ok(bad !== undefined, 'it was asked for a block');
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  // Its other connection goes too: the host opened both.
  assert.deepEqual([...t.live.keys()], []);
  for (const port of [53720, 53722, 61000])
    t.actor.send({ type: 'peer.incoming', address: `127.0.0.1:${port}`, handle: port });
  assert.deepEqual(rejected(t), [
    [53720, 'banned'],
    [53722, 'banned'],
    [61000, 'banned'],
  ]);
  assert.deepEqual([...t.live.keys()], []);
  // Where the banned peer listens is banned; where the other one listens is not (another peer on
  // the same host, as in a local swarm).
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6001' });
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6002' });
  assert.deepEqual([...t.live.keys()], ['127.0.0.1:6002']);
  t.actor.stop();
});

test('a sole contributor gone before its piece failed is banned all the same', () => {
  const t = start({ maxPeers: 4 });
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'first' });
  extensionHandshake(t, 'x:50123');
  const [bad] = sendsRequestedBlocks(t, 'x:50123');
  t.live.get('x:50123')?.({ type: 'socket.closed' }); // hangs up while its piece is verified
  assert.ok(bad !== undefined);
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  assert.ok(t.emitted.some((e) => e.type === 'torrent.peerBanned' && e.address === 'x:50123'));
  t.actor.send({ type: 'peer.incoming', address: 'x:50999', handle: 'again' });
  assert.deepEqual(rejected(t), [['again', 'banned']]);
  t.actor.stop();
});

test('banning a dialled peer leaves the other ports of its host dialable (a local swarm on 127.0.0.1)', () => {
  const t = start({ maxPeers: 4 });
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6001' });
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6002' });
  extensionHandshake(t, '127.0.0.1:6001');
  extensionHandshake(t, '127.0.0.1:6002', undefined, new Uint8Array(20).fill(3));
  const [bad] = sendsRequestedBlocks(t, '127.0.0.1:6001');
  assert.ok(bad !== undefined);
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  assert.deepEqual([...t.live.keys()], ['127.0.0.1:6002'], 'the honest peer on the same host stays');
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6001' });
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6003' });
  assert.deepEqual(
    [...t.live.keys()].sort(),
    ['127.0.0.1:6002', '127.0.0.1:6003'],
    'the banned endpoint alone is not dialled',
  );
  t.actor.send({ type: 'peer.incoming', address: '127.0.0.1:50000', handle: 'in' });
  assert.deepEqual(rejected(t), [['in', 'banned']], 'incoming from the banned host is refused');
  t.actor.stop();
});

test('the record of an incoming connection is forgotten as it ends', () => {
  const t = start({ maxPeers: 4 });
  for (let i = 0; i < 200; i++) {
    const address = `127.0.0.${2 + (i % 8)}:${40000 + i}`;
    t.actor.send({ type: 'peer.incoming', address, handle: i });
    extensionHandshake(t, address);
    t.live.get(address)?.({ type: 'socket.closed' });
  }
  assert.equal(t.actor.getSnapshot().context.addresses.size, 0);
  t.actor.send({ type: 'peer.add', address: 'y:6881' });
  assert.deepEqual([...t.actor.getSnapshot().context.addresses.keys()], ['y:6881']);
  t.actor.stop();
});

test('the address book is capped: given-up addresses go first, then the oldest queued; live and banned ones stay', () => {
  const t = start({ maxPeers: 1, maxAddresses: 4, maxReconnects: 0 });
  t.actor.send({ type: 'peer.add', address: 'gone:1' });
  t.live.get('gone:1')?.({ type: 'socket.closed', error: 'ECONNREFUSED' }); // given up: maxReconnects 0
  t.actor.send({ type: 'peer.add', address: 'live:1' }); // dialled: holds the one slot
  for (const a of ['q1:1', 'q2:1']) t.actor.send({ type: 'peer.add', address: a });
  const book = () => [...t.actor.getSnapshot().context.addresses.keys()];
  assert.deepEqual(book(), ['gone:1', 'live:1', 'q1:1', 'q2:1']);
  t.actor.send({ type: 'peer.add', address: 'q3:1' });
  assert.deepEqual(book(), ['live:1', 'q1:1', 'q2:1', 'q3:1'], 'the given-up address went');
  t.actor.send({ type: 'peer.add', address: 'q4:1' });
  assert.deepEqual(book(), ['live:1', 'q2:1', 'q3:1', 'q4:1'], 'then the oldest queued one');
  // Queued addresses whose records went are not dialled.
  t.live.get('live:1')?.({ type: 'socket.closed' });
  assert.deepEqual([...t.live.keys()], ['q2:1']);
  // An incoming connection gets a record even when the book is full of live and banned ones.
  t.actor.send({ type: 'peer.incoming', address: 'in:50000', handle: 'in' });
  assert.ok(t.actor.getSnapshot().context.addresses.has('in:50000'));
  t.actor.stop();
});

test('banned hosts are bounded: past MAX_BANNED_HOSTS the oldest ban is forgotten', () => {
  const context = {
    addresses: new Map(),
    bannedHosts: new Set<string>(),
    peers: new Map(),
    departedListen: new Map(),
    webSeeds: new Map(),
  } as unknown as TorrentContext;
  const fx: TorrentEffects = { emit: () => {}, toPeer: () => {}, toStorage: () => {} };
  // One /64 each (a ban covers the /64: src/net/ban-key.ts).
  for (let i = 0; i <= MAX_BANNED_HOSTS; i++)
    banPeer(context, `[2001:db8:${i.toString(16)}::1]:6881`, 'soleContributor', 1, fx);
  assert.equal(context.bannedHosts.size, MAX_BANNED_HOSTS);
  assert.equal(isHostBanned(context, '[2001:db8:0::2]:50000'), false, 'the oldest went');
  assert.equal(isHostBanned(context, `[2001:db8:${MAX_BANNED_HOSTS.toString(16)}::2]:1`), true);
});

test('an IPv6 ban covers the /64 for incoming connections: rotating addresses does not get back in', () => {
  const t = start({ maxPeers: 4 });
  t.actor.send({ type: 'peer.add', address: '[2001:db8:1:2::c]:6881' }); // a dialled neighbour
  t.actor.send({ type: 'peer.incoming', address: '[2001:db8:1:2::a]:50000', handle: 'bad' });
  t.actor.send({ type: 'peer.incoming', address: '[2001:db8:1:2::b]:50001', handle: 'other' });
  extensionHandshake(t, '[2001:db8:1:2::c]:6881', undefined, new Uint8Array(20).fill(4));
  extensionHandshake(t, '[2001:db8:1:2::a]:50000');
  extensionHandshake(t, '[2001:db8:1:2::b]:50001', undefined, new Uint8Array(20).fill(3));
  const [bad] = sendsRequestedBlocks(t, '[2001:db8:1:2::a]:50000');
  assert.ok(bad !== undefined, 'it was asked for a block');
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  // Every connection the /64 opened to us goes; the one we dialled there stays (bans of dials are
  // per endpoint: torrent-address-book.ts).
  assert.deepEqual([...t.live.keys()], ['[2001:db8:1:2::c]:6881']);
  const addresses = [
    '[2001:db8:1:2:ffff:ffff:ffff:ffff]:50002',
    '[2001:DB8:1:2:0:0:0:D]:50003',
    '[2001:0db8:0001:0002::e%eth0]:50004',
    '[2001:db8:1:3::a]:50005', // the next /64: another site
  ];
  for (const address of addresses) t.actor.send({ type: 'peer.incoming', address, handle: address });
  assert.deepEqual(
    rejected(t),
    addresses.slice(0, 3).map((a) => [a, 'banned']),
  );
  assert.ok(t.live.has('[2001:db8:1:3::a]:50005'));
  t.actor.stop();
});

test('an IPv4 peer seen on a dual-stack socket is banned as its IPv4 address, however written', () => {
  const t = start({ maxPeers: 4 });
  t.actor.send({ type: 'peer.incoming', address: '[::ffff:10.0.0.7]:50000', handle: 'bad' });
  extensionHandshake(t, '[::ffff:10.0.0.7]:50000');
  const [bad] = sendsRequestedBlocks(t, '[::ffff:10.0.0.7]:50000');
  assert.ok(bad !== undefined);
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  const addresses = [
    '10.0.0.7:50001',
    '[::ffff:a00:7]:50002',
    '[0:0:0:0:0:FFFF:10.0.0.7]:50003',
    '10.0.0.8:50004',
  ];
  for (const address of addresses) t.actor.send({ type: 'peer.incoming', address, handle: address });
  assert.deepEqual(
    rejected(t),
    addresses.slice(0, 3).map((a) => [a, 'banned']),
  );
  assert.ok(t.live.has('10.0.0.8:50004'));
  t.actor.stop();
});

test('hostOf: IPv4, bracketed IPv6, lower case and as written', () => {
  assert.equal(hostOf('127.0.0.1:53718'), '127.0.0.1');
  assert.equal(hostOf('[2001:DB8::1]:6881'), '2001:db8::1');
  assert.equal(hostOf('[::ffff:10.0.0.7]:50000'), '::ffff:10.0.0.7');
  assert.equal(hostOf('[fe80::1%eth0]:50000'), 'fe80::1%eth0');
});

test('sockets that connect and hang up never push a learned address out of a full book', () => {
  const t = start({ maxPeers: 1, maxAddresses: 3 });
  for (const a of ['a:1', 'b:1', 'c:1']) t.actor.send({ type: 'peer.add', address: a });
  const book = () => [...t.actor.getSnapshot().context.addresses.keys()].sort();
  assert.deepEqual(book(), ['a:1', 'b:1', 'c:1']);
  for (let i = 0; i < 50; i++) {
    const address = `127.0.0.9:${50000 + i}`;
    t.actor.send({ type: 'peer.incoming', address, handle: i });
    t.live.get(address)?.({ type: 'socket.closed' });
  }
  assert.deepEqual(book(), ['a:1', 'b:1', 'c:1']);
  t.actor.stop();
});

test('a full book evicts a sixteenth of itself at once, so learning addresses is not a pass over the book each', () => {
  const t = start({ maxPeers: 1, maxAddresses: 32 });
  const context = () => t.actor.getSnapshot().context;
  t.actor.send({ type: 'peer.add', address: 'live:1' }); // dialled: holds the one slot
  for (let i = 0; i < 31; i++) t.actor.send({ type: 'peer.add', address: `q${i}:1` });
  assert.equal(context().addresses.size, 32);
  t.actor.send({ type: 'peer.add', address: 'new0:1' });
  const book = [...context().addresses.keys()];
  assert.equal(book.length, 31, 'two went (32 / 16), one came');
  assert.ok(!book.includes('q0:1') && !book.includes('q1:1') && book.includes('q2:1'), 'the oldest queued');
  assert.ok(book.includes('live:1'), 'never the live connection');
  t.actor.send({ type: 'peer.add', address: 'new1:1' });
  assert.equal(context().addresses.size, 32, 'room was made already');
  // However many are learned, the book and the dial queue stay bounded.
  for (let i = 0; i < 2_000; i++) t.actor.send({ type: 'peer.add', address: `m${i}:1` });
  assert.ok(context().addresses.size <= 32);
  assert.ok(context().queue.length <= 2 * 32 + 1, `queue ${context().queue.length}`);
  assert.ok(context().addresses.has('m1999:1'), 'the newest is remembered');
  t.actor.stop();
});

test('a full book of bans forgets one ban at a time, and only when nothing else may go', () => {
  const t = start({ maxPeers: 1, maxAddresses: 32 });
  const context = () => t.actor.getSnapshot().context;
  for (let i = 0; i < 31; i++) {
    t.actor.send({ type: 'peer.add', address: `bad${i}:1` });
    const rec = context().addresses.get(`bad${i}:1`);
    if (rec !== undefined) rec.banned = true; // as banPeer leaves it
  }
  t.actor.send({ type: 'peer.add', address: 'q:1' });
  assert.equal(context().addresses.size, 32);
  const bans = () => [...context().addresses.values()].filter((r) => r.banned).length;
  assert.equal(bans(), 31);
  t.actor.send({ type: 'peer.add', address: 'new:1' });
  assert.ok(!context().addresses.has('q:1'), 'the queued record went');
  assert.equal(bans(), 31, 'no ban went with it, though the batch (2) had room');
  t.actor.send({ type: 'peer.add', address: 'new2:1' });
  assert.equal(bans(), 31, 'then new:1 went for new2:1: a record that is no ban goes first');
  // A book of nothing but bans (and the live connection) forgets one, the oldest, per newcomer.
  const rec = context().addresses.get('new2:1');
  if (rec !== undefined) rec.banned = true;
  t.actor.send({ type: 'peer.add', address: 'new3:1' });
  assert.equal(bans(), 31);
  assert.ok(!context().addresses.has('bad1:1') && context().addresses.has('bad2:1'));
  t.actor.stop();
});

/** The peer at `address` handshakes over `encryption` (as its connection reports it), then hangs up. */
function handshakesThenCloses(
  t: ReturnType<typeof start>,
  address: string,
  encryption: PeerEncryption,
  transport?: PeerTransport,
): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  send({ type: 'socket.connected' });
  send({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(2),
    reserved: new Uint8Array(8),
    encryption,
    ...(transport === undefined ? {} : { transport }),
  });
  send({ type: 'socket.closed' });
}

test('an address last reached over MSE is dialled with MSE first; reached plain again, it is not', () => {
  const t = start({ maxPeers: 2, maxReconnects: 5 });
  const dials = (address: string) => t.inputs.filter((i) => i.address === address).map((i) => i.mseFirst);
  t.actor.send({ type: 'peer.add', address: 'a:1' });
  t.actor.send({ type: 'peer.add', address: 'b:1' });
  handshakesThenCloses(t, 'a:1', 'rc4'); // reached through the MSE retry; redialled at its close
  handshakesThenCloses(t, 'b:1', 'none');
  assert.deepEqual(dials('a:1'), [undefined, true], 'the reconnect starts with MSE');
  assert.deepEqual(dials('b:1'), [undefined, undefined]);
  handshakesThenCloses(t, 'a:1', 'plaintext'); // MSE, then plaintext: still an MSE handshake
  assert.deepEqual(dials('a:1'), [undefined, true, true]);
  handshakesThenCloses(t, 'a:1', 'none'); // it took a plain handshake this time: forgotten
  assert.deepEqual(dials('a:1'), [undefined, true, true, undefined]);
  assert.equal(t.actor.getSnapshot().context.addresses.get('a:1')?.mseFirst, undefined);
  t.actor.stop();
});

test('an address last reached over uTP is dialled over uTP first; reached over TCP again, it is not', () => {
  const t = start({ maxPeers: 2, maxReconnects: 5 });
  const dials = (address: string) => t.inputs.filter((i) => i.address === address).map((i) => i.utpFirst);
  t.actor.send({ type: 'peer.add', address: 'a:1' });
  t.actor.send({ type: 'peer.add', address: 'b:1' });
  handshakesThenCloses(t, 'a:1', 'none', 'utp'); // reached after its TCP dial failed
  handshakesThenCloses(t, 'b:1', 'none', 'tcp');
  assert.deepEqual(dials('a:1'), [undefined, true], 'the reconnect starts with uTP');
  assert.deepEqual(dials('b:1'), [undefined, undefined]);
  handshakesThenCloses(t, 'a:1', 'none'); // no transport said: TCP, forgotten
  assert.deepEqual(dials('a:1'), [undefined, true, undefined]);
  assert.equal(t.actor.getSnapshot().context.addresses.get('a:1')?.utpFirst, undefined);
  t.actor.stop();
});

test("peer.add with a dial's outcome from before the machine (a magnet's fetch): its first dial goes that way", () => {
  const t = start({ maxPeers: 3 });
  const first = (address: string) => t.inputs.find((i) => i.address === address);
  t.actor.send({ type: 'peer.add', address: 'a:1', dialled: { encryption: 'rc4', transport: 'tcp' } });
  t.actor.send({ type: 'peer.add', address: 'b:1', dialled: { encryption: 'none', transport: 'utp' } });
  t.actor.send({ type: 'peer.add', address: 'c:1' });
  assert.equal(first('a:1')?.mseFirst, true, 'the fetch needed MSE there: the first dial starts with it');
  assert.equal(first('a:1')?.utpFirst, undefined);
  assert.equal(first('b:1')?.mseFirst, undefined);
  assert.equal(first('b:1')?.utpFirst, true, 'the fetch reached it over uTP');
  assert.equal(first('c:1')?.mseFirst, undefined, 'no outcome said: plain and TCP first, as before');
  assert.equal(first('c:1')?.utpFirst, undefined);
  t.actor.stop();
});

test('an incoming connection over MSE marks nothing: its address is not where the peer takes dials', () => {
  const t = start({ maxPeers: 2 });
  t.actor.send({ type: 'peer.incoming', address: 'c:50000', handle: 'in' });
  const send = t.live.get('c:50000')!;
  send({ type: 'socket.connected' });
  send({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(2),
    reserved: new Uint8Array(8),
    encryption: 'rc4',
  });
  assert.equal(t.actor.getSnapshot().context.addresses.get('c:50000')?.mseFirst, undefined);
  t.actor.stop();
});
