/**
 * BEP 29's packet codec (src/utp/utp-packet.ts): every header field and a selective ack survive a
 * round trip; bytes that are no uTP packet are named, not thrown or misread; an extension we do not
 * know is skipped by its length; and the 16-bit sequence numbers compare across the 65535 → 0 wrap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_STATE,
  ST_SYN,
  seqAdd,
  seqBefore,
  seqDistance,
  UTP_HEADER_LENGTH,
  type UtpPacket,
  type UtpPacketType,
} from '../../../src/utp/utp-packet.js';

const header = fc.record({
  type: fc.integer({ min: 0, max: 4 }).map((t) => t as UtpPacketType),
  connectionId: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  timestampDifference: fc.integer({ min: 0, max: 0xffffffff }),
  windowSize: fc.integer({ min: 0, max: 0xffffffff }),
  seqNr: fc.integer({ min: 0, max: 0xffff }),
  ackNr: fc.integer({ min: 0, max: 0xffff }),
});
const selectiveAck = fc
  .integer({ min: 1, max: 8 })
  .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));

function packet(bytes: Uint8Array): UtpPacket {
  const p = decodeUtpPacket(bytes);
  assert.equal(typeof p, 'object', `not a packet: ${String(p)}`);
  return p as UtpPacket;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A STATE header with the extension byte and the bytes after the header given by hand. */
function withExtensions(firstExtension: number, chain: number[], payload: number[] = []): Uint8Array {
  const h = encodeUtpHeader({
    type: ST_STATE,
    connectionId: 7,
    timestamp: 1,
    timestampDifference: 2,
    windowSize: 3,
    seqNr: 4,
    ackNr: 5,
  });
  h[1] = firstExtension;
  return concat(h, Uint8Array.from(chain), Uint8Array.from(payload));
}

test('every header field, the selective ack and the payload survive encode then decode', () => {
  fc.assert(
    fc.property(
      header,
      fc.option(selectiveAck, { nil: undefined }),
      fc.uint8Array({ maxLength: 64 }),
      (h, sack, payload) => {
        const encoded = encodeUtpHeader(sack === undefined ? h : { ...h, selectiveAck: sack });
        assert.equal(encoded.length, UTP_HEADER_LENGTH + (sack === undefined ? 0 : 2 + sack.length));
        const p = packet(concat(encoded, payload));
        assert.equal(p.type, h.type);
        assert.equal(p.connectionId, h.connectionId);
        assert.equal(p.timestamp, h.timestamp);
        assert.equal(p.timestampDifference, h.timestampDifference);
        assert.equal(p.windowSize, h.windowSize);
        assert.equal(p.seqNr, h.seqNr);
        assert.equal(p.ackNr, h.ackNr);
        if (sack === undefined) assert.equal(p.selectiveAck, undefined);
        else assert.deepEqual([...p.selectiveAck!], [...sack]);
        assert.deepEqual([...p.payload], [...payload]);
      },
    ),
    { numRuns: 1000 },
  );
});

test('the version nibble is 1 and the type is the high nibble', () => {
  const h = encodeUtpHeader({
    type: ST_SYN,
    connectionId: 0x1234,
    timestamp: 0,
    timestampDifference: 0,
    windowSize: 0,
    seqNr: 1,
    ackNr: 0,
  });
  assert.equal(h[0], 0x41);
  assert.equal(h[2], 0x12);
  assert.equal(h[3], 0x34);
});

test('fewer than 20 bytes are short', () => {
  const h = encodeUtpHeader({
    type: ST_DATA,
    connectionId: 1,
    timestamp: 0,
    timestampDifference: 0,
    windowSize: 0,
    seqNr: 1,
    ackNr: 0,
  });
  for (let n = 0; n < UTP_HEADER_LENGTH; n++) assert.equal(decodeUtpPacket(h.subarray(0, n)), 'short');
  assert.equal(typeof decodeUtpPacket(h), 'object');
});

