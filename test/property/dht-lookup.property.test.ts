/**
 * The lookup machine (machines/dht-lookup.machine.ts) in a simulated DHT of a few hundred nodes:
 * each node holds a routing table of K nodes per bucket, some never answer. Driven in memory
 * (no sockets, no timers): whatever the network and the order answers come in, the lookup keeps at
 * most α queries in flight, finds exactly the k closest nodes that answer, reports every peer
 * announced to any of them once, and announces to each of the k closest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { createActor } from 'xstate';
import { type DhtLookupOutput, dhtLookupMachine } from '../../machines/dht-lookup.machine.js';
import type { LookupNode } from '../../machines/dht-shortlist.js';
import { commonPrefixBits, compareDistance, idHex } from '../../src/dht/node-id.js';

const K = 8;

const sha1 = (s: string) => new Uint8Array(createHash('sha1').update(s).digest());
const ALPHA = 3;

interface SimNode {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
  known: SimNode[];
  readonly silent: boolean;
  readonly peers: { host: string; port: number }[];
}

function makeNetwork(ids: Uint8Array[], silentEvery: number): SimNode[] {
  const nodes: SimNode[] = ids.map((id, i) => ({
    id,
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 6881,
    known: [],
    silent: silentEvery > 0 && i % silentEvery === silentEvery - 1,
    peers: [],
  }));
  // Each node's routing table as BEP 5 keeps one: K nodes per shared-prefix length with its own
  // id (the K closest to it: the nodes a long-lived table ends with), so every part of the id
  // space is known, and its own neighbourhood best.
  for (const n of nodes) {
    const buckets = new Map<number, SimNode[]>();
    const others = nodes.filter((o) => o !== n).sort((a, b) => compareDistance(n.id, a.id, b.id));
    for (const o of others) {
      const depth = commonPrefixBits(n.id, o.id);
      const b = buckets.get(depth) ?? [];
      if (b.length < K) b.push(o);
      buckets.set(depth, b);
    }
    n.known = [...buckets.values()].flat();
  }
  return nodes;
}

/** Runs one lookup to the end, answering queries in an order `pick` chooses among those in flight. */
function runLookup(
  network: SimNode[],
  target: Uint8Array,
  seeds: LookupNode[],
  announce: boolean,
  pick: (n: number) => number,
): {
  output: DhtLookupOutput;
  peers: string[];
  maxInFlight: number;
  announcedTo: string[];
  heard: Set<SimNode>;
} {
  const byKey = new Map(network.map((n) => [`${n.host}:${n.port}`, n]));
  const actor = createActor(dhtLookupMachine, {
    input: {
      target,
      method: 'get_peers',
      announce,
      seeds,
      limits: { k: K, alpha: ALPHA, maxQueries: 500, maxCandidates: 200 },
      timeoutMs: 60_000,
    },
  });
  const inFlight: string[] = [];
  const announces: string[] = [];
  const peers: string[] = [];
  let maxInFlight = 0;
  /** Every node the lookup learnt of: the seeds and those named in answers. */
  const heard = new Set<SimNode>(seeds.map((s) => byKey.get(`${s.host}:${s.port}`)!));
  actor.on('lookup.query', ({ node }) => {
    inFlight.push(`${node.host}:${node.port}`);
    maxInFlight = Math.max(maxInFlight, inFlight.length);
  });
  actor.on('lookup.peers', (e) => peers.push(...e.peers.map((p) => `${p.host}:${p.port}`)));
  actor.on('lookup.announce', ({ node }) => announces.push(`${node.host}:${node.port}`));
  actor.start();
  let steps = 0;
  while (inFlight.length > 0 && steps++ < 10_000) {
    const key = inFlight.splice(pick(inFlight.length), 1)[0]!;
    const n = byKey.get(key)!;
    if (n.silent) {
      actor.send({ type: 'node.failed', node: key });
      continue;
    }
    const nodes = [...n.known].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K);
    for (const o of nodes) heard.add(o);
    actor.send({
      type: 'node.answered',
      node: key,
      id: n.id,
      nodes: nodes.map((o) => ({ host: o.host, port: o.port, id: o.id })),
      peers: n.peers,
      token: Uint8Array.of(1),
    });
  }
  const announcedTo = [...announces];
  for (const a of announces) actor.send({ type: 'announce.answered', node: a });
  const snapshot = actor.getSnapshot();
  assert.equal(snapshot.status, 'done', `the lookup ended (${JSON.stringify(snapshot.value)})`);
  return { output: snapshot.output!, peers, maxInFlight, announcedTo, heard };
}

test('in a simulated DHT the lookup finds the k closest answering nodes and every announced peer', () => {
  fc.assert(
    fc.property(
      // Node ids are uniformly random in a real DHT (SHA-1 of a seed here, so shrinking keeps them so).
      fc.integer({ min: 100, max: 400 }),
      fc.nat(),
      fc.constantFrom(0, 0, 5, 10),
      fc.infiniteStream(fc.nat()),
      (count, seed, silentEvery, picks) => {
        const ids = Array.from({ length: count }, (_, i) => sha1(`${seed}/${i}`));
        const target = sha1(`${seed}/target`);
        const network = makeNetwork(ids, silentEvery);
        const answering = network.filter((n) => !n.silent);
        const byDistance = (list: Iterable<SimNode>) =>
          [...list].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K);
        const truth = byDistance(answering);
        // Peers announced to the closest nodes (where announce_peer puts them).
        for (const [i, n] of truth.slice(0, 3).entries()) n.peers.push({ host: '192.0.2.1', port: 1000 + i });
        // Start from one answering node far from the target, as a bootstrap would.
        const start = answering[answering.length - 1]!;
        const it = picks[Symbol.iterator]();
        const r = runLookup(
          network,
          target,
          [{ host: start.host, port: start.port }],
          true,
          (n) => it.next().value % n,
        );
        assert.ok(r.maxInFlight <= ALPHA, `${r.maxInFlight} in flight`);
        // Always: the result is the k closest answering nodes of all it heard of, each asked.
        const found = byDistance([...r.heard].filter((n) => !n.silent));
        assert.deepEqual(
          r.output.closest.map((c) => idHex(c.id)),
          found.map((n) => idHex(n.id)),
          'the k closest answering nodes heard of',
        );
        assert.deepEqual(
          [...r.announcedTo].sort(),
          found.map((n) => `${n.host}:${n.port}`).sort(),
          'announce_peer to the k closest',
        );
        assert.equal(r.output.announced, found.length);
        // With every node answering, these are the k closest of the whole network, and the peers
        // announced to them are found (a silent node can hide a neighbour: BEP 5 answers name 8).
        if (silentEvery === 0) {
          assert.equal(r.output.announced, K);
          assert.deepEqual(
            r.output.closest.map((c) => idHex(c.id)),
            truth.map((n) => idHex(n.id)),
            'the k closest of the network',
          );
          assert.deepEqual([...r.peers].sort(), ['192.0.2.1:1000', '192.0.2.1:1001', '192.0.2.1:1002']);
        }
      },
    ),
    { numRuns: 40 },
  );
});
