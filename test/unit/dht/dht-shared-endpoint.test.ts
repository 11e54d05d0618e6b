/**
 * A DHT node on the UDP endpoint it shares with uTP (src/net/udp-endpoint.ts), on 127.0.0.1:
 * it answers another node's queries at the endpoint's port while uTP datagrams to that same port go
 * to the uTP handler; closing it leaves the endpoint to its owner, open; a node that bound its own
 * socket closes it. And a session's DHT (dht-announces.ts) given the endpoint runs on it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DhtNode } from '../../../src/dht/dht-node.js';
import { idHex, randomNodeId } from '../../../src/dht/node-id.js';
import { UdpEndpoint } from '../../../src/net/udp-endpoint.js';
import { startDhtAnnounces } from '../../../src/session/dht-announces.js';
import type { DhtEvent } from '../../../src/session/download-event.js';
import { Inbox, plainSocket } from '../../helpers/datagrams.js';
import { dhtRouter, within } from '../../helpers/session.js';

/** uTP headers (BEP 29): ST_SYN (type 4) and ST_DATA (type 0), version 1. */
const UTP_SYN = Buffer.concat([Buffer.of(0x41), Buffer.alloc(19)]);
const UTP_DATA = Buffer.concat([Buffer.of(0x01), Buffer.alloc(19), Buffer.from('payload')]);

async function sharedEndpoint(t: { after(fn: () => unknown): void }): Promise<UdpEndpoint> {
  const endpoint = await UdpEndpoint.open({ port: 0, host: '127.0.0.1' });
  t.after(() => endpoint.close());
  return endpoint;
}

test('a DHT node on a shared endpoint answers ping and get_peers while uTP datagrams to its port go to onUtp', async (t) => {
  const endpoint = await sharedEndpoint(t);
  const utp = new Inbox();
  endpoint.onUtp(utp.take);
  const node = await DhtNode.open({ endpoint });
  t.after(() => node.close());
  assert.equal(node.port, endpoint.port);
  assert.equal(node.host, '127.0.0.1');
  const other = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  t.after(() => other.close());
  const peer = await plainSocket(t);
  const at = { host: '127.0.0.1', port: endpoint.port };

  peer.socket.send(UTP_SYN, endpoint.port, '127.0.0.1');
  const pong = await other.query(at, { q: 'ping', id: other.id });
  assert.equal(pong && idHex(pong.id), idHex(node.id));
  peer.socket.send(UTP_DATA, endpoint.port, '127.0.0.1');
  const peers = await other.query(at, { q: 'get_peers', id: other.id, infoHash: randomNodeId() });
  assert.equal(peers && idHex(peers.id), idHex(node.id));
  assert.ok(peers?.token !== undefined, 'a token to announce with');
  // The node's own query goes out from the endpoint, and its answer comes back to the node.
  const back = await node.query({ host: '127.0.0.1', port: other.port }, { q: 'ping', id: node.id });
  assert.equal(back && idHex(back.id), idHex(other.id));

  await utp.until(2);
  assert.deepEqual(utp.hex, [UTP_SYN.toString('hex'), UTP_DATA.toString('hex')]);
  assert.ok(node.stats.queriesAnswered >= 2, "ping and get_peers (and the other's verifying ping)");
  assert.equal(node.stats.malformed, 0, 'no uTP datagram reached the node');
});

test('closing a DHT node on a shared endpoint leaves the endpoint open: uTP goes on, another node may run on it', async (t) => {
  const endpoint = await sharedEndpoint(t);
  const utp = new Inbox();
  endpoint.onUtp(utp.take);
  // 2 s: long enough for every answer this test waits for, loaded or not; one query runs it out.
  const node = await DhtNode.open({ endpoint, queryTimeoutMs: 2_000 });
  const second = DhtNode.open({ endpoint });
  t.after(async () => (await second.catch(() => undefined))?.close());
  await assert.rejects(second, /KRPC handler/, 'one node per endpoint');
  const other = await DhtNode.open({ host: '127.0.0.1', port: 0, queryTimeoutMs: 2_000 });
  t.after(() => other.close());
  const peer = await plainSocket(t);
  const at = { host: '127.0.0.1', port: endpoint.port };
  assert.ok((await other.query(at, { q: 'ping', id: other.id })) !== undefined);

  await node.close();
  // Both ways still: a datagram out from the endpoint, one in to its uTP side.
  endpoint.send(UTP_SYN, peer.port, '127.0.0.1');
  await peer.inbox.until(1);
  assert.deepEqual(peer.inbox.received[0]!.from, { address: '127.0.0.1', port: endpoint.port });
  peer.socket.send(UTP_DATA, endpoint.port, '127.0.0.1');
  await utp.until(1);
  assert.deepEqual(utp.hex, [UTP_DATA.toString('hex')]);
  // KRPC has no handler now: unanswered (the query runs out its 2 s), until a new node takes it.
  assert.equal(await other.query(at, { q: 'ping', id: other.id }), undefined);
  const next = await DhtNode.open({ endpoint });
  t.after(() => next.close());
  const pong = await other.query(at, { q: 'ping', id: other.id });
  assert.equal(pong && idHex(pong.id), idHex(next.id));
});

test('a DHT node that bound its own socket closes it: the port is free again', async () => {
  const node = await DhtNode.open({ host: '127.0.0.1', port: 0 });
  const port = node.port;
  await node.close();
  const again = await UdpEndpoint.open({ port, host: '127.0.0.1' });
  await again.close();
  assert.equal(again.port, port);
});

test("a session's DHT given the shared endpoint bootstraps and announces from it, and leaves it open", async (t) => {
  const endpoint = await sharedEndpoint(t);
  const utp = new Inbox();
  endpoint.onUtp(utp.take);
  const peer = await plainSocket(t);
  const { router, dht } = await dhtRouter(t);
  const events: DhtEvent[] = [];
  const infoHash = randomNodeId();
  let announced = () => {};
  const hasAnnounced = new Promise<void>((resolve) => {
    announced = resolve;
  });
  // `port` 0 would bind any port: the node must take the endpoint's instead.
  const announces = await startDhtAnnounces(dht, {
    port: 0,
    endpoint,
    infoHash,
    announcePort: 51413,
    onPeers: () => {},
    emit: (e) => {
      events.push(e);
      if (e.type === 'dht.peers') announced();
    },
  });
  t.after(() => announces.close());
  await within(60_000, hasAnnounced, 'announced');
  const ready = events.find((e) => e.type === 'dht.ready');
  assert.ok(ready?.type === 'dht.ready');
  assert.equal(ready.port, endpoint.port, "the node's port is the endpoint's");
  assert.deepEqual(
    router.node.store.peers(idHex(infoHash), performance.now()).map((p) => p.port),
    [51413],
  );

  await announces.close();
  peer.socket.send(UTP_SYN, endpoint.port, '127.0.0.1');
  await utp.until(1);
  endpoint.send(UTP_DATA, peer.port, '127.0.0.1');
  await peer.inbox.until(1);
  assert.deepEqual(peer.inbox.hex, [UTP_DATA.toString('hex')]);
});
