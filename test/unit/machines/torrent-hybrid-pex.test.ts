/**
 * Peer exchange (BEP 11) in a hybrid torrent's two swarms (BEP 52), as libtorrent 2.0 does it: the
 * peers a connection of the v2 swarm names are taken as v2-swarm peers and dialled with the v2
 * hash (ut_pex.cpp flags them `pex_lt_v2` when the sender's `peer_info_struct()->protocol_v2` is
 * set; peer_list.cpp then sets `protocol_v2` on them, and a connection's info-hash is the v2 one
 * when it is). A connection is in the v2 swarm when we dialled it with the v2 hash or its
 * handshake named it. Those a v1-swarm connection names are dialled with the v1 hash. Where an
 * accepted connection of the v2 swarm listens (BEP 10 `p`) is dialled back with the v2 hash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import type { PexPeer } from '../../../src/wire/ut-pex.js';
import { start } from './torrent-harness.js';

const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);
const THEIR_UT_PEX = 7;
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

/** The connection at `address` comes up, handshakes naming `infoHash` and takes ut_pex. */
function handshake(t: ReturnType<typeof start>, address: string, infoHash: Uint8Array, peer: number): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10; // BEP 10
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash, peerId: new Uint8Array(20).fill(0x40 + peer), reserved });
  send({ type: 'wire.extendedHandshake', utPex: THEIR_UT_PEX } satisfies ConnectionEvent);
}

function pexFrom(t: ReturnType<typeof start>, address: string, added: string[]): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  send({ type: 'wire.pex', added: added.map((a): PexPeer => ({ address: a, flags: 0 })), dropped: [] });
}

/** The hashes the dial to `address` was given: [the one it sends, the other it takes]. */
function dialHashes(t: ReturnType<typeof start>, address: string) {
  const input = t.inputs.find((i) => i.address === address && i.direction === 'outgoing');
  assert.ok(input !== undefined, `no dial to ${address}`);
  return [hex(input.infoHash), hex(input.otherInfoHash)];
}

test('a hybrid: the peers a connection we dialled in the v2 swarm names are dialled with the v2 hash', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, pex: true, maxPeers: 8 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1', swarm: 'v2' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2' });
  handshake(t, '10.0.0.1:1', V2, 1);
  handshake(t, '10.0.0.2:2', V1, 2);
  pexFrom(t, '10.0.0.1:1', ['10.0.0.11:11']);
  pexFrom(t, '10.0.0.2:2', ['10.0.0.12:12']);
  assert.deepEqual(dialHashes(t, '10.0.0.11:11'), [hex(V2), hex(V1)], 'named in the v2 swarm');
  assert.deepEqual(dialHashes(t, '10.0.0.12:12'), [hex(V1), hex(V2)], 'named in the v1 swarm');
  t.actor.stop();
});

test('a hybrid: an accepted connection is in the swarm its handshake named; its peers are dialled in it', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, pex: true, maxPeers: 8 });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.3:50003', handle: 'socket' });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.4:50004', handle: 'socket' });
  handshake(t, '10.0.0.3:50003', V2, 3);
  handshake(t, '10.0.0.4:50004', V1, 4);
  pexFrom(t, '10.0.0.3:50003', ['10.0.0.13:13']);
  pexFrom(t, '10.0.0.4:50004', ['10.0.0.14:14']);
  assert.deepEqual(dialHashes(t, '10.0.0.13:13'), [hex(V2), hex(V1)]);
  assert.deepEqual(dialHashes(t, '10.0.0.14:14'), [hex(V1), hex(V2)]);
  t.actor.stop();
});

test('a hybrid: a peer named in the v2 swarm and heard of in the v1 swarm too is dialled with the v1 hash', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, pex: true, maxPeers: 2 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1', swarm: 'v2' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2' });
  handshake(t, '10.0.0.1:1', V2, 1);
  handshake(t, '10.0.0.2:2', V1, 2);
  // Both slots taken: the address waits in the queue while the v1 swarm names it too.
  pexFrom(t, '10.0.0.1:1', ['10.0.0.15:15']);
  pexFrom(t, '10.0.0.2:2', ['10.0.0.15:15']);
  t.live.get('10.0.0.2:2')?.({ type: 'socket.closed', error: 'ECONNRESET' });
  assert.deepEqual(dialHashes(t, '10.0.0.15:15'), [hex(V1), hex(V2)]);
  t.actor.stop();
});

test('a hybrid: an accepted connection of the v2 swarm is dialled back where it listens (BEP 10 p) with the v2 hash', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, pex: true, maxPeers: 8, listenPort: 7000 });
  for (const [address, hash, peer] of [
    ['10.0.0.3:50003', V2, 3],
    ['10.0.0.4:50004', V1, 4],
  ] as const) {
    t.actor.send({ type: 'peer.incoming', address, handle: 'socket' });
    const send = t.live.get(address);
    assert.ok(send !== undefined);
    send({ type: 'socket.connected' });
    send({
      type: 'wire.handshake',
      infoHash: hash,
      peerId: new Uint8Array(20).fill(0x40 + peer),
      reserved: new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0]),
    });
    send({ type: 'wire.extendedHandshake', listenPort: 6881 } satisfies ConnectionEvent);
    // A network error: it is dialled where it listens.
    send({ type: 'socket.closed', error: 'ECONNRESET' });
  }
  assert.deepEqual(dialHashes(t, '10.0.0.3:6881'), [hex(V2), hex(V1)], 'it came in the v2 swarm');
  assert.deepEqual(dialHashes(t, '10.0.0.4:6881'), [hex(V1), hex(V2)], 'it came in the v1 swarm');
  t.actor.stop();
});
