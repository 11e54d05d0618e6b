/**
 * The routing table (src/dht/routing-table.ts) on a clock of our own: BEP 5's replacement rule (a
 * newcomer meeting a full bucket waits in its replacement cache while the bucket's questionable
 * nodes are pinged, least recently seen first, and takes the place of one that fails), the cache's
 * bound, and libtorrent's crowding limits (dht_restrict_routing_ips: one node per IP in the table,
 * one per IPv4 /24 in a bucket).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GOOD_FOR_MS,
  K,
  MAX_NODE_FAILURES,
  MAX_REPLACEMENTS,
  RoutingTable,
  subnetOf,
} from '../../../src/dht/routing-table.js';

const own = new Uint8Array(20); // all zero: every id starting with bit 1 is in bucket 0
/** An id in the far half (bucket 0 once split), told apart by `i`. */
function far(i: number): Uint8Array {
  const id = new Uint8Array(20);
  id[0] = 0x80;
  id[18] = i >> 8;
  id[19] = i & 0xff;
  return id;
}
/** An id near ours (it splits the first bucket). */
function near(i: number): Uint8Array {
  const id = new Uint8Array(20);
  id[19] = i + 1;
  return id;
}
const hosts = (table: RoutingTable) => [...table.nodes()].map((n) => n.node.host).sort();

/** A table whose far bucket (0) is full: far(0..7) at 10.0.i.1, answered at `at`. */
function fullFarBucket(at: number): RoutingTable {
  const table = new RoutingTable(own, 0);
  for (let i = 0; i < K; i++)
    assert.ok(table.heard({ id: far(i), host: `10.0.${i}.1`, port: 1 }, at + i, true));
  assert.ok(table.heard({ id: near(0), host: '10.9.0.1', port: 1 }, at, true)); // splits: far ones in bucket 0
  assert.ok(table.bucketCount >= 2);
  return table;
}

test('a newcomer meeting a full bucket waits as a replacement; the least recently seen questionable node is pinged, and its place is the newcomer’s once it fails', () => {
  const table = fullFarBucket(0);
  const later = GOOD_FOR_MS + 1000; // nobody answered since: all questionable
  assert.equal(table.heard({ id: far(100), host: '10.0.100.1', port: 1 }, later, true), false);
  assert.deepEqual(
    [...table.replacements()].map((r) => r.node.host),
    ['10.0.100.1'],
  );
  // Least recently seen first: far(0) (seen at 0), then far(1) once far(0) is being pinged.
  assert.equal(table.toPingForReplacement(far(100), later, () => false)?.host, '10.0.0.1');
  assert.equal(table.toPingForReplacement(far(100), later, (n) => n.host === '10.0.0.1')?.host, '10.0.1.1');
  // It answers: good again, so the next one is asked about.
  assert.ok(table.heard({ id: far(0), host: '10.0.0.1', port: 1 }, later, true));
  assert.equal(table.toPingForReplacement(far(100), later, () => false)?.host, '10.0.1.1');
  // far(1) fails once (still questionable: BEP 5 tries once more), then again: bad, replaced.
  table.failed('10.0.1.1', 1, later);
  assert.equal(table.toPingForReplacement(far(100), later, () => false)?.host, '10.0.1.1');
  for (let i = 1; i < MAX_NODE_FAILURES; i++) table.failed('10.0.1.1', 1, later);
  assert.ok(hosts(table).includes('10.0.100.1'), 'the replacement took the place');
  assert.ok(!hosts(table).includes('10.0.1.1'), 'the failed node is gone');
  assert.equal([...table.replacements()].length, 0);
  // No replacement waits now: nothing to ping.
  assert.equal(
    table.toPingForReplacement(far(100), later, () => false),
    undefined,
  );
});

test('a bucket of good nodes keeps them: nothing to ping, the newcomer only waits (BEP 5)', () => {
  const table = fullFarBucket(0);
  assert.equal(table.heard({ id: far(100), host: '10.0.100.1', port: 1 }, 1000, true), false);
  assert.equal(
    table.toPingForReplacement(far(100), 1000, () => false),
    undefined,
  );
  assert.equal(table.size, K + 1);
});

