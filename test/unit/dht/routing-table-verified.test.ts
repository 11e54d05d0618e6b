/**
 * BEP 42 in the routing table (src/dht/routing-table.ts): libtorrent's dht_prefer_verified_node_ids
 * — where a bucket must choose, a node whose id matches its IP is kept before one whose does not —
 * local addresses exempt, and the table rebuilt around a new id of ours (`rekey`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonPrefixBits, idHex } from '../../../src/dht/node-id.js';
import { K, MAX_NODE_FAILURES, MAX_REPLACEMENTS, RoutingTable } from '../../../src/dht/routing-table.js';
import { isVerifiedNodeId, secureNodeId } from '../../../src/dht/secure-node-id.js';

const own = new Uint8Array(20); // all zero: ids starting with bit 1 are in bucket 0 once split

/** An id in the far half that does not match any IP (BEP 42), told apart by `i`. */
function unverifiedFar(i: number, host: string): Uint8Array {
  const id = new Uint8Array(20);
  id[0] = 0x80;
  id[18] = i >> 8;
  id[19] = i & 0xff;
  assert.equal(isVerifiedNodeId(id, host), false);
  return id;
}

/** A BEP 42 id for `host` in the far half (its first bit 1: one of the 8 values of r gives one). */
function verifiedFar(host: string, i = 0): Uint8Array {
  for (let r = 0; r < 8; r++) {
    const random = new Uint8Array(20).fill(i);
    random[19] = r;
    const id = secureNodeId(host, random)!;
    if (id[0]! & 0x80) return id;
  }
  throw new Error(`no far BEP 42 id for ${host}`);
}

const near = new Uint8Array(20);
near[19] = 1;
const live = (t: RoutingTable) => [...t.nodes()].map((n) => n.node.host);
const spares = (t: RoutingTable) => [...t.replacements()].map((n) => n.node.host);

/** A table whose far bucket (0) is full: 8 nodes at public IPs 198.51.i.1, verified or not, seen at i. */
function fullFarBucket(verified: boolean, preferVerifiedIds = true): RoutingTable {
  const table = new RoutingTable(own, 0, { preferVerifiedIds });
  for (let i = 0; i < K; i++) {
    const host = `198.51.${i}.1`;
    const id = verified ? verifiedFar(host, i) : unverifiedFar(i, host);
    assert.ok(table.heard({ id, host, port: 1 }, i, true));
  }
  assert.ok(table.heard({ id: near, host: '203.0.114.1', port: 1 }, 0, true)); // splits
  assert.ok(table.bucketCount >= 2);
  return table;
}

test('a verified newcomer takes the place of the least recently seen unverified node of a full bucket of good nodes', () => {
  const table = fullFarBucket(false);
  const host = '192.0.2.1';
  assert.equal(table.heard({ id: verifiedFar(host), host, port: 1 }, 100, true), true);
  assert.ok(live(table).includes(host));
  assert.ok(!live(table).includes('198.51.0.1'), 'the least recently seen unverified one left');
  assert.ok(!spares(table).includes('198.51.0.1'), 'dropped, as libtorrent replaces it');
  assert.equal(table.size, K + 1);
});

test('an unverified newcomer only waits in a full bucket of verified nodes; without the preference a verified one waits too', () => {
  const table = fullFarBucket(true);
  assert.equal(
    table.heard({ id: unverifiedFar(50, '192.0.2.1'), host: '192.0.2.1', port: 1 }, 100, true),
    false,
  );
  assert.deepEqual(spares(table), ['192.0.2.1']);

  const plain = fullFarBucket(false, false);
  assert.equal(plain.heard({ id: verifiedFar('192.0.2.1'), host: '192.0.2.1', port: 1 }, 100, true), false);
  assert.deepEqual(spares(plain), ['192.0.2.1'], 'preferVerifiedIds: false: BEP 5 alone');
});

