/**
 * The routing table's invariants (src/dht/routing-table.ts) under any sequence of nodes heard,
 * answering or failing, with the IP restrictions on and off: each bucket holds at most K nodes and
 * MAX_REPLACEMENTS replacements (only when full), each node (live or replacement) sits in the
 * bucket its shared prefix with our id says, no id or address twice, never our own id, at most
 * NODE_ID_BITS buckets; restricted, one IP once in the table and one /24 once per bucket; the node
 * to ping for a replacement is a questionable one of that bucket; and the table answers `closest`
 * with the truly closest of what it holds. Hosts are local (BEP 42 exempt) or public, ids there
 * BEP 42 ones or not, and our id may change (`rekey`) at any step: the invariants hold around it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { commonPrefixBits, compareDistance, idHex, idInBucket, NODE_ID_BITS } from '../../src/dht/node-id.js';
import {
  K,
  MAX_NODE_FAILURES,
  MAX_REPLACEMENTS,
  RoutingTable,
  subnetOf,
} from '../../src/dht/routing-table.js';
import { secureNodeId } from '../../src/dht/secure-node-id.js';

const id = fc.uint8Array({ minLength: 20, maxLength: 20 });
/** Ids near `own`: sharing a random number of leading bits, so buckets split deep. */
const nearId = (own: Uint8Array) =>
  fc.tuple(fc.integer({ min: 0, max: 40 }), id).map(([bits, r]) => idInBucket(own, bits, r));

type Op =
  | { kind: 'heard'; id: Uint8Array; host: number; answered: boolean; secure: boolean }
  | { kind: 'rekey'; id: Uint8Array }
  | { kind: 'failed'; host: number }
  | { kind: 'wait'; ms: number };

function check(table: RoutingTable, own: Uint8Array, restrictIps: boolean): void {
  const depths = new Map<number, number>();
  const spareDepths = new Map<number, number>();
  const ids = new Set<string>();
  const addresses = new Set<string>();
  const ips = new Set<string>();
  const subnets = new Set<string>();
  assert.ok(table.bucketCount <= NODE_ID_BITS);
  const live = [...table.nodes()].map((n) => ({ ...n, spare: false }));
  const spares = [...table.replacements()].map((n) => ({ ...n, spare: true }));
  for (const { depth, node, spare } of [...live, ...spares]) {
    const count = spare ? spareDepths : depths;
    count.set(depth, (count.get(depth) ?? 0) + 1);
    const shared = commonPrefixBits(own, node.id);
    if (depth === table.bucketCount - 1)
      assert.ok(shared >= depth, `node in our bucket ${depth} shares ${shared}`);
    else assert.equal(shared, depth, 'a node is in the bucket of its shared prefix');
    assert.ok(!ids.has(idHex(node.id)), 'an id once');
    assert.ok(!addresses.has(`${node.host}:${node.port}`), 'an address once');
    assert.notEqual(compareDistance(own, node.id, own), 0, 'never our own id');
    ids.add(idHex(node.id));
    addresses.add(`${node.host}:${node.port}`);
    if (restrictIps) {
      assert.ok(!ips.has(node.host), `${node.host} once in the table`);
      assert.ok(
        !subnets.has(`${depth}/${subnetOf(node.host)}`),
        `one of ${subnetOf(node.host)} in bucket ${depth}`,
      );
    }
    ips.add(node.host);
    subnets.add(`${depth}/${subnetOf(node.host)}`);
  }
  for (const n of depths.values()) assert.ok(n <= K, `a bucket of ${n}`);
  for (const [depth, n] of spareDepths) {
    assert.ok(n <= MAX_REPLACEMENTS, `${n} replacements`);
    assert.equal(depths.get(depth), K, 'replacements wait only for a full bucket');
  }
  assert.equal(table.size, live.length);
}

