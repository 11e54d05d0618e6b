/** Local addresses (src/net/local-address.ts): what a non-local PEX peer may not make us dial. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLocalAddress } from '../../../src/net/local-address.js';

test('loopback, private, link-local and unique-local hosts are local; public ones and names are not', () => {
  for (const a of [
    '127.0.0.1:1',
    '127.255.0.9:80',
    '10.1.2.3:6881',
    '172.16.0.1:1',
    '172.31.255.255:1',
    '192.168.1.1:80',
    '169.254.9.9:1',
    '[::1]:6881',
    '[fe80::1]:1',
    '[fd12:3456::1]:1',
    '[::ffff:192.168.0.1]:1',
    '[::ffff:7f00:1]:1',
  ])
    assert.equal(isLocalAddress(a), true, a);
  for (const a of [
    '8.8.8.8:53',
    '172.15.0.1:1',
    '172.32.0.1:1',
    '192.169.0.1:1',
    '[2001:db8::1]:1',
    '[::ffff:8.8.8.8]:1',
    'localhost:80',
    '[::2]:1',
  ])
    assert.equal(isLocalAddress(a), false, a);
});
