/**
 * The BEP 9 ut_metadata codec: exact bytes (checked against our bencode encoder), the piece
 * geometry, and each way a hostile message is refused with a typed WireError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { decodeUtMetadata } from '../../../src/wire/decode-ut-metadata.js';
import {
  encodeUtMetadata,
  MAX_METADATA_SIZE,
  MAX_UT_METADATA_PAYLOAD,
  metadataPieceCount,
  metadataPieceLength,
} from '../../../src/wire/ut-metadata.js';
import { WireError } from '../../../src/wire/wire-error.js';

const text = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

function rejects(payload: Uint8Array, detail: RegExp): void {
  assert.throws(
    () => decodeUtMetadata(payload),
    (err: unknown) =>
      err instanceof WireError && err.code === 'badMetadataMessage' && detail.test(err.message),
  );
}

describe('encodeUtMetadata', () => {
  it('writes a request, a reject and a data message as the bencode encoder would', () => {
    const same = (a: Uint8Array, b: Uint8Array) => assert.deepEqual(Buffer.from(a), Buffer.from(b));
    same(encodeUtMetadata({ msgType: 'request', piece: 3 }), bencode({ msg_type: 0, piece: 3 }));
    same(encodeUtMetadata({ msgType: 'reject', piece: 0 }), bencode({ msg_type: 2, piece: 0 }));
    const data = text('abc');
    same(
      encodeUtMetadata({ msgType: 'data', piece: 0, totalSize: 3, data }),
      concat(bencode({ msg_type: 1, piece: 0, total_size: 3 }), data),
    );
    assert.equal(
      Buffer.from(encodeUtMetadata({ msgType: 'request', piece: 1 })).toString(),
      'd8:msg_typei0e5:piecei1ee',
    );
  });
});

describe('metadata pieces', () => {
  it('are 16 KiB but the last', () => {
    assert.equal(metadataPieceCount(1), 1);
    assert.equal(metadataPieceCount(16384), 1);
    assert.equal(metadataPieceCount(16385), 2);
    assert.equal(metadataPieceLength(16385, 0), 16384);
    assert.equal(metadataPieceLength(16385, 1), 1);
  });
});

describe('decodeUtMetadata', () => {
  it('reads what the encoder writes', () => {
    assert.deepEqual(decodeUtMetadata(encodeUtMetadata({ msgType: 'request', piece: 7 })), {
      msgType: 'request',
      piece: 7,
    });
    const data = new Uint8Array(16384).fill(1);
    const m = decodeUtMetadata(encodeUtMetadata({ msgType: 'data', piece: 1, totalSize: 32768, data }));
    assert.equal(m.msgType, 'data');
    assert.deepEqual(m.msgType === 'data' ? m.data : undefined, data);
  });

  it('reads a request for a piece no metadata has (negative, past 255): to be rejected, not closed', () => {
    assert.deepEqual(decodeUtMetadata(bencode({ msg_type: 0, piece: 256 })), {
      msgType: 'request',
      piece: 256,
    });
    assert.deepEqual(decodeUtMetadata(bencode({ msg_type: 0, piece: -1 })), {
      msgType: 'request',
      piece: -1,
    });
    assert.deepEqual(
      Buffer.from(encodeUtMetadata({ msgType: 'reject', piece: -1 })),
      Buffer.from(bencode({ msg_type: 2, piece: -1 })),
    );
  });

  it('ignores an unknown msg_type (BEP 9: MUST be ignored) but says so', () => {
    assert.deepEqual(decodeUtMetadata(bencode({ msg_type: 9, piece: 0 })), {
      msgType: 'unknown',
      code: 9,
      piece: 0,
    });
  });

  it('takes keys a client adds', () => {
    assert.deepEqual(decodeUtMetadata(bencode({ msg_type: 2, piece: 1, x: 'y' })), {
      msgType: 'reject',
      piece: 1,
    });
  });

  it('refuses hostile messages with a typed error', () => {
    rejects(text('le'), /not a dictionary/);
    rejects(text('d8:msg_typei0e'), /does not decode/);
    rejects(text(''), /does not decode/);
    rejects(bencode({ piece: 0 }), /msg_type is missing/);
    rejects(bencode({ msg_type: 0 }), /piece is missing/);
    rejects(bencode({ msg_type: '0', piece: 0 }), /msg_type is not an integer/);
    rejects(bencode({ msg_type: 2, piece: -1 }), /piece -1 is outside/);
    rejects(bencode({ msg_type: 2, piece: 256 }), /piece 256 is outside/);
    rejects(concat(bencode({ msg_type: 0, piece: 0 }), text('x')), /1 bytes follow a request/);
    // data: total_size missing, 0, past the cap; the piece past the size; the wrong length
    rejects(concat(bencode({ msg_type: 1, piece: 0 }), text('x')), /total_size is missing/);
    rejects(bencode({ msg_type: 1, piece: 0, total_size: 0 }), /total_size 0 is outside/);
    rejects(
      bencode({ msg_type: 1, piece: 0, total_size: MAX_METADATA_SIZE + 1 }),
      /total_size 4194305 is outside/,
    );
    rejects(concat(bencode({ msg_type: 1, piece: 1, total_size: 16384 }), text('x')), /past total_size/);
    rejects(concat(bencode({ msg_type: 1, piece: 0, total_size: 3 }), text('ab')), /carries 2 bytes, not 3/);
    rejects(concat(bencode({ msg_type: 1, piece: 0, total_size: 20000 }), new Uint8Array(100)), /not 16384/);
    // too many values: decoding stops at the bound
    rejects(
      bencode({ msg_type: 0, piece: 0, junk: Array.from({ length: 40 }, (_, i) => i) }),
      /more than 32 values/,
    );
  });

  it('refuses a payload over the limit before decoding it', () => {
    const big = concat(
      bencode({ msg_type: 1, piece: 0, total_size: 16384 }),
      new Uint8Array(MAX_UT_METADATA_PAYLOAD),
    );
    rejects(big, new RegExp(`the limit is ${MAX_UT_METADATA_PAYLOAD}`));
  });
});
