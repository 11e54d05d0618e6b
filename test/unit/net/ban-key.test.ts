/**
 * What a host ban covers (src/net/ban-key.ts): an IPv4 address, an IPv6 /64, the IPv4 address
 * inside an IPv4-mapped or NAT64 address, the whole address where a /64 is not one site.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { banKey, formatIpv6, hostBanKey, parseIpv6 } from '../../../src/net/ban-key.js';

test('IPv4: the address itself; an IPv4 peer on a dual-stack socket, in any spelling, is that address', () => {
  assert.equal(banKey('10.0.0.7:50000'), '10.0.0.7');
  for (const v6 of [
    '::ffff:10.0.0.7',
    '::FFFF:10.0.0.7',
    '::ffff:a00:7',
    '0:0:0:0:0:ffff:10.0.0.7',
    '0000:0000:0000:0000:0000:FFFF:0A00:0007',
    '::ffff:10.0.0.7%eth0',
  ])
    assert.equal(banKey(`[${v6}]:6881`), '10.0.0.7', v6);
  assert.equal(banKey('[64:ff9b::10.0.0.7]:1'), '10.0.0.7', 'NAT64 (RFC 6052) carries an IPv4 host');
});

test('IPv6: the /64, whatever the spelling', () => {
  const key = '2001:db8:1:2::/64';
  for (const v6 of [
    '2001:db8:1:2::1',
    '2001:DB8:1:2:ffff:ffff:ffff:ffff',
    '2001:0db8:0001:0002:0000:0000:0000:0001',
    '2001:db8:1:2:a:b:c:d',
    '2001:db8:1:2:0:0:1.2.3.4',
    '2001:db8:1:2::1%3',
  ])
    assert.equal(banKey(`[${v6}]:6881`), key, v6);
  assert.equal(banKey('[2001:db8:1:3::1]:6881'), '2001:db8:1:3::/64');
  assert.equal(banKey('[2001:db8::1]:6881'), '2001:db8::/64');
  assert.equal(banKey('[2001:db8:0:0:1::1]:6881'), '2001:db8::/64');
  assert.equal(banKey('[fd00:1:2:3:4::5]:6881'), 'fd00:1:2:3::/64', 'unique local: a site too');
});

test('IPv6 where a /64 is not one site: the whole address', () => {
  assert.equal(banKey('[::1]:6881'), '::1');
  assert.equal(banKey('[0:0:0:0:0:0:0:1]:6881'), '::1');
  assert.equal(banKey('[::1.2.3.4]:6881'), '::102:304', 'the deprecated IPv4-compatible form');
  assert.equal(banKey('[fe80::1:2%eth0]:6881'), 'fe80::1:2', 'link-local, the zone dropped');
  assert.equal(banKey('[FEBF::1]:6881'), 'febf::1', 'all of fe80::/10');
  assert.equal(banKey('[fec0::1]:6881'), 'fec0::/64', 'past fe80::/10');
  assert.equal(banKey('[2001:0:4136:e378:8000:63bf:3fff:fdd2]:6881'), '2001:0:4136:e378:8000:63bf:3fff:fdd2');
  assert.equal(banKey('[2001:1::1]:6881'), '2001:1::/64', 'past Teredo 2001::/32');
});

test('names and what is no IP address are their own key, lower case', () => {
  assert.equal(banKey('Peer.Example:6881'), 'peer.example');
  assert.equal(banKey('h:1'), 'h');
  assert.equal(hostBanKey('01.2.3.4'), '01.2.3.4', 'a leading zero is no canonical IPv4');
  assert.equal(hostBanKey('1:2:3:4:5:6:7:8:9'), '1:2:3:4:5:6:7:8:9');
});

test('parseIpv6 refuses what is not an IPv6 address', () => {
  for (const bad of [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7::1.2.3.4',
    '::1.2.3',
    '::1.2.3.256',
    '::01.2.3.4',
    '1.2.3.4',
    ':1::',
    '1::2:',
    'fe80::1%',
  ])
    assert.equal(parseIpv6(bad), undefined, bad);
  assert.deepEqual(parseIpv6('1:2:3:4:5:6:7::'), [1, 2, 3, 4, 5, 6, 7, 0]);
  assert.deepEqual(parseIpv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
});

test('formatIpv6 writes RFC 5952: the longest zero run as ::, the first of equal ones, never one group', () => {
  assert.equal(formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(formatIpv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]), '2001:db8:0:1::1');
  assert.equal(formatIpv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  assert.equal(formatIpv6([1, 0, 0, 0, 0, 0, 0, 0]), '1::');
});
