/**
 * Properties of the BEP 9 ut_metadata codec: every message the encoder can write decodes to
 * itself; any bytes at all decode or end in a WireError('badMetadataMessage'), never another
 * exception; whatever decodes stays inside the bounds (piece < 256, total_size ≤ 4 MiB, data of
 * exactly the piece's length).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bencode } from '../../src/metainfo/bencode.js';
import { decodeUtMetadata } from '../../src/wire/decode-ut-metadata.js';
import {
  encodeUtMetadata,
  MAX_METADATA_PIECES,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceLength,
  type UtMetadataMessage,
} from '../../src/wire/ut-metadata.js';
import { WireError } from '../../src/wire/wire-error.js';

type Encodable = Exclude<UtMetadataMessage, { msgType: 'unknown' }>;

const piece = fc.integer({ min: 0, max: MAX_METADATA_PIECES - 1 });
const dataMessage: fc.Arbitrary<Encodable> = fc
  .tuple(
    fc.integer({ min: 1, max: 4 * METADATA_PIECE_LENGTH + 100 }),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([totalSize, p, fill]) => {
    const index = p % Math.ceil(totalSize / METADATA_PIECE_LENGTH);
    const data = new Uint8Array(metadataPieceLength(totalSize, index)).fill(fill);
    return { msgType: 'data', piece: index, totalSize, data };
  });
const message: fc.Arbitrary<Encodable> = fc.oneof(
  fc.record({ msgType: fc.constantFrom('request' as const, 'reject' as const), piece }),
  dataMessage,
);

/** Bytes near the format: real messages cut, padded, flipped, or with their keys changed. */
const hostile: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(message, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([m, at, byte]) => {
    const b = Uint8Array.from(encodeUtMetadata(m));
    b[at % b.length] = byte;
    return b;
  }),
  fc.tuple(message, fc.nat()).map(([m, cut]) => {
    const b = encodeUtMetadata(m);
    return b.subarray(0, cut % (b.length + 1));
  }),
  fc
    .record({
      msg_type: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.string()),
      piece: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n })),
      total_size: fc.option(fc.integer({ min: -1, max: MAX_METADATA_SIZE + 5 }), { nil: undefined }),
    })
    .chain((d) => fc.uint8Array({ maxLength: 300 }).map((tail) => Buffer.concat([bencode(d), tail]))),
);

describe('ut_metadata codec properties', () => {
  it('encode → decode is the identity', () => {
    fc.assert(
      fc.property(message, (m) => {
        assert.deepEqual(decodeUtMetadata(encodeUtMetadata(m)), { ...m });
      }),
    );
  });

  it('any bytes: a bounded message or a WireError, never another exception', () => {
    fc.assert(
      fc.property(hostile, (bytes) => {
        let decoded: UtMetadataMessage;
        try {
          decoded = decodeUtMetadata(bytes);
        } catch (err) {
          assert.ok(err instanceof WireError, `not a WireError: ${String(err)}`);
          assert.equal(err.code, 'badMetadataMessage');
          return;
        }
        // a request keeps any piece (answered with a reject when out of range); the rest are bounded
        if (decoded.msgType === 'request') assert.ok(Number.isSafeInteger(decoded.piece));
        else assert.ok(decoded.piece >= 0 && decoded.piece < MAX_METADATA_PIECES);
        if (decoded.msgType === 'data') {
          assert.ok(decoded.totalSize >= 1 && decoded.totalSize <= MAX_METADATA_SIZE);
          assert.equal(decoded.data.length, metadataPieceLength(decoded.totalSize, decoded.piece));
          assert.ok(decoded.data.length >= 1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
