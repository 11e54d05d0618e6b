/**
 * A hybrid torrent (BEP 52) in both its swarms, as the torrent machine sees it: every connection is
 * told both hashes (either may name the peer), and a peer learnt only in the v2 swarm (the DHT's or
 * a tracker's answer for the v2 hash) is dialled with that hash, as libtorrent dials it; one heard
 * of in the v1 swarm too is dialled with the v1 hash. A v1 or v2 torrent has one hash for all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { start } from './torrent-harness.js';

const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const hashesOf = (t: ReturnType<typeof start>, address: string) => {
  const input = t.inputs.find((i) => i.address === address);
  assert.ok(input !== undefined, `no connection to ${address}`);
  return [hex(input.infoHash), hex(input.otherInfoHash)];
};

test('a hybrid dials a v1-swarm peer with the v1 hash and a v2-swarm peer with the v2 hash, each taking the other too', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, maxPeers: 4 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  assert.deepEqual(hashesOf(t, '10.0.0.1:1'), [hex(V1), hex(V2)]);
  assert.deepEqual(hashesOf(t, '10.0.0.2:2'), [hex(V2), hex(V1)]);
  // A tracker's answer for the v2 hash (tracker.machine.ts reports it with swarm 'v2').
  t.actor.send({
    type: 'tracker.peers',
    url: 'http://t/a',
    peers: [{ host: '10.0.0.4', port: 4 }],
    swarm: 'v2',
  });
  t.actor.send({ type: 'tracker.peers', url: 'http://t/a', peers: [{ host: '10.0.0.5', port: 5 }] });
  assert.deepEqual(hashesOf(t, '10.0.0.4:4'), [hex(V2), hex(V1)]);
  assert.deepEqual(hashesOf(t, '10.0.0.5:5'), [hex(V1), hex(V2)]);
  t.actor.stop();
});

test('a hybrid: a peer heard of in the v1 swarm too, before it is dialled, is dialled with the v1 hash', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, maxPeers: 1 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:3', swarm: 'v2' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:3' });
  // The one slot frees: the queued address is dialled.
  t.live.get('10.0.0.1:1')?.({ type: 'socket.closed', error: 'ECONNREFUSED' });
  assert.deepEqual(hashesOf(t, '10.0.0.3:3'), [hex(V1), hex(V2)]);
  t.actor.stop();
});

test('a hybrid: an accepted connection is given both hashes (the peer names its swarm)', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2 });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.9:50000', handle: 'socket' });
  assert.deepEqual(hashesOf(t, '10.0.0.9:50000'), [hex(V1), hex(V2)]);
  t.actor.stop();
});

test('a v1 or v2 torrent: one hash for every connection, whatever swarm an address is said to come from', () => {
  const t = start({ infoHash: V1, maxPeers: 4 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.9:50000', handle: 'socket' });
  assert.deepEqual(hashesOf(t, '10.0.0.2:2'), [hex(V1), undefined]);
  assert.deepEqual(hashesOf(t, '10.0.0.9:50000'), [hex(V1), undefined]);
  t.actor.stop();
});