const ops = (own: Uint8Array): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      fc.record({
        kind: fc.constant('heard' as const),
        id: fc.oneof(id, nearId(own), fc.constant(own)),
        host: fc.nat(300),
        answered: fc.boolean(),
        secure: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('rekey' as const), id }),
      fc.record({ kind: fc.constant('failed' as const), host: fc.nat(300) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
    ),
    { maxLength: 500, size: 'max' },
  );

test('routing table invariants hold whatever is heard', () => {
  fc.assert(
    fc.property(
      id.chain((own) => fc.tuple(fc.constant(own), ops(own), fc.boolean())),
      ([own, steps, restrictIps]) => {
        const table = new RoutingTable(own, 0, { restrictIps });
        let now = 0;
        // 8 hosts to a /24, 38 of them: IPs and subnets meet again; local (exempt) and public.
        const host = (h: number) => `${h & 1 ? '10.0' : '198.51'}.${h >> 3}.${h & 7}`;
        for (const op of steps) {
          now += 1000;
          if (op.kind === 'wait') now += op.ms;
          else if (op.kind === 'failed') table.failed(host(op.host), 6881, now);
          else if (op.kind === 'rekey') table.rekey(op.id, now);
          else {
            const at = host(op.host);
            const nodeId = op.secure ? (secureNodeId(at, op.id) ?? op.id) : op.id;
            if (table.heard({ id: nodeId, host: at, port: 6881 }, now, op.answered)) continue;
            const ping = table.toPingForReplacement(nodeId, now, () => false);
            if (ping !== undefined) {
              assert.equal(table.status(ping, now), 'questionable');
              const depth = [...table.nodes()].find((n) => n.node === ping)?.depth;
              assert.ok(depth !== undefined, 'a live node');
              assert.ok(
                [...table.replacements()].some((r) => r.depth === depth),
                'for a waiting replacement',
              );
            }
          }
        }
        check(table, table.ownId, restrictIps);
        const first = steps.find((o) => o.kind === 'heard');
        const target = first?.kind === 'heard' ? first.id : table.ownId;
        const closest = table.closest(target, K, now);
        const all = [...table.nodes()].map((n) => n.node).filter((n) => table.status(n, now) !== 'bad');
        all.sort((a, b) => compareDistance(target, a.id, b.id));
        assert.deepEqual(
          closest.map((n) => idHex(n.id)),
          all.slice(0, K).map((n) => idHex(n.id)),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('a full far bucket takes a newcomer only in place of a bad node; ours splits', () => {
  const own = new Uint8Array(20); // all zero
  const table = new RoutingTable(own, 0);
  const far = (i: number) => {
    const b = new Uint8Array(20);
    b[0] = 0x80;
    b[19] = i;
    return b;
  };
  // Each in its own /24 (one /24 per bucket: restrictIps).
  for (let i = 0; i < K; i++) assert.ok(table.heard({ id: far(i), host: `10.0.${i}.1`, port: 1 }, 0, true));
  // One bucket, full: a near node splits it (our side), the far ones stay in bucket 0.
  const near = new Uint8Array(20);
  near[19] = 1;
  assert.ok(table.heard({ id: near, host: '10.1.1.1', port: 1 }, 0, true));
  assert.ok(table.bucketCount >= 2);
  // Bucket 0 is full of good nodes: a ninth far node is not taken (it waits as a replacement)…
  assert.ok(!table.heard({ id: far(100), host: '10.0.100.1', port: 1 }, 1, true));
  // …until one of them has failed MAX_NODE_FAILURES times: then it takes its place.
  for (let i = 0; i < MAX_NODE_FAILURES; i++) table.failed('10.0.3.1', 1, 2);
  assert.ok(table.heard({ id: far(100), host: '10.0.100.1', port: 1 }, 2, true));
  assert.ok(![...table.nodes()].some((n) => n.node.host === '10.0.3.1'));
  // Another id at a known address does not replace the node there.
  assert.ok(!table.heard({ id: far(200), host: '10.0.1.1', port: 1 }, 3, true));
  assert.equal(table.size, K + 1);
});
