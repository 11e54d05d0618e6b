/**
 * A hybrid torrent's DHT use (BEP 5, BEP 52) on 127.0.0.1: each round looks up and announces both
 * its hashes, as libtorrent does — a node of the DHT then holds our port under the v1 hash and
 * under the v2 one — and the peers found under the v2 hash come said apart (swarm 'v2').
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idHex } from '../../../src/dht/node-id.js';
import type { PeerAddress } from '../../../src/net/address.js';
import { startDhtAnnounces } from '../../../src/session/dht-announces.js';
import type { DhtEvent } from '../../../src/session/download-event.js';
import { dhtRouter, within } from '../../helpers/session.js';

test("a hybrid's DHT round announces under both hashes; the v2 swarm's peers come with swarm 'v2'", async (t) => {
  const { router, dht } = await dhtRouter(t);
  const v1 = new Uint8Array(20).fill(0x31);
  const v2 = new Uint8Array(20).fill(0x32);
  // A peer already in each swarm, as the node that holds them knows it.
  router.node.store.announce(idHex(v1), { host: '127.0.0.1', port: 7001 }, performance.now());
  router.node.store.announce(idHex(v2), { host: '127.0.0.1', port: 7002 }, performance.now());
  const found: { peer: PeerAddress; swarm: string }[] = [];
  const events: DhtEvent[] = [];
  let rounds = () => {};
  const bothLookups = new Promise<void>((resolve) => {
    rounds = resolve;
  });
  const announces = await startDhtAnnounces(
    { ...dht, host: '127.0.0.1' },
    {
      port: 0,
      infoHash: v1,
      otherInfoHash: v2,
      announcePort: 51413,
      onPeers: (peers, swarm) => {
        for (const peer of peers) found.push({ peer, swarm: swarm ?? 'v1' });
      },
      emit: (e) => {
        events.push(e);
        if (events.filter((x) => x.type === 'dht.peers').length === 2) rounds();
      },
    },
  );
  t.after(() => announces.close());
  await within(60_000, bothLookups, 'two lookups');
  const ports = (hash: Uint8Array) =>
    router.node.store
      .peers(idHex(hash), performance.now())
      .map((p) => p.port)
      .sort((a, b) => a - b);
  assert.deepEqual(ports(v1), [7001, 51413]);
  assert.deepEqual(ports(v2), [7002, 51413]);
  assert.deepEqual(
    found.map((f) => `${f.swarm} ${f.peer.port}`),
    ['v1 7001', 'v2 7002'],
  );
  await announces.close();
});
