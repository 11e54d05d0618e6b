/**
 * The count of blocked peers (blocked-peers.ts): distinct hosts, a host named again (another port,
 * another announce) not counted again; past MAX_REMEMBERED_BLOCKED hosts remembered, counted on
 * without remembering.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockedPeers, MAX_REMEMBERED_BLOCKED } from '../../../src/session/blocked-peers.js';

const v4 = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

test('a tracker naming the same 50 blocked peers at ten announces counts 50', () => {
  const blocked = new BlockedPeers();
  let last = 0;
  for (let announce = 0; announce < 10; announce++)
    for (let i = 0; i < 50; i++) last = blocked.add(`${v4(i)}:${6881 + announce}`);
  assert.equal(last, 50);
  assert.equal(blocked.count, 50);
  assert.equal(blocked.add('LocalHost:1'), 51, 'a name is a host of its own');
  assert.equal(blocked.add('localhost:2'), 51, 'hosts compared in lower case');
});

test('an IPv4 peer spelt as IPv4-mapped IPv6 is that IPv4 host, counted once', () => {
  // The filter blocks `::ffff:a.b.c.d` as a.b.c.d (IpRangeSet.hasHost), as a ban covers it
  // (ban-key.ts): a dual-stack socket, or a tracker's peers6, names an IPv4 peer so.
  const blocked = new BlockedPeers();
  assert.equal(blocked.add('10.0.0.1:6881'), 1);
  assert.equal(blocked.add('[::ffff:10.0.0.1]:6882'), 1);
  assert.equal(blocked.add('[::FFFF:a00:1]:6883'), 1, 'in any spelling');
  assert.equal(blocked.add('[::ffff:10.0.0.2]:1'), 2);
  assert.equal(blocked.add('10.0.0.2:2'), 2);
});

test('past the hosts it remembers, the count goes on without remembering', () => {
  const blocked = new BlockedPeers();
  for (let i = 0; i < MAX_REMEMBERED_BLOCKED; i++) blocked.add(`${v4(i)}:1`);
  assert.equal(blocked.count, MAX_REMEMBERED_BLOCKED);
  // Remembered: not counted again.
  assert.equal(blocked.add(`${v4(0)}:2`), MAX_REMEMBERED_BLOCKED);
  // Not remembered: each block counted.
  const extra = v4(MAX_REMEMBERED_BLOCKED + 1);
  assert.equal(blocked.add(`${extra}:1`), MAX_REMEMBERED_BLOCKED + 1);
  assert.equal(blocked.add(`${extra}:1`), MAX_REMEMBERED_BLOCKED + 2);
});
