/**
 * Several of our own DHT nodes on 127.0.0.1: one bootstraps the others, one announces an
 * info-hash, another finds it with get_peers (and the announced port, not the UDP one); a hostile
 * node's values that no peer listens at are dropped.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { type Dht, startDht } from '../../../src/dht/dht.js';
import { decodeKrpc, encodeKrpc } from '../../../src/dht/krpc.js';
import { randomNodeId } from '../../../src/dht/node-id.js';
import { getFreePort } from '../../interop/harness/ports.js';

test('a peer announced through one node is found through another (12 nodes on 127.0.0.1)', async (t) => {
  const nodes: Dht[] = [];
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  const router = await startDht({ port: 0, bootstrap: [], queryTimeoutMs: 500 });
  nodes.push(router);
  const at = [{ host: '127.0.0.1', port: router.port }];
  for (let i = 0; i < 11; i++) nodes.push(await startDht({ port: 0, bootstrap: at, queryTimeoutMs: 500 }));
  const readies = await Promise.all(nodes.slice(1).map((n) => n.ready));
  // Every node knows the router at least; the later ones learn the earlier through it.
  for (const r of readies) assert.ok(r.nodes >= 1, `bootstrapped with ${r.nodes} nodes`);
  // Refresh the early ones' tables once everyone is there.
  await Promise.all(nodes.map((n) => n.findNode(n.node.id)));

  const infoHash = randomNodeId();
  const announcer = nodes[3]!;
  const a = await announcer.getPeers(infoHash, { announcePort: 51413 });
  assert.equal(a.result, 'done');
  assert.ok(a.announced >= 1, `announced to ${a.announced}`);

  const seeker = nodes[9]!;
  const found: string[] = [];
  const g = await seeker.getPeers(infoHash, {
    onPeers: (ps) => found.push(...ps.map((p) => `${p.host}:${p.port}`)),
  });
  assert.equal(g.result, 'done');
  assert.deepEqual(found, ['127.0.0.1:51413']);
  assert.ok(g.queries <= 40, `${g.queries} queries`);
});

test('close() leaves no handle: a lookup in flight ends as stopped', async () => {
  // A router that never answers: the bootstrap waits on its query when we close.
  const silent = await startDht({ port: 0, bootstrap: [] });
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: '127.0.0.1', port: 9 }],
    queryTimeoutMs: 60_000,
  });
  const lookup = dht.findNode(randomNodeId());
  await dht.close();
  await silent.close();
  const r = await lookup;
  assert.equal(r.result, 'stopped');
});

test('close() does not wait for a router name that never resolves (DNS down)', async () => {
  let asked = 0;
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: 'router.example', port: 6881 }],
    resolveHost: () => {
      asked++;
      return new Promise<string>(() => {}); // never
    },
  });
  const lookup = dht.getPeers(randomNodeId());
  await dht.close();
  assert.deepEqual(await dht.ready, { nodes: 0, savedNodes: 0, fromSaved: 0 });
  assert.equal((await lookup).result, 'stopped');
  assert.equal(asked, 1);
});

test('a node whose router was down at start bootstraps once it answers; stale buckets are refreshed', async (t) => {
  // The router's port, free again: nothing answers there at first.
  const port = await getFreePort();
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: '127.0.0.1', port }],
    queryTimeoutMs: 100,
    refreshCheckMs: 50,
    refreshAfterMs: 200,
  });
  t.after(() => dht.close());
  assert.deepEqual(
    await dht.ready,
    { nodes: 0, savedNodes: 0, fromSaved: 0 },
    'nobody answered the bootstrap',
  );
  const router = await startDht({ port, bootstrap: [] });
  t.after(() => router.close());
  // The table was empty: the next check bootstraps again, and finds the router.
  await until(() => dht.node.table.size === 1);
  // Then, with nothing asked of it, it keeps its buckets fresh: find_node into each stale one.
  const sent = dht.node.stats.queriesSent;
  await until(() => dht.node.stats.queriesSent > sent + 2);
  assert.ok(router.node.stats.queriesAnswered >= 3);
});

async function until(check: () => boolean): Promise<void> {
  // A bound, not a measure: 10 s for what takes a few hundred milliseconds.
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), 'in time');
}

test('get_peers values no peer listens at (0.0.0.0, multicast, broadcast) are not reported', async (t) => {
  // A hostile node on 127.0.0.1 that answers every query with values naming hosts no peer listens
  // at (0.0.0.0:p Linux dials as 127.0.0.1:p: ourselves) besides one honest peer.
  const id = randomNodeId();
  const values = ['0.0.0.0', '0.1.2.3', '224.0.0.1', '239.1.2.3', '255.255.255.255', '127.0.0.1'].map(
    (host) => ({ host, port: 6881 }),
  );
  const socket = createSocket('udp4');
  socket.on('message', (m, rinfo) => {
    const q = decodeKrpc(m);
    if (q.y !== 'q') return;
    const response = { id, values, token: new Uint8Array([1, 2, 3, 4]) };
    socket.send(encodeKrpc({ y: 'r', t: q.t, response }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => socket.close(() => r())));
  const { port } = socket.address();
  const dht = await startDht({ port: 0, bootstrap: [{ host: '127.0.0.1', port }], queryTimeoutMs: 500 });
  t.after(() => dht.close());
  await dht.ready;
  const found: string[] = [];
  const g = await dht.getPeers(randomNodeId(), {
    onPeers: (ps) => found.push(...ps.map((p) => `${p.host}:${p.port}`)),
  });
  assert.equal(g.result, 'done');
  assert.deepEqual(found, ['127.0.0.1:6881']);
});

test('nodes an answer names at hosts no node listens at (0.0.0.0, multicast) are never queried', async (t) => {
  // Linux sends a datagram for 0.0.0.0:p to 127.0.0.1:p: a hostile node naming 0.0.0.0 would make
  // us query whatever listens on our own host. `trap` listens there; `honest` at 127.0.0.1.
  const bound = async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => s.close(() => r())));
    return s;
  };
  const trap = await bound();
  let trapped = 0;
  trap.on('message', () => trapped++);
  const honest = await bound();
  let honestAsked = 0;
  honest.on('message', (m, rinfo) => {
    const q = decodeKrpc(m);
    if (q.y !== 'q') return;
    honestAsked++;
    honest.send(encodeKrpc({ y: 'r', t: q.t, response: { id: randomNodeId() } }), rinfo.port, rinfo.address);
  });
  const hostile = await bound();
  const nodes = [
    { id: randomNodeId(), host: '0.0.0.0', port: trap.address().port },
    { id: randomNodeId(), host: '224.0.0.1', port: trap.address().port },
    { id: randomNodeId(), host: '127.0.0.1', port: honest.address().port },
  ];
  hostile.on('message', (m, rinfo) => {
    const q = decodeKrpc(m);
    if (q.y !== 'q') return;
    hostile.send(
      encodeKrpc({ y: 'r', t: q.t, response: { id: randomNodeId(), nodes } }),
      rinfo.port,
      rinfo.address,
    );
  });
  const dht = await startDht({
    port: 0,
    bootstrap: [{ host: '127.0.0.1', port: hostile.address().port }],
    queryTimeoutMs: 300,
  });
  t.after(() => dht.close());
  await dht.ready;
  const g = await dht.getPeers(randomNodeId());
  assert.equal(g.result, 'done');
  assert.ok(honestAsked >= 1, 'the node at 127.0.0.1 was asked');
  assert.equal(trapped, 0);
});
