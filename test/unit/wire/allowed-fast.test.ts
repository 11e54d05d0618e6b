/** BEP 6 allowed fast set: the BEP's own test vectors, and the edge cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedFastSet, ipv4Of } from '../../../src/wire/allowed-fast.js';
import { hasFastBit, ourReservedBytes } from '../../../src/wire/reserved-bits.js';

const AA = new Uint8Array(20).fill(0xaa);

test('BEP 6 example: 80.4.4.200, info-hash 0xAA×20, 1313 pieces, k = 7', () => {
  assert.deepEqual(allowedFastSet('80.4.4.200', AA, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
});

test('BEP 6 example: k = 9 extends the same sequence with 353, 508', () => {
  assert.deepEqual(
    allowedFastSet('80.4.4.200', AA, 1313, 9),
    [1059, 431, 808, 1217, 287, 376, 1188, 353, 508],
  );
});

test('only the /24 counts: 80.4.4.1 gets the set of 80.4.4.200; 80.4.5.200 another one', () => {
  assert.deepEqual(allowedFastSet('80.4.4.1', AA, 1313, 7), allowedFastSet('80.4.4.200', AA, 1313, 7));
  assert.notDeepEqual(allowedFastSet('80.4.5.200', AA, 1313, 7), allowedFastSet('80.4.4.200', AA, 1313, 7));
});

test('an IPv4-mapped IPv6 address is its IPv4; plain IPv6 gets no set', () => {
  assert.deepEqual(
    allowedFastSet('::ffff:80.4.4.200', AA, 1313, 7),
    allowedFastSet('80.4.4.200', AA, 1313, 7),
  );
  assert.equal(allowedFastSet('2001:db8::1', AA, 1313, 7), undefined);
  assert.equal(ipv4Of('::1'), undefined);
});

test('k ≥ pieceCount allows every piece (the BEP loop could never end)', () => {
  assert.deepEqual(allowedFastSet('127.0.0.1', AA, 4, 10), [0, 1, 2, 3]);
});

test('the set has k distinct pieces in range', () => {
  const set = allowedFastSet('127.0.0.1', AA, 11, 10) ?? [];
  assert.equal(set.length, 10);
  assert.equal(new Set(set).size, 10);
  assert.ok(set.every((i) => i >= 0 && i < 11));
});

test('the fast bit is reserved[7] & 0x04', () => {
  const r = new Uint8Array(8);
  assert.equal(hasFastBit(r), false);
  r[7] = 0x04;
  assert.equal(hasFastBit(r), true);
  r[7] = 0x01; // DHT, not fast
  assert.equal(hasFastBit(r), false);
  assert.deepEqual([...ourReservedBytes()], [0, 0, 0, 0, 0, 0x10, 0, 0x04]); // BEP 10 and BEP 6
});
