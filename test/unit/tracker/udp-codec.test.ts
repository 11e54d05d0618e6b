/** BEP 15 datagrams, byte for byte, and every short or odd-sized answer rejected with its numbers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import {
  decodeUdpResponse,
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  MAX_UDP_SCRAPE_HASHES,
  udpKey,
} from '../../../src/tracker/udp-codec.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

test('connect request: protocol id, action 0, transaction id', () => {
  assert.equal(hex(encodeConnect(0xdeadbeef)), '0000041727101980' + '00000000' + 'deadbeef');
});

test('announce request: 98 bytes in BEP 15 order', () => {
  const b = encodeAnnounce(0x0102030405060708n, 7, {
    infoHash: new Uint8Array(20).fill(0xaa),
    peerId: new Uint8Array(20).fill(0xbb),
    downloaded: 1,
    left: 2 ** 40,
    uploaded: 3,
    event: 'stopped',
    key: 'cafe0001',
    numwant: 0,
    port: 6881,
  });
  assert.equal(b.length, 98);
  assert.equal(
    hex(b),
    '0102030405060708' +
      '00000001' +
      '00000007' +
      'aa'.repeat(20) +
      'bb'.repeat(20) +
      '0000000000000001' +
      '0000010000000000' +
      '0000000000000003' +
      '00000003' +
      '00000000' +
      'cafe0001' +
      '00000000' +
      '1ae1',
  );
  const regular = encodeAnnounce(1n, 1, {
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20),
    downloaded: 0,
    left: 0,
    uploaded: 0,
    event: 'regular',
    port: 1,
  });
  assert.equal(hex(regular.subarray(80, 84)), '00000000', 'no event');
  assert.equal(hex(regular.subarray(92, 96)), 'ffffffff', 'num_want -1: the default');
  // BEP 21's paused has no BEP 15 code: 4, what libtorrent 2.0.8 sends (measured on 127.0.0.1).
  const paused = encodeAnnounce(1n, 1, {
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20),
    downloaded: 0,
    left: 5,
    uploaded: 0,
    event: 'paused',
    port: 1,
  });
  assert.equal(hex(paused.subarray(80, 84)), '00000004', 'paused: 4');
});

test('udpKey: hex keys as they are, other text hashed to 32 bits', () => {
  assert.equal(udpKey('cafe0001'), 0xcafe0001);
  assert.equal(udpKey(undefined), 0);
  assert.equal(udpKey('a key'), udpKey('a key'));
  assert.notEqual(udpKey('a key'), udpKey('b key'));
  assert.ok(udpKey('zzzz-zzzz') <= 0xffffffff);
});

test('scrape request: 1 to 74 info-hashes', () => {
  const b = encodeScrape(9n, 5, [new Uint8Array(20).fill(1), new Uint8Array(20).fill(2)]);
  assert.equal(hex(b), `${'0000000000000009'}00000002${'00000005'}${'01'.repeat(20)}${'02'.repeat(20)}`);
  for (const n of [0, MAX_UDP_SCRAPE_HASHES + 1])
    assert.throws(
      () =>
        encodeScrape(
          9n,
          5,
          Array.from({ length: n }, () => new Uint8Array(20)),
        ),
      (e: unknown) => e instanceof TrackerError && e.actual === n,
    );
});

test('decode: connect, announce (IPv4 and IPv6 peers), scrape, error', () => {
  assert.deepEqual(decodeUdpResponse(bytes('00000000 00000011 1122334455667788')), {
    action: 'connect',
    transactionId: 0x11,
    connectionId: 0x1122334455667788n,
  });
  const head = '00000001 00000022 00000708 00000003 00000005';
  assert.deepEqual(decodeUdpResponse(bytes(`${head} 7f000001 1ae1 0a000002 0000 c0a80001 0050`)), {
    action: 'announce',
    transactionId: 0x22,
    response: {
      interval: 1800,
      incomplete: 3,
      complete: 5,
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '192.168.0.1', port: 80 },
      ],
    },
  });
  const v6 = decodeUdpResponse(
    bytes(`${head} 00000000000000000000000000000001 1ae1 20010db8000000000000000000000005 0050`),
    6,
  );
  assert.deepEqual(v6.action === 'announce' && v6.response.peers, [
    { host: '::1', port: 6881 },
    { host: '2001:db8::5', port: 80 },
  ]);
  assert.deepEqual(decodeUdpResponse(bytes('00000002 00000033 00000005 00000009 00000003')), {
    action: 'scrape',
    transactionId: 0x33,
    files: [{ complete: 5, downloaded: 9, incomplete: 3 }],
  });
  assert.deepEqual(decodeUdpResponse(Buffer.concat([bytes('00000003 00000044'), Buffer.from('go away')])), {
    action: 'error',
    transactionId: 0x44,
    message: 'go away',
  });
});

test('decode rejects short, odd-sized and unknown datagrams with the numbers', () => {
  const cases: [string, 4 | 6, number][] = [
    ['000000', 4, 3],
    ['00000000 00000011 11223344', 4, 12],
    ['00000001 00000022 00000708', 4, 12],
    ['00000001 00000022 00000708 00000003 00000005 7f000001 1a', 4, 5],
    ['00000001 00000022 00000708 00000003 00000005 7f000001 1ae1', 6, 6],
    ['00000002 00000033 00000005', 4, 4],
    ['00000009 00000033', 4, 9],
  ];
  for (const [h, family, actual] of cases)
    assert.throws(
      () => decodeUdpResponse(bytes(h), family),
      (e: unknown) => e instanceof TrackerError && e.code === 'badResponse' && e.actual === actual,
      h,
    );
});
