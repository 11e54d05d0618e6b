/**
 * The IP filter in the torrent machine (the guard isBlockedAddress, provided by the world from the
 * user's --blocklist): a blocked address from a tracker, `peer.add` (--peer, the DHT, LSD) or a peer's
 * ut_pex message is never dialled nor remembered, each reported as torrent.peerBlocked with where it
 * came from; an incoming connection from a blocked host is refused (`blocked`) before it is adopted.
 * Without the guard provided, nothing is blocked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import { start } from './torrent-harness.js';

const BLOCKED_HOST = '10.9.9.9';
const blocked = (address: string) => address.startsWith(`${BLOCKED_HOST}:`);

const dialled = (t: ReturnType<typeof start>) =>
  t.inputs.filter((i) => i.direction === 'outgoing').map((i) => i.address);
const blockedEvents = (t: ReturnType<typeof start>) =>
  t.emitted.flatMap((e) => (e.type === 'torrent.peerBlocked' ? [[e.address, e.source]] : []));

test('blocked addresses from trackers, --peer, the DHT and LSD are never dialled nor kept in the address book', () => {
  const t = start({ maxPeers: 8 }, { blocked });
  t.actor.send({
    type: 'tracker.peers',
    url: 'http://t.example/announce',
    peers: [
      { host: BLOCKED_HOST, port: 1 },
      { host: '10.0.0.1', port: 1 },
    ],
  });
  t.actor.send({ type: 'peer.add', address: `${BLOCKED_HOST}:2` });
  t.actor.send({ type: 'peer.add', address: `${BLOCKED_HOST}:3`, source: 'dht' });
  t.actor.send({ type: 'peer.add', address: `${BLOCKED_HOST}:4`, source: 'lsd' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', source: 'dht' });
  assert.deepEqual(dialled(t), ['10.0.0.1:1', '10.0.0.2:2']);
  assert.deepEqual(blockedEvents(t), [
    [`${BLOCKED_HOST}:1`, 'tracker'],
    [`${BLOCKED_HOST}:2`, 'peer'],
    [`${BLOCKED_HOST}:3`, 'dht'],
    [`${BLOCKED_HOST}:4`, 'lsd'],
  ]);
  const book = [...t.actor.getSnapshot().context.addresses.keys()];
  assert.ok(!book.some(blocked), `never remembered: ${book.join(', ')}`);
  t.actor.stop();
});

test('blocked addresses a peer names through ut_pex are not dialled; the others are', () => {
  const t = start({ maxPeers: 8, pex: true }, { blocked });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1' });
  const send = t.live.get('10.0.0.1:1');
  assert.ok(send !== undefined);
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10; // BEP 10
  send({ type: 'socket.connected' });
  send({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(9),
    reserved,
  });
  send({ type: 'wire.extendedHandshake', utPex: 7 } satisfies ConnectionEvent);
  send({
    type: 'wire.pex',
    added: [
      { address: `${BLOCKED_HOST}:4`, flags: 0 },
      { address: '10.0.0.5:5', flags: 0 },
    ],
    dropped: [],
  });
  assert.deepEqual(dialled(t), ['10.0.0.1:1', '10.0.0.5:5']);
  assert.deepEqual(blockedEvents(t), [[`${BLOCKED_HOST}:4`, 'pex']]);
  t.actor.stop();
});

test('an incoming connection from a blocked host is refused, not adopted; another is adopted', () => {
  const t = start({ maxPeers: 8 }, { blocked });
  t.actor.send({ type: 'peer.incoming', address: `${BLOCKED_HOST}:50000`, handle: 'bad' });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.7:50001', handle: 'good' });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : [])),
    [['bad', 'blocked']],
  );
  assert.deepEqual(blockedEvents(t), [[`${BLOCKED_HOST}:50000`, 'incoming']]);
  assert.deepEqual([...t.live.keys()], ['10.0.0.7:50001']);
  t.actor.stop();
});

test('without a filter provided nothing is blocked', () => {
  const t = start({ maxPeers: 8 });
  t.actor.send({ type: 'peer.add', address: `${BLOCKED_HOST}:2` });
  t.actor.send({ type: 'peer.incoming', address: `${BLOCKED_HOST}:50000`, handle: 'in' });
  assert.deepEqual(dialled(t), [`${BLOCKED_HOST}:2`]);
  assert.deepEqual(blockedEvents(t), []);
  t.actor.stop();
});