test('a freed place goes to a verified replacement before a more recent unverified one', () => {
  const table = fullFarBucket(true);
  assert.equal(table.heard({ id: verifiedFar('192.0.2.1'), host: '192.0.2.1', port: 1 }, 100, true), false);
  assert.equal(
    table.heard({ id: unverifiedFar(51, '192.0.3.1'), host: '192.0.3.1', port: 1 }, 101, true),
    false,
  );
  for (let i = 0; i < MAX_NODE_FAILURES; i++) table.failed('198.51.4.1', 1, 200);
  assert.ok(live(table).includes('192.0.2.1'), 'the verified one');
  assert.deepEqual(spares(table), ['192.0.3.1']);
});

test('a full replacement cache forgets its oldest unverified node first, and keeps no unverified newcomer when all it holds are verified', () => {
  const table = fullFarBucket(true);
  // Verified, unverified, then verified ones: full.
  const hosts = Array.from({ length: MAX_REPLACEMENTS }, (_, i) => `192.0.${10 + i}.1`);
  for (const [i, host] of hosts.entries()) {
    const id = i === 1 ? unverifiedFar(60, host) : verifiedFar(host, 100 + i);
    table.heard({ id, host, port: 1 }, 100 + i, true);
  }
  assert.equal(spares(table).length, MAX_REPLACEMENTS);
  table.heard({ id: verifiedFar('192.0.99.1', 7), host: '192.0.99.1', port: 1 }, 200, true);
  assert.ok(!spares(table).includes(hosts[1]!), 'the unverified one went, not the oldest');
  assert.ok(spares(table).includes(hosts[0]!));
  assert.ok(spares(table).includes('192.0.99.1'));
  table.heard({ id: unverifiedFar(61, '192.0.98.1'), host: '192.0.98.1', port: 1 }, 201, true);
  assert.ok(!spares(table).includes('192.0.98.1'), 'no room for an unverified one');
  assert.equal(table.mayTake({ id: unverifiedFar(62, '192.0.97.1'), host: '192.0.97.1', port: 1 }), true);
});

test('local addresses are exempt: every id there is verified, so loopback tables keep BEP 5 alone', () => {
  const table = new RoutingTable(own, 0, { restrictIps: false });
  const far = (i: number) => Uint8Array.from({ length: 20 }, (_, j) => (j === 0 ? 0x80 : j === 19 ? i : 0));
  for (let i = 0; i < K; i++) table.heard({ id: far(i), host: '127.0.0.1', port: 1 + i }, i, true);
  table.heard({ id: near, host: '127.0.0.1', port: 100 }, 0, true);
  assert.ok([...table.nodes()].every((n) => n.node.verified));
  // A tenth, far: waits (no unverified node to take the place of).
  assert.equal(table.heard({ id: far(99), host: '127.0.0.1', port: 99 }, 50, true), false);
  assert.equal(spares(table).length, 1);
});

test('rekey: the buckets are rebuilt around our new id from the nodes known, what they were kept', () => {
  const table = new RoutingTable(own, 0);
  const nodes = Array.from({ length: 40 }, (_, i) => ({
    id: Uint8Array.from({ length: 20 }, (_, j) => (i * 37 + j * 11 + (i >> 2)) & 0xff),
    host: `10.${i}.0.1`,
    port: 6881,
  }));
  for (const [i, n] of nodes.entries()) table.heard(n, i, true);
  table.failed('10.3.0.1', 6881, 100);
  const before = new Map(
    [...table.nodes(), ...table.replacements()].map(({ node }) => [idHex(node.id), node]),
  );
  const newId = new Uint8Array(20).fill(0xff);
  table.rekey(newId, 200);
  assert.equal(idHex(table.ownId), idHex(newId));
  const after = [...table.nodes()];
  assert.ok(after.length > 0);
  for (const { depth, node } of [...after, ...table.replacements()]) {
    const shared = commonPrefixBits(newId, node.id);
    if (depth === table.bucketCount - 1) assert.ok(shared >= depth);
    else assert.equal(shared, depth, 'in the bucket of its prefix shared with the new id');
    const old = before.get(idHex(node.id));
    assert.ok(old !== undefined, 'only nodes known before');
    assert.deepEqual([node.lastAnswer, node.failures], [old.lastAnswer, old.failures]);
  }
  assert.ok(after.length >= K, `${after.length} live nodes kept`);
});
