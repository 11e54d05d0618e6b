/**
 * BEP 14's BT-SEARCH announce: what we write, what libtorrent and Transmission write read back, and
 * each way a datagram to the group can fail to be an announce, as the LsdError code it is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LsdError, type LsdErrorCode } from '../../../src/lsd/lsd-error.js';
import {
  formatLsdAnnounce,
  MAX_LSD_HEADER_LINES,
  MAX_LSD_INFOHASHES,
  MAX_LSD_MESSAGE_BYTES,
  parseLsdAnnounce,
} from '../../../src/lsd/lsd-message.js';

const HASH_A = 'c8c26e923a97453997ce40e74983b787f2baf6d0';
const HASH_B = '4a75de474748222d896f7185d2704dd4f49b0990';
const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');

function fails(text: string | Uint8Array, code: LsdErrorCode): void {
  assert.throws(
    () => parseLsdAnnounce(typeof text === 'string' ? bytes(text) : text),
    (err: unknown) => err instanceof LsdError && err.code === code,
    `expected ${code}`,
  );
}

const head = 'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n';

describe('formatLsdAnnounce', () => {
  it('writes the announce libtorrent writes, with every info-hash on a line of its own', () => {
    const text = new TextDecoder().decode(
      formatLsdAnnounce({
        port: 47123,
        infoHashes: [Buffer.from(HASH_A, 'hex'), Buffer.from(HASH_B, 'hex')],
        cookie: '6502fac0',
      }),
    );
    assert.equal(
      text,
      `${head}Port: 47123\r\nInfohash: ${HASH_A}\r\nInfohash: ${HASH_B}\r\ncookie: 6502fac0\r\n\r\n\r\n`,
    );
  });

  it('refuses a port outside 1..65535, no info-hash, too many, or one not 20 bytes', () => {
    const h = new Uint8Array(20).fill(1);
    assert.throws(() => formatLsdAnnounce({ port: 0, infoHashes: [h] }), RangeError);
    assert.throws(() => formatLsdAnnounce({ port: 65536, infoHashes: [h] }), RangeError);
    assert.throws(() => formatLsdAnnounce({ port: 1, infoHashes: [] }), RangeError);
    assert.throws(
      () => formatLsdAnnounce({ port: 1, infoHashes: Array(MAX_LSD_INFOHASHES + 1).fill(h) }),
      RangeError,
    );
    assert.throws(() => formatLsdAnnounce({ port: 1, infoHashes: [new Uint8Array(32)] }), RangeError);
  });
});

describe('parseLsdAnnounce', () => {
  it("reads libtorrent 2.0.8's announce (as captured on 127.0.0.1)", () => {
    const a = parseLsdAnnounce(
      bytes(`${head}Port: 47123\r\nInfohash: ${HASH_A}\r\ncookie: 6502fac0\r\n\r\n\r\n`),
    );
    assert.equal(a.port, 47123);
    assert.deepEqual(a.infoHashes.map(hex), [HASH_A]);
    assert.equal(a.cookie, '6502fac0');
  });

  it("reads Transmission 3's announce: upper-case hex, no cookie", () => {
    const a = parseLsdAnnounce(bytes(`${head}Port: 51413\r\nInfohash: ${HASH_B.toUpperCase()}\r\n\r\n\r\n`));
    assert.equal(a.port, 51413);
    assert.deepEqual(a.infoHashes.map(hex), [HASH_B]);
    assert.equal(a.cookie, undefined);
  });

  it('takes LF line ends, any case in the method and header names, and headers it does not know', () => {
    const a = parseLsdAnnounce(
      bytes(`bt-search * HTTP/1.0\nHOST: x\nX-Other: 1\nport:  6881 \nINFOHASH: ${HASH_A}\nCookie: c\n\n`),
    );
    assert.equal(a.port, 6881);
    assert.deepEqual(a.infoHashes.map(hex), [HASH_A]);
    assert.equal(a.cookie, 'c');
  });

  it('skips an info-hash that is not 40 hex digits, all zeros, or named twice', () => {
    const a = parseLsdAnnounce(
      bytes(
        `${head}Port: 1\r\nInfohash: ${HASH_A.slice(1)}\r\nInfohash: ${'0'.repeat(40)}\r\n` +
          `Infohash: ${'g'.repeat(40)}\r\nInfohash: ${HASH_B}\r\nInfohash: ${HASH_B.toUpperCase()}\r\n\r\n`,
      ),
    );
    assert.deepEqual(a.infoHashes.map(hex), [HASH_B]);
  });

  it('reads MAX_LSD_INFOHASHES info-hashes and no more', () => {
    const lines = (n: number) =>
      Array.from({ length: n }, (_, i) => `Infohash: ${(i + 1).toString(16).padStart(40, '0')}\r\n`).join('');
    assert.equal(
      parseLsdAnnounce(bytes(`${head}Port: 1\r\n${lines(MAX_LSD_INFOHASHES)}\r\n`)).infoHashes.length,
      MAX_LSD_INFOHASHES,
    );
    fails(`${head}Port: 1\r\n${lines(MAX_LSD_INFOHASHES + 1)}\r\n`, 'tooManyLines');
  });

  it('refuses more header lines than MAX_LSD_HEADER_LINES before reading them', () => {
    fails(
      `${head}Port: 1\r\nInfohash: ${HASH_A}\r\n${'X: y\r\n'.repeat(MAX_LSD_HEADER_LINES)}\r\n`,
      'tooManyLines',
    );
  });

  it('refuses a datagram over MAX_LSD_MESSAGE_BYTES whatever it holds', () => {
    const text = `${head}Port: 1\r\nInfohash: ${HASH_A}\r\n\r\n`;
    fails(bytes(text.padEnd(MAX_LSD_MESSAGE_BYTES + 1, ' ')), 'tooLarge');
    const err = (() => {
      try {
        parseLsdAnnounce(new Uint8Array(65_507));
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof LsdError && err.limit === MAX_LSD_MESSAGE_BYTES);
  });

  it('names each way a datagram is not an announce', () => {
    fails(new Uint8Array([0x42, 0x54, 0x00]), 'notText');
    fails(bytes(`${head}Port: 1\r\nInfohash: ${HASH_A}\r\n\r\n`.replace('Port', 'Pört')), 'notText');
    fails('', 'notBtSearch');
    fails(`GET / HTTP/1.1\r\nPort: 1\r\nInfohash: ${HASH_A}\r\n\r\n`, 'notBtSearch');
    fails(`BT-SEARCH *\r\nPort: 1\r\nInfohash: ${HASH_A}\r\n\r\n`, 'notBtSearch');
    fails(`BT-SEARCH * SIP/2.0\r\nPort: 1\r\nInfohash: ${HASH_A}\r\n\r\n`, 'notBtSearch');
    fails(`${head}Port: 1\r\nInfohash: ${HASH_A}\r\n`, 'unfinished');
    fails(`${head}Port 1\r\nInfohash: ${HASH_A}\r\n\r\n`, 'malformed');
    fails(`${head}: 1\r\nInfohash: ${HASH_A}\r\n\r\n`, 'malformed');
    fails(`${head}Port: 1\r\nPort: 2\r\nInfohash: ${HASH_A}\r\n\r\n`, 'malformed');
    fails(`${head}Port: 1\r\ncookie: a\r\ncookie: b\r\nInfohash: ${HASH_A}\r\n\r\n`, 'malformed');
    fails(`${head}Infohash: ${HASH_A}\r\n\r\n`, 'badPort');
    for (const p of ['0', '65536', '-1', '0x50', '1e3', '', '123456'])
      fails(`${head}Port: ${p}\r\nInfohash: ${HASH_A}\r\n\r\n`, 'badPort');
    fails(`${head}Port: 1\r\n\r\n`, 'noInfohash');
    fails(`${head}Port: 1\r\nInfohash: ${'0'.repeat(40)}\r\n\r\n`, 'noInfohash');
  });

  it('reads only up to the blank line', () => {
    const a = parseLsdAnnounce(bytes(`${head}Port: 9\r\nInfohash: ${HASH_A}\r\n\r\nInfohash: ${HASH_B}\r\n`));
    assert.deepEqual(a.infoHashes.map(hex), [HASH_A]);
  });
});