test('the replacement cache holds MAX_REPLACEMENTS, the oldest forgotten; the most recent takes a place first', () => {
  const table = fullFarBucket(0);
  for (let i = 0; i < MAX_REPLACEMENTS + 3; i++)
    table.heard({ id: far(100 + i), host: `10.1.${i}.1`, port: 1 }, 1000 + i, true);
  const spares = [...table.replacements()].map((r) => r.node.host);
  assert.equal(spares.length, MAX_REPLACEMENTS);
  assert.deepEqual(spares.slice(0, 1), ['10.1.3.1'], 'the three oldest were forgotten');
  // A forgotten one's IP is free again (restrictIps counts replacements too).
  assert.equal(table.mayTake({ id: far(500), host: '10.1.0.1', port: 2 }), true);
  for (let i = 0; i < MAX_NODE_FAILURES; i++) table.failed('10.0.4.1', 1, 5000);
  assert.ok(hosts(table).includes(`10.1.${MAX_REPLACEMENTS + 2}.1`), 'the most recent replacement');
});

test('one node per /24 in a bucket, one per IP in the table (replacements included); both off with restrictIps: false', () => {
  const table = new RoutingTable(own, 0);
  assert.ok(table.heard({ id: far(1), host: '192.0.2.1', port: 1 }, 0, true));
  // Same /24, same bucket: refused.
  assert.equal(table.heard({ id: far(2), host: '192.0.2.2', port: 1 }, 0, true), false);
  assert.equal(table.mayTake({ id: far(2), host: '192.0.2.2', port: 1 }), false);
  // Same IP, another port: refused anywhere.
  assert.equal(table.heard({ id: near(1), host: '192.0.2.1', port: 2 }, 0, true), false);
  // Fill the first bucket. A near node of the /24 is refused before any split (libtorrent checks
  // the bucket as it stands; splitting first, a node refused anyway split our bucket): nothing splits.
  for (let i = 3; i < K + 2; i++) table.heard({ id: far(i), host: `198.51.${i}.1`, port: 1 }, 0, true);
  assert.equal(table.heard({ id: near(1), host: '192.0.2.3', port: 1 }, 0, true), false);
  assert.equal(table.bucketCount, 1, 'a refused node splits nothing');
  // Another near node splits it: then a near node of the /24 is in another bucket.
  assert.ok(table.heard({ id: near(5), host: '203.0.114.1', port: 1 }, 0, true));
  assert.ok(table.bucketCount >= 2);
  assert.ok(table.heard({ id: near(1), host: '192.0.2.3', port: 1 }, 0, true), 'another bucket');
  assert.equal(
    table.heard({ id: near(2), host: '192.0.2.4', port: 1 }, 0, true),
    false,
    'that one now has it',
  );
  // A full far bucket: a replacement's IP and /24 count as its bucket's.
  table.heard({ id: far(100), host: '203.0.113.9', port: 1 }, 0, true);
  assert.deepEqual(
    [...table.replacements()].map((r) => r.node.host),
    ['203.0.113.9'],
  );
  assert.equal(table.heard({ id: far(101), host: '203.0.113.10', port: 1 }, 0, true), false);
  assert.equal(table.heard({ id: near(3), host: '203.0.113.9', port: 7 }, 0, true), false);
  assert.equal([...table.replacements()].length, 1);

  const open = new RoutingTable(own, 0, { restrictIps: false });
  assert.ok(open.heard({ id: far(1), host: '192.0.2.1', port: 1 }, 0, true));
  assert.ok(open.heard({ id: far(2), host: '192.0.2.2', port: 1 }, 0, true));
  assert.ok(open.heard({ id: far(3), host: '192.0.2.1', port: 2 }, 0, true));
});

test('subnetOf: the /24 of an IPv4 address, mapped or not; anything else whole', () => {
  assert.equal(subnetOf('192.0.2.77'), '192.0.2');
  assert.equal(subnetOf('::ffff:192.0.2.77'), '192.0.2');
  assert.equal(subnetOf('2001:db8::1'), '2001:db8::1');
});
