/** The lookup machine's flows one by one (machines/dht-lookup.machine.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import {
  type DhtLookupEmitted,
  type DhtLookupInput,
  dhtLookupMachine,
} from '../../../machines/dht-lookup.machine.js';

const id = (b: number) => {
  const x = new Uint8Array(20);
  x[0] = b;
  return x;
};
const seeds = (n: number) => Array.from({ length: n }, (_, i) => ({ host: '10.0.0.1', port: 1000 + i }));

function start(input: Partial<DhtLookupInput>, clock?: SimulatedClock) {
  const actor = createActor(dhtLookupMachine, {
    input: {
      target: id(0),
      method: 'get_peers',
      announce: false,
      seeds: [],
      limits: { k: 8, alpha: 3, maxQueries: 100, maxCandidates: 100 },
      timeoutMs: 10_000,
      ...input,
    },
    ...(clock === undefined ? {} : { clock }),
  });
  const emitted: DhtLookupEmitted[] = [];
  actor.on('*', (e) => emitted.push(e as DhtLookupEmitted));
  actor.start();
  return { actor, emitted };
}

test('nothing to ask: done at once, no query', () => {
  const { actor, emitted } = start({});
  assert.equal(actor.getSnapshot().status, 'done');
  assert.equal(actor.getSnapshot().output?.queries, 0);
  assert.deepEqual(emitted, []);
});

test('at most alpha queries in flight; a failure frees a place', () => {
  const { actor, emitted } = start({ seeds: seeds(5) });
  assert.equal(emitted.filter((e) => e.type === 'lookup.query').length, 3);
  actor.send({ type: 'node.failed', node: '10.0.0.1:1000' });
  assert.equal(emitted.filter((e) => e.type === 'lookup.query').length, 4);
  // An answer from a node never asked (or asked and already failed) changes nothing.
  actor.send({ type: 'node.answered', node: '10.0.0.1:1000', id: id(1), nodes: [], peers: [] });
  actor.send({ type: 'node.answered', node: '10.0.0.9:9', id: id(1), nodes: [], peers: [] });
  assert.equal(emitted.filter((e) => e.type === 'lookup.query').length, 4);
});

test('peers are reported as they come, each once; announce_peer goes to the closest that gave a token', () => {
  const { actor, emitted } = start({ seeds: seeds(2), announce: true });
  const peer = { host: '192.0.2.7', port: 7 };
  actor.send({
    type: 'node.answered',
    node: '10.0.0.1:1000',
    id: id(1),
    nodes: [],
    peers: [peer],
    token: Uint8Array.of(9),
  });
  actor.send({ type: 'node.answered', node: '10.0.0.1:1001', id: id(2), nodes: [], peers: [peer] });
  assert.deepEqual(
    emitted.filter((e) => e.type === 'lookup.peers').map((e) => e.type === 'lookup.peers' && e.peers),
    [[peer]],
  );
  const announces = emitted.filter((e) => e.type === 'lookup.announce');
  assert.equal(announces.length, 1, 'only the node that gave a token');
  assert.equal(actor.getSnapshot().status, 'active', 'waiting for the announce');
  actor.send({ type: 'announce.answered', node: '10.0.0.1:1000' });
  const out = actor.getSnapshot().output;
  assert.equal(out?.result, 'done');
  assert.equal(out?.announced, 1);
  assert.equal(out?.peers, 1);
  assert.deepEqual(
    out?.closest.map((c) => c.id[0]),
    [1, 2],
  );
});

test('the lookup gives up after timeoutMs on its clock (a named delay)', () => {
  const clock = new SimulatedClock();
  const { actor } = start({ seeds: seeds(1), timeoutMs: 5000 }, clock);
  clock.increment(4999);
  assert.equal(actor.getSnapshot().status, 'active');
  clock.increment(1);
  assert.equal(actor.getSnapshot().output?.result, 'timedOut');
});

test('cmd.stop ends it as stopped', () => {
  const { actor } = start({ seeds: seeds(1) });
  actor.send({ type: 'cmd.stop' });
  assert.equal(actor.getSnapshot().output?.result, 'stopped');
});

test('one answer naming many made-up nodes closer than any other costs at most k queries to them', () => {
  // A hostile node answers with 78 nodes (a whole 2 KiB datagram's worth) next to the target, at
  // addresses that never answer: each is asked and fails on its timeout, α at a time. Taking all
  // of them held a lookup for 26 rounds of timeouts (52 s at 2 s); k of them, 3 rounds.
  const { actor, emitted } = start({ seeds: seeds(1) });
  const near = (i: number) => {
    const x = new Uint8Array(20);
    x[19] = i + 1; // closer to the target (all zeros) than any honest id(b) with b > 0
    return x;
  };
  actor.send({
    type: 'node.answered',
    node: '10.0.0.1:1000',
    id: id(0x80),
    nodes: Array.from({ length: 78 }, (_, i) => ({ host: '10.9.9.9', port: 2000 + i, id: near(i) })),
    peers: [],
  });
  // Every made-up node asked fails (its timeout), which lets the lookup ask the next ones.
  const failed = new Set<string>();
  for (let round = 0; round < 100 && actor.getSnapshot().status === 'active'; round++) {
    const asked = emitted.flatMap((e) =>
      e.type === 'lookup.query' ? [`${e.node.host}:${e.node.port}`] : [],
    );
    const pending = asked.filter((key) => key !== '10.0.0.1:1000' && !failed.has(key));
    if (pending.length === 0) break;
    for (const key of pending) {
      failed.add(key);
      actor.send({ type: 'node.failed', node: key });
    }
  }
  const toFakes = emitted.filter((e) => e.type === 'lookup.query' && e.node.port >= 2000).length;
  assert.equal(actor.getSnapshot().status, 'done');
  assert.ok(toFakes <= 8, `${toFakes} queries to the made-up nodes`);
});

test('with oneNodePerIp, a host named at many ports is asked once (dht_restrict_search_ips); without, each', () => {
  for (const oneNodePerIp of [true, false]) {
    const { actor, emitted } = start({
      seeds: [{ host: '10.0.0.1', port: 1 }],
      limits: { k: 8, alpha: 3, maxQueries: 100, maxCandidates: 100, oneNodePerIp },
    });
    // The router names five "nodes" on one host, closer than anything, and one elsewhere.
    const sybils = Array.from({ length: 5 }, (_, i) => ({ host: '192.0.2.9', port: 100 + i, id: id(1 + i) }));
    actor.send({
      type: 'node.answered',
      node: '10.0.0.1:1',
      id: id(200),
      nodes: [...sybils, { host: '198.51.100.1', port: 1, id: id(50) }],
      peers: [],
    });
    const asked = emitted.flatMap((e) =>
      e.type === 'lookup.query' ? [`${e.node.host}:${e.node.port}`] : [],
    );
    for (const n of asked) if (n !== '10.0.0.1:1') actor.send({ type: 'node.failed', node: n });
    const all = emitted.flatMap((e) => (e.type === 'lookup.query' ? [e.node.host] : []));
    assert.equal(
      all.filter((h) => h === '192.0.2.9').length,
      oneNodePerIp ? 1 : 5,
      `oneNodePerIp ${oneNodePerIp}: ${all.join(' ')}`,
    );
    assert.ok(all.includes('198.51.100.1'));
  }
});

test('with oneNodePerIp, one node per /24 of those answers name (libtorrent masks the lower octet); the nodes it starts from are exempt', () => {
  const { actor, emitted } = start({
    // Two nodes the lookup starts from in one /24 (the routing table's, or routers): both asked.
    seeds: [
      { host: '10.0.0.1', port: 1 },
      { host: '10.0.0.2', port: 1, id: id(200) },
    ],
    limits: { k: 8, alpha: 3, maxQueries: 100, maxCandidates: 100, oneNodePerIp: true },
  });
  // A router names three hosts of one /24 (a rented subnet), closer than anything; and another port
  // of a seed's IP (counted neither), and one elsewhere.
  const subnet = [1, 2, 3].map((h) => ({ host: `192.0.2.${h}`, port: 100, id: id(h) }));
  actor.send({
    type: 'node.answered',
    node: '10.0.0.1:1',
    id: id(201),
    nodes: [
      ...subnet,
      { host: '10.0.0.1', port: 2, id: id(60) },
      { host: '198.51.100.1', port: 1, id: id(50) },
    ],
    peers: [],
  });
  for (let round = 0; round < 5; round++) {
    const asked = emitted.flatMap((e) =>
      e.type === 'lookup.query' ? [`${e.node.host}:${e.node.port}`] : [],
    );
    for (const n of asked.slice(2 + round * 3)) actor.send({ type: 'node.failed', node: n });
  }
  const all = emitted.flatMap((e) => (e.type === 'lookup.query' ? [`${e.node.host}:${e.node.port}`] : []));
  assert.equal(all.filter((h) => h.startsWith('192.0.2.')).length, 1, all.join(' '));
  for (const h of ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.1:2', '198.51.100.1:1'])
    assert.ok(all.includes(h), `${h}: ${all.join(' ')}`);
});
