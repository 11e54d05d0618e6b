/**
 * The IP filter's range set (src/net/ip-range-set.ts): ranges merged when they overlap or touch,
 * looked up at their edges, IPv4-mapped IPv6 peers filtered as their IPv4 address, other IPv6 not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';

const ip = (s: string) => {
  const n = ipv4Number(s);
  assert.ok(n !== undefined, s);
  return n;
};

function setOf(...ranges: [string, string][]): IpRangeSet {
  return IpRangeSet.fromRanges(
    ranges.map(([a]) => ip(a)),
    ranges.map(([, b]) => ip(b)),
  );
}

test('overlapping and touching ranges merge into one; a gap keeps two', () => {
  const set = setOf(
    ['10.0.0.50', '10.0.0.99'],
    ['10.0.0.0', '10.0.0.60'],
    ['10.0.0.100', '10.0.0.120'], // touches the first (…99 + 1)
    ['10.0.0.122', '10.0.0.130'], // 121 lies between
  );
  assert.deepEqual([...set.starts].map(formatIpv4), ['10.0.0.0', '10.0.0.122']);
  assert.deepEqual([...set.ends].map(formatIpv4), ['10.0.0.120', '10.0.0.130']);
  assert.equal(set.size, 2);
  assert.equal(set.addressCount, 121 + 9);
});

test('a lookup is inclusive at both ends of a range and false just outside', () => {
  const set = setOf(['1.2.3.4', '1.2.3.255'], ['0.0.0.0', '0.0.0.0'], ['255.255.255.255', '255.255.255.255']);
  for (const inside of ['1.2.3.4', '1.2.3.100', '1.2.3.255', '0.0.0.0', '255.255.255.255'])
    assert.ok(set.hasHost(inside), inside);
  for (const outside of ['1.2.3.3', '1.2.4.0', '0.0.0.1', '255.255.255.254', '128.0.0.0'])
    assert.ok(!set.hasHost(outside), outside);
});

test('a peer address is looked up by its host; an IPv4-mapped IPv6 peer as its IPv4 address; other IPv6 never', () => {
  const set = setOf(['127.0.0.2', '127.0.0.2']);
  assert.ok(set.hasAddress('127.0.0.2:6881'));
  assert.ok(!set.hasAddress('127.0.0.1:6881'));
  assert.ok(set.hasAddress('[::ffff:127.0.0.2]:6881'));
  assert.ok(set.hasAddress('[::ffff:7f00:2]:6881'));
  assert.ok(!set.hasAddress('[::1]:6881'));
  assert.ok(!set.hasAddress('[2001:db8::1]:6881'));
  assert.ok(!set.hasAddress('example.org:80'));
  assert.ok(!IpRangeSet.empty.hasAddress('127.0.0.2:6881'));
});

test('a range written backwards in the input is dropped by fromRanges (the parser orders its ends)', () => {
  const set = IpRangeSet.fromRanges([ip('10.0.0.9')], [ip('10.0.0.1')]);
  assert.equal(set.size, 0);
});

test('dotted quads: leading zeros read as decimal (eMule DAT), anything else refused', () => {
  assert.equal(ipv4Number('001.002.003.004'), ip('1.2.3.4'));
  assert.equal(ipv4Number('010.000.000.001'), ip('10.0.0.1'));
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1..2.3',
    '1.2.3.4 ',
    '0001.2.3.4',
    '',
    'a.b.c.d',
    '1.2.3.',
  ])
    assert.equal(ipv4Number(bad), undefined, bad);
});
