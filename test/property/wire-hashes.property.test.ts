/**
 * BEP 52's three wire messages (hash request 21, hashes 22, hash reject 23) through the codec: the
 * bytes are BEP 52's layout (spelled out here with a DataView, not by the encoder), they decode back
 * to the message cut at every split point, and a frame the limits refuse — a hashes message over
 * MAX_HASHES_PER_MESSAGE, hashes not whole, a request or reject of any length but 49 — is one typed
 * WireError on its length prefix and id, before anything of its size is buffered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeMessage } from '../../src/wire/encode-message.js';
import {
  HASH_REQUEST_FRAME_LENGTH,
  MAX_HASHES_FRAME_LENGTH,
  MAX_HASHES_PER_MESSAGE,
} from '../../src/wire/limits.js';
import type { HashRange, WireMessage } from '../../src/wire/messages.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';
import { concat, decodeChunks, readable, split } from '../unit/wire/wire-test-helpers.js';

const u32 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([hi, lo]) => hi * 0x10000 + lo);
const range: fc.Arbitrary<HashRange> = fc.record({
  piecesRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  baseLayer: u32,
  index: u32,
  length: u32,
  proofLayers: u32,
});
const hashMessage: fc.Arbitrary<WireMessage> = fc.oneof(
  range.map((r) => ({ type: 'hashRequest' as const, ...r })),
  range.map((r) => ({ type: 'hashReject' as const, ...r })),
  fc
    .tuple(range, fc.integer({ min: 0, max: 40 }))
    .chain(([r, n]) =>
      fc
        .uint8Array({ minLength: 32 * n, maxLength: 32 * n })
        .map((hashes) => ({ type: 'hashes' as const, ...r, hashes })),
    ),
);

/** BEP 52's bytes, written by hand: <len><id><pieces root><base layer><index><length><proof layers>[<hashes>]. */
function bep52Bytes(m: WireMessage): Uint8Array {
  if (m.type !== 'hashRequest' && m.type !== 'hashes' && m.type !== 'hashReject') throw new Error(m.type);
  const hashes = m.type === 'hashes' ? m.hashes : new Uint8Array(0);
  const out = new Uint8Array(4 + 49 + hashes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 49 + hashes.length);
  view.setUint8(4, { hashRequest: 21, hashes: 22, hashReject: 23 }[m.type]);
  out.set(m.piecesRoot, 5);
  view.setUint32(37, m.baseLayer);
  view.setUint32(41, m.index);
  view.setUint32(45, m.length);
  view.setUint32(49, m.proofLayers);
  out.set(hashes, 53);
  return out;
}

const header = (len: number, id: number) => {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(0, len);
  b[4] = id;
  return b;
};

describe('BEP 52 hash messages on the wire', () => {
  it('encode writes BEP 52’s bytes, and they decode back to the message', () => {
    fc.assert(
      fc.property(hashMessage, (m) => {
        const bytes = bep52Bytes(m);
        assert.deepEqual(Buffer.from(encodeMessage(m)), Buffer.from(bytes));
        const out = decodeChunks([bytes], { expectHandshake: false });
        assert.equal(out.error, undefined);
        assert.deepEqual(readable(out.items), readable([m]));
      }),
    );
  });

  it('cut at every split point, between two of them and a keep-alive, they decode the same', () => {
    fc.assert(
      fc.property(hashMessage, hashMessage, (a, b) => {
        const stream = concat([bep52Bytes(a), new Uint8Array(4), bep52Bytes(b)]);
        const expected = readable([a, { type: 'keepAlive' }, b]);
        for (let at = 0; at <= stream.length; at++) {
          const out = decodeChunks(split(stream, [at]), { expectHandshake: false });
          assert.equal(out.error, undefined, `cut at ${at}`);
          assert.deepEqual(readable(out.items), expected, `cut at ${at}`);
          assert.ok(out.stats.bytesCopied <= out.stats.bytesIn);
        }
      }),
      { numRuns: 40 },
    );
  });

  it(`a hashes message of up to ${MAX_HASHES_PER_MESSAGE} hashes is taken; one more is badMessageLength on its header`, () => {
    const most = {
      type: 'hashes' as const,
      piecesRoot: new Uint8Array(32).fill(9),
      baseLayer: 4,
      index: 0,
      length: 8192,
      proofLayers: 12,
      hashes: new Uint8Array(32 * MAX_HASHES_PER_MESSAGE).fill(3),
    };
    const out = decodeChunks(split(encodeMessage(most), [3, 60, 70_000]), { expectHandshake: false });
    assert.equal(out.error, undefined);
    assert.deepEqual(readable(out.items), readable([most]));
    assert.throws(
      () => encodeMessage({ ...most, hashes: new Uint8Array(32 * (MAX_HASHES_PER_MESSAGE + 1)) }),
      RangeError,
    );

    const decoder = new WireDecoder({ expectHandshake: false });
    const err = decoder.push(header(MAX_HASHES_FRAME_LENGTH + 32, 22), () => {});
    assert.deepEqual(
      [err?.code, err?.messageId, err?.received, err?.limit, err?.bound],
      ['badMessageLength', 22, MAX_HASHES_FRAME_LENGTH + 32, MAX_HASHES_FRAME_LENGTH, 'max'],
    );
    assert.equal(decoder.stats().bufferedCapacity, 0);
  });

  it('hashes that are not whole 32-byte hashes, or a message shorter than its 48 bytes, are badMessageLength', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 49 + 32 * 8 }), (len) => {
        const decoder = new WireDecoder({ expectHandshake: false });
        const err = decoder.push(header(len, 22), () => {});
        if (len >= 49 && (len - 49) % 32 === 0) return assert.equal(err, undefined);
        assert.equal(err?.code, 'badMessageLength');
        assert.deepEqual(
          [err.bound, err.limit],
          len < HASH_REQUEST_FRAME_LENGTH ? ['min', HASH_REQUEST_FRAME_LENGTH] : ['multiple', 32],
        );
        assert.equal(decoder.stats().bufferedCapacity, 0);
      }),
    );
  });

  it('a hash request or reject of any length but 49 is badMessageLength', () => {
    fc.assert(
      fc.property(fc.constantFrom(21, 23), fc.integer({ min: 1, max: 1000 }), (id, len) => {
        fc.pre(len !== 49);
        const err = new WireDecoder({ expectHandshake: false }).push(header(len, id), () => {});
        assert.deepEqual(
          [err?.code, err?.messageId, err?.received, err?.limit, err?.bound],
          ['badMessageLength', id, len, 49, 'exact'],
        );
      }),
    );
  });
});
