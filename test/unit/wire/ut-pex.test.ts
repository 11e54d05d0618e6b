/**
 * The BEP 11 ut_pex codec: the bytes we write (against the bencode encoder), and the decoder's
 * bounds and leniency — an oversized payload or one that is no dictionary is a typed error;
 * malformed fields are ignored as libtorrent and Transmission ignore them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { decodeUtPex } from '../../../src/wire/decode-ut-pex.js';
import {
  compactAddress,
  encodeUtPex,
  MAX_PEX_ACCEPTED,
  MAX_UT_PEX_PAYLOAD,
  PexFlag,
} from '../../../src/wire/ut-pex.js';
import { WireError } from '../../../src/wire/wire-error.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

test('the payload is the bencoded dictionary of compact strings, every key present, keys in order', () => {
  const payload = encodeUtPex({
    added: [
      { address: '10.0.0.1:6881', flags: PexFlag.seed | PexFlag.reachable },
      { address: '[2001:db8::1]:51413', flags: 0 },
      { address: 'example.org:6881', flags: 0 }, // a host name has no compact form: left out
    ],
    dropped: ['192.168.1.2:80'],
  });
  const expected = bencode({
    added: bytes(10, 0, 0, 1, 0x1a, 0xe1),
    'added.f': bytes(0x12),
    added6: bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xc8, 0xd5),
    'added6.f': bytes(0),
    dropped: bytes(192, 168, 1, 2, 0, 80),
    dropped6: new Uint8Array(0),
  });
  assert.deepEqual(Buffer.from(payload), Buffer.from(expected));
});

test('an IPv4 peer seen on a dual-stack socket is sent as IPv4', () => {
  assert.deepEqual(compactAddress('[::ffff:1.2.3.4]:258'), bytes(1, 2, 3, 4, 1, 2));
  assert.equal(compactAddress('1.2.3.4:0'), undefined);
  assert.equal(compactAddress('01.2.3.4:5'), undefined);
});

test('what decodes: addresses with their flags, IPv4 before IPv6, dropped ones', () => {
  const m = decodeUtPex(
    bencode({
      added: bytes(127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2),
      'added.f': bytes(0x02, 0x10),
      added6: bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 7),
      dropped: bytes(127, 0, 0, 3, 0, 9),
    }),
  );
  assert.deepEqual(m, {
    added: [
      { address: '127.0.0.1:6881', flags: 2 },
      { address: '127.0.0.2:6882', flags: 16 },
      { address: '[::1]:7', flags: 0 },
    ],
    dropped: ['127.0.0.3:9'],
  });
});

test('malformed fields are ignored: a partial entry, flags of the wrong length, port 0, a non-string', () => {
  const m = decodeUtPex(
    bencode({
      added: bytes(127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0, 0, 9, 9, 9),
      'added.f': bytes(0x02), // two entries, one flag byte: no flags
      dropped: 5n,
    }),
  );
  assert.deepEqual(m, { added: [{ address: '127.0.0.1:6881', flags: 0 }], dropped: [] });
});

test('at most MAX_PEX_ACCEPTED peers are read from one message', () => {
  const n = 300;
  const added = new Uint8Array(6 * n);
  for (let i = 0; i < n; i++) added.set([10, 0, i >> 8, i & 0xff, 0x1a, 0xe1], 6 * i);
  const m = decodeUtPex(bencode({ added, 'added.f': new Uint8Array(n) }));
  assert.equal(m.added.length, MAX_PEX_ACCEPTED);
});

test('a payload over MAX_UT_PEX_PAYLOAD, or one that is no dictionary, is a badPexMessage', () => {
  const big = bencode({ added: new Uint8Array(MAX_UT_PEX_PAYLOAD) });
  for (const payload of [big, bencode([1n]), new TextEncoder().encode('d5:added')])
    assert.throws(
      () => decodeUtPex(payload),
      (e: unknown) => e instanceof WireError && e.code === 'badPexMessage',
    );
});

/** The checked-in hostile ut_pex payloads of test/fixtures/ut-pex (seeds.json: each verdict). */
test('ut_pex fuzz seeds keep their verdicts', () => {
  const dir = new URL('../../fixtures/ut-pex/', import.meta.url);
  const seeds = JSON.parse(readFileSync(new URL('seeds.json', dir), 'utf8')) as {
    file: string;
    error: string | null;
    added?: number;
    dropped?: number;
  }[];
  assert.ok(seeds.length >= 4);
  for (const seed of seeds) {
    const payload = Buffer.from(readFileSync(new URL(seed.file, dir), 'utf8').replace(/\s/g, ''), 'hex');
    if (seed.error !== null) {
      assert.throws(
        () => decodeUtPex(payload),
        (e: unknown) => e instanceof WireError && e.code === seed.error,
        seed.file,
      );
      continue;
    }
    const m = decodeUtPex(payload);
    assert.equal(m.added.length, seed.added, seed.file);
    assert.equal(m.dropped.length, seed.dropped, seed.file);
  }
});
