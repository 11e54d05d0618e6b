/**
 * BEP 42's node ids (src/dht/secure-node-id.ts): the BEP's own test vectors, what a check of an id
 * against an address looks at (the first 21 bits and the last byte, nothing else), the local
 * addresses it exempts, and the CRC-32C under it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../../../src/dht/crc32c.js';
import { isSecureIdExempt, isVerifiedNodeId, secureNodeId } from '../../../src/dht/secure-node-id.js';

/** BEP 42's table: IP, rand (r, the id's last byte), an example id (its first 21 bits fixed). */
const VECTORS: [string, number, string][] = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
];

test('crc32c: the check value of "123456789" (0xE3069283)', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("BEP 42's test vectors: the id made for each IP and r has the vector's first 21 bits and r last", () => {
  for (const [ip, r, hex] of VECTORS) {
    const example = Buffer.from(hex, 'hex');
    assert.equal(example[19], r);
    // Random bytes unlike the example's: only the 21 bits and r are the IP's.
    const random = new Uint8Array(20).fill(0xaa);
    random[19] = r;
    const id = secureNodeId(ip, random)!;
    assert.equal(id[0], example[0], `${ip}: byte 0`);
    assert.equal(id[1], example[1], `${ip}: byte 1`);
    assert.equal(id[2]! & 0xf8, example[2]! & 0xf8, `${ip}: the top 5 bits of byte 2`);
    assert.equal(id[2]! & 0x07, 0xaa & 0x07, 'the rest of byte 2 is random');
    assert.deepEqual([...id.subarray(3, 19)], new Array(16).fill(0xaa), 'bytes 3..18 are random');
    assert.equal(id[19], r);
    // With the example's own random bytes, the example itself.
    assert.equal(Buffer.from(secureNodeId(ip, new Uint8Array(example))!).toString('hex'), hex);
    assert.ok(isVerifiedNodeId(example, ip), `${ip}: the example verifies`);
    assert.ok(isVerifiedNodeId(id, ip));
  }
});

test('verification: any of the first 21 bits or r changed fails; the other bits are free', () => {
  const [ip, , hex] = VECTORS[0]!;
  const example = Buffer.from(hex, 'hex');
  for (let bit = 0; bit < 21; bit++) {
    const id = new Uint8Array(example);
    id[bit >> 3]! ^= 0x80 >> (bit & 7);
    assert.equal(isVerifiedNodeId(id, ip), false, `bit ${bit}`);
  }
  const otherR = new Uint8Array(example);
  otherR[19] = 2; // r's low 3 bits go into the checksum
  assert.equal(isVerifiedNodeId(otherR, ip), false, 'another r');
  const free = new Uint8Array(example);
  free[2]! ^= 0x07;
  free[10]! ^= 0xff;
  assert.ok(isVerifiedNodeId(free, ip), 'bits 21..151 are not checked');
  // The mask (03.0f.3f.ff): the last octet counts whole, the first only by its 2 low bits.
  assert.equal(isVerifiedNodeId(example, '124.31.75.22'), false, 'another last octet');
  assert.ok(isVerifiedNodeId(example, '120.15.11.21'), 'bits the mask drops are not checked');
});

test('local addresses are exempt (BEP 42): any id verifies there; public ones and non-IPv4 hosts are checked', () => {
  const any = new Uint8Array(20).fill(0x11);
  for (const host of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.1', '192.168.1.1', '169.254.3.4']) {
    assert.ok(isSecureIdExempt(host), host);
    assert.ok(isVerifiedNodeId(any, host), host);
  }
  for (const host of ['172.32.0.1', '8.8.8.8', '203.0.113.7', 'example.org']) {
    assert.equal(isSecureIdExempt(host), false, host);
    assert.equal(isVerifiedNodeId(any, host), false, host);
  }
  assert.equal(secureNodeId('example.org', any), undefined);
});
