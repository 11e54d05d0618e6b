import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfPeerAddresses } from '../../../src/net/address.js';

const INTERFACES = [
  { address: '127.0.0.1', family: 'IPv4' },
  { address: '::1', family: 'IPv6' },
  { address: '10.0.0.5', family: 'IPv4' },
  { address: 'fe80::1', family: 'IPv6' },
  { address: '10.0.0.5', family: 'IPv4' }, // an address on two interfaces is listed once
];

test("a listener's own addresses: every IPv4 interface for 0.0.0.0, all for ::, else its host", () => {
  assert.deepEqual(selfPeerAddresses('0.0.0.0', 6881, INTERFACES), ['127.0.0.1:6881', '10.0.0.5:6881']);
  assert.deepEqual(selfPeerAddresses('::', 6881, INTERFACES), [
    '127.0.0.1:6881',
    '[::1]:6881',
    '10.0.0.5:6881',
    '[fe80::1]:6881',
  ]);
  assert.deepEqual(selfPeerAddresses('127.0.0.1', 51413, INTERFACES), ['127.0.0.1:51413']);
  assert.deepEqual(selfPeerAddresses('0.0.0.0', 6881, []), []);
});