test('a version other than 1 is refused', () => {
  for (const version of [0, 2, 15]) {
    const bytes = withExtensions(0, []);
    bytes[0] = (ST_DATA << 4) | version;
    assert.equal(decodeUtpPacket(bytes), 'version');
  }
});

test('a type past ST_SYN (4) is refused', () => {
  for (const type of [5, 6, 15]) {
    const bytes = withExtensions(0, []);
    bytes[0] = (type << 4) | 1;
    assert.equal(decodeUtpPacket(bytes), 'type');
  }
  const bytes = withExtensions(0, []);
  bytes[0] = (4 << 4) | 1;
  assert.equal(packet(bytes).type, ST_SYN);
});

test('an extension chain cut short, or longer than the datagram, is refused', () => {
  // The header names an extension and the datagram ends there.
  assert.equal(decodeUtpPacket(withExtensions(1, [])), 'extension');
  // Only the "next" byte of the link.
  assert.equal(decodeUtpPacket(withExtensions(2, [0])), 'extension');
  // A length past the end.
  assert.equal(decodeUtpPacket(withExtensions(2, [0, 5, 1, 2, 3, 4])), 'extension');
  // A second link named and missing.
  assert.equal(decodeUtpPacket(withExtensions(2, [2, 1, 9])), 'extension');
  // A selective ack whose four bytes are not all there.
  assert.equal(decodeUtpPacket(withExtensions(1, [0, 4, 1, 2, 3])), 'extension');
});

test('a selective ack whose length is not a multiple of 4 (or 0) is refused', () => {
  for (const length of [0, 1, 2, 3, 5, 6, 7, 9, 31]) {
    const bytes = withExtensions(1, [0, length, ...new Array<number>(length).fill(0xff)], [1, 2]);
    assert.equal(decodeUtpPacket(bytes), 'extension', `length ${length}`);
  }
  for (const length of [4, 8, 32]) {
    const p = packet(withExtensions(1, [0, length, ...new Array<number>(length).fill(0xff)], [1, 2]));
    assert.equal(p.selectiveAck?.length, length);
    assert.deepEqual([...p.payload], [1, 2]);
  }
});

test('an unknown extension is skipped: the payload starts after it, and a selective ack after it is read', () => {
  const alone = packet(withExtensions(7, [0, 3, 0xaa, 0xbb, 0xcc], [9, 8, 7]));
  assert.deepEqual([...alone.payload], [9, 8, 7]);
  assert.equal(alone.selectiveAck, undefined);

  // An unknown extension of length 0, then a selective ack, then one more unknown.
  const chained = packet(
    withExtensions(200, [1, 0, /* sack: */ 9, 4, 1, 2, 3, 4, /* ext 9: */ 0, 2, 0xee, 0xee], [5]),
  );
  assert.deepEqual([...chained.selectiveAck!], [1, 2, 3, 4]);
  assert.deepEqual([...chained.payload], [5]);
});

test('seqDistance and seqBefore across the 65535 → 0 wrap', () => {
  assert.equal(seqDistance(65535, 0), 1);
  assert.equal(seqDistance(65530, 4), 10);
  assert.equal(seqDistance(4, 65530), 65526);
  assert.equal(seqDistance(9, 9), 0);
  assert.equal(seqAdd(65535, 1), 0);
  assert.equal(seqAdd(0, -1), 65535);
  assert.ok(seqBefore(65535, 0));
  assert.ok(seqBefore(65000, 100));
  assert.ok(!seqBefore(100, 65000));
  assert.ok(!seqBefore(0, 65535));
  assert.ok(!seqBefore(5, 5));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0x7fff }), (a, n) => {
      const b = seqAdd(a, n);
      assert.equal(seqDistance(a, b), n);
      assert.ok(seqBefore(a, b));
      assert.ok(!seqBefore(b, a));
    }),
    { numRuns: 1000 },
  );
});
