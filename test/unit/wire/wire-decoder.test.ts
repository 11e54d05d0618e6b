import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeHandshake, encodeMessage } from '../../../src/wire/encode-message.js';
import {
  MAX_BITFIELD_FRAME_LENGTH,
  MAX_BLOCK_LENGTH,
  MAX_EXTENDED_FRAME_LENGTH,
  MAX_FRAME_LENGTH,
  MAX_PIECE_FRAME_LENGTH,
} from '../../../src/wire/limits.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { WireDecoder } from '../../../src/wire/wire-decoder.js';
import { WireError } from '../../../src/wire/wire-error.js';
import { concat, decodeBytes, hex, readable } from './wire-test-helpers.js';

const HANDSHAKE = encodeHandshake({
  reserved: hex('0000000000100004'),
  infoHash: new Uint8Array(20).fill(0x11),
  peerId: new Uint8Array(20).fill(0x22),
});
const frames = { expectHandshake: false } as const;

describe('WireDecoder: messages', () => {
  it('decodes every message kind from hand-written bytes', () => {
    const bytes = hex(`
      00000000                                   # keep-alive
      00000001 00  00000001 01  00000001 02  00000001 03
      00000005 04 0000002a                       # have 42
      00000003 05 ff80                           # bitfield
      0000000d 06 00000001 00004000 00004000     # request
      0000000b 07 00000002 00008000 cafe         # piece
      0000000d 08 00000003 00000000 00004000     # cancel
      00000003 09 1ae1                           # port 6881
      00000005 0d 00000007                       # suggest
      00000001 0e  00000001 0f                   # have all, have none
      0000000d 10 00000004 00004000 00002000     # reject
      00000005 11 00000005                       # allowed fast
      00000004 14 00 6465                        # extended handshake
      00000003 63 0102                           # unknown id 0x63
    `);
    const { items, error } = decodeBytes(bytes, bytes.length, frames);
    assert.equal(error, undefined);
    assert.deepEqual(readable(items), [
      { type: 'keepAlive' },
      { type: 'choke' },
      { type: 'unchoke' },
      { type: 'interested' },
      { type: 'notInterested' },
      { type: 'have', index: 42 },
      { type: 'bitfield', bitfield: 'ff80' },
      { type: 'request', index: 1, begin: 0x4000, length: 0x4000 },
      { type: 'piece', index: 2, begin: 0x8000, block: 'cafe' },
      { type: 'cancel', index: 3, begin: 0, length: 0x4000 },
      { type: 'port', port: 6881 },
      { type: 'suggest', index: 7 },
      { type: 'haveAll' },
      { type: 'haveNone' },
      { type: 'reject', index: 4, begin: 0x4000, length: 0x2000 },
      { type: 'allowedFast', index: 5 },
      { type: 'extended', extendedId: 0, payload: '6465' },
      { type: 'unknown', id: 0x63, payload: '0102' },
    ]);
  });

  it('reads indexes above 2^31 as unsigned', () => {
    const { items } = decodeBytes(hex('00000005 04 ffffffff'), 9, frames);
    assert.deepEqual(items, [{ type: 'have', index: 0xffffffff }]);
  });

  it('decodes the handshake first, then frames', () => {
    const { items, error } = decodeBytes(concat([HANDSHAKE, hex('00000001 02')]));
    assert.equal(error, undefined);
    assert.deepEqual(readable(items), [
      { type: 'handshake', reserved: '0000000000100004', infoHash: '11'.repeat(20), peerId: '22'.repeat(20) },
      { type: 'interested' },
    ]);
  });

  it('gives a block that lies whole in one chunk as a view of that chunk (no copy)', () => {
    const chunk = encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(100).fill(5) });
    const decoder = new WireDecoder(frames);
    const items: WireItem[] = [];
    decoder.push(chunk, (i) => items.push(i));
    const piece = items[0];
    assert.ok(piece?.type === 'piece');
    assert.equal(piece.block.buffer, chunk.buffer);
    assert.equal(piece.block.byteOffset, chunk.byteOffset + 13);
    assert.equal(decoder.stats().bytesCopied, 0);
  });

  it('copies a split frame once into a buffer of exactly its size', () => {
    const msg = encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(100).fill(5) });
    const decoder = new WireDecoder(frames);
    const items: WireItem[] = [];
    decoder.push(msg.subarray(0, 20), (i) => items.push(i));
    assert.equal(decoder.stats().bufferedCapacity, 109);
    decoder.push(msg.subarray(20), (i) => items.push(i));
    const piece = items[0];
    assert.ok(piece?.type === 'piece');
    assert.equal(piece.block.buffer.byteLength, 109);
    assert.equal(decoder.stats().bytesCopied, msg.length - 4);
    assert.equal(decoder.stats().bufferedCapacity, 0);
  });

  it('copies each byte at most once for a 16 KiB piece arriving in 1-byte chunks', () => {
    const msg = encodeMessage({
      type: 'piece',
      index: 9,
      begin: 0,
      block: new Uint8Array(MAX_BLOCK_LENGTH).fill(3),
    });
    const { items, error, stats } = decodeBytes(msg, 1, frames);
    assert.equal(error, undefined);
    assert.equal(items.length, 1);
    assert.equal(stats.bytesIn, msg.length);
    assert.ok(stats.bytesCopied <= stats.bytesIn, `${stats.bytesCopied} copied of ${stats.bytesIn}`);
  });

  it('stops decoding when disposed from inside emit', () => {
    const decoder = new WireDecoder(frames);
    const seen: string[] = [];
    const err = decoder.push(hex('00000001 00 00000001 01 00000001 02'), (i) => {
      seen.push(i.type);
      decoder.dispose();
    });
    assert.equal(err, undefined);
    assert.deepEqual(seen, ['choke']);
    assert.equal(
      decoder.push(hex('00000001 03'), (i) => seen.push(i.type)),
      undefined,
    );
    assert.deepEqual(seen, ['choke']);
  });
});

function errorOf(bytes: Uint8Array, opts = frames as { expectHandshake?: boolean; maxFrameLength?: number }) {
  const whole = decodeBytes(bytes, bytes.length || 1, opts);
  const byByte = decodeBytes(bytes, 1, opts);
  assert.ok(whole.error instanceof WireError, 'expected a WireError');
  // The chunking never changes the verdict.
  assert.deepEqual({ ...byByte.error }, { ...whole.error });
  return whole.error;
}

describe('WireDecoder: length errors', () => {
  const fixed: [string, number, number][] = [
    ['choke', 0, 1],
    ['unchoke', 1, 1],
    ['interested', 2, 1],
    ['notInterested', 3, 1],
    ['have', 4, 5],
    ['request', 6, 13],
    ['cancel', 8, 13],
    ['port', 9, 3],
    ['suggest', 13, 5],
    ['haveAll', 14, 1],
    ['haveNone', 15, 1],
    ['reject', 16, 13],
    ['allowedFast', 17, 5],
  ];
  for (const [name, id, length] of fixed) {
    for (const wrong of [length - 1, length + 1].filter((n) => n >= 1)) {
      it(`${name} of length ${wrong} (must be ${length}) is badMessageLength`, () => {
        const bytes = concat([
          hex(wrong.toString(16).padStart(8, '0')),
          Uint8Array.of(id),
          new Uint8Array(wrong - 1),
        ]);
        const err = errorOf(bytes);
        assert.equal(err.code, 'badMessageLength');
        assert.deepEqual([err.messageId, err.received, err.limit, err.bound], [id, wrong, length, 'exact']);
      });
    }
  }

  it('a piece shorter than its 9-byte header is badMessageLength', () => {
    const err = errorOf(hex('00000008 07 00000000 000000'));
    assert.deepEqual(
      [err.code, err.messageId, err.received, err.limit, err.bound],
      ['badMessageLength', 7, 8, 9, 'min'],
    );
  });

  it('a piece carrying more than MAX_BLOCK_LENGTH fails on its header, before the block arrives', () => {
    const len = MAX_PIECE_FRAME_LENGTH + 1;
    const decoder = new WireDecoder(frames);
    const err = decoder.push(concat([hex(len.toString(16).padStart(8, '0')), hex('07')]), () => {});
    assert.equal(err?.code, 'badMessageLength');
    assert.deepEqual([err.received, err.limit, err.bound], [len, MAX_PIECE_FRAME_LENGTH, 'max']);
    assert.equal(decoder.stats().bufferedCapacity, 0);
  });

  it('a bitfield beyond MAX_PIECE_COUNT bits is badMessageLength', () => {
    const err = errorOf(
      concat([hex((MAX_BITFIELD_FRAME_LENGTH + 1).toString(16).padStart(8, '0')), hex('05')]),
    );
    assert.deepEqual(
      [err.code, err.limit, err.bound],
      ['badMessageLength', MAX_BITFIELD_FRAME_LENGTH, 'max'],
    );
  });

  it('an extended message without its extended id byte is badMessageLength', () => {
    const err = errorOf(hex('00000001 14'));
    assert.deepEqual([err.code, err.messageId, err.limit, err.bound], ['badMessageLength', 20, 2, 'min']);
  });

  it('the largest legal extended message is accepted', () => {
    const payload = new Uint8Array(MAX_EXTENDED_FRAME_LENGTH - 2);
    const { items, error } = decodeBytes(
      encodeMessage({ type: 'extended', extendedId: 1, payload }),
      65536,
      frames,
    );
    assert.equal(error, undefined);
    assert.equal(items.length, 1);
  });
});

describe('WireDecoder: the frame limit', () => {
  it('a 4-byte prefix claiming 2^31 bytes fails at once, with nothing allocated', () => {
    const decoder = new WireDecoder(frames);
    assert.equal(
      decoder.push(hex('8000'), () => {}),
      undefined,
    );
    const err = decoder.push(hex('0000'), () => {});
    assert.ok(err instanceof WireError);
    assert.deepEqual([err.code, err.received, err.limit], ['frameTooLong', 2 ** 31, MAX_FRAME_LENGTH]);
    assert.equal(decoder.stats().bufferedCapacity, 0);
    // The decoder stays failed: the same error, nothing more emitted.
    let emitted = 0;
    assert.equal(
      decoder.push(hex('00000001 00'), () => emitted++),
      err,
    );
    assert.equal(emitted, 0);
  });

  it('unknown ids are bounded by the frame limit too', () => {
    const err = errorOf(concat([hex((MAX_FRAME_LENGTH + 1).toString(16).padStart(8, '0')), hex('63')]));
    assert.equal(err.code, 'frameTooLong');
  });

  it('honours a lower maxFrameLength, which also caps the per-message limits', () => {
    const err = errorOf(hex('00000401'), { expectHandshake: false, maxFrameLength: 1024 });
    assert.deepEqual([err.code, err.received, err.limit], ['frameTooLong', 1025, 1024]);
    const piece = errorOf(hex('00000400 07'), { expectHandshake: false, maxFrameLength: 100 });
    assert.equal(piece.code, 'frameTooLong');
  });

  it('rejects nonsense options at construction (our bug, not the peer)', () => {
    assert.throws(() => new WireDecoder({ maxFrameLength: 0 }), RangeError);
    assert.throws(() => new WireDecoder({ maxFrameLength: 2 ** 32 }), RangeError);
  });

  it('emits the messages before a bad frame, then the error', () => {
    const decoder = new WireDecoder(frames);
    const seen: string[] = [];
    const err = decoder.push(hex('00000001 01 00000002 00 00'), (i) => seen.push(i.type));
    assert.deepEqual(seen, ['unchoke']);
    assert.equal(err?.code, 'badMessageLength');
  });
});

describe('WireDecoder: handshake errors', () => {
  it('a pstrlen other than 19 fails on the first byte', () => {
    const decoder = new WireDecoder();
    const err = decoder.push(hex('14'), () => {});
    assert.deepEqual([err?.code, err?.received, err?.limit], ['badProtocolName', 0x14, 19]);
  });

  it('another protocol name fails at its first wrong byte', () => {
    const other = concat([hex('13'), new TextEncoder().encode('BitTorrent Protocol'), new Uint8Array(48)]);
    const decoder = new WireDecoder();
    const err = decoder.push(other.subarray(0, 13), () => {}); // 'B'..'t', then ' ', 'P' at offset 12
    assert.equal(err?.code, 'badProtocolName');
    assert.equal(errorOf(other, {}).code, 'badProtocolName');
  });

  it('an HTTP request is not a handshake', () => {
    assert.equal(errorOf(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), {}).code, 'badProtocolName');
  });
});

describe('WireDecoder: end of stream', () => {
  it('ends cleanly between frames', () => {
    assert.equal(decodeBytes(concat([HANDSHAKE, hex('00000000')])).error, undefined);
    assert.equal(decodeBytes(new Uint8Array(0)).error, undefined);
  });

  for (const [what, bytes, received, limit] of [
    ['inside the handshake', HANDSHAKE.subarray(0, 30), 30, 68],
    ['inside a length prefix', concat([HANDSHAKE, hex('0000')]), 2, 4],
    ['after a length prefix', concat([HANDSHAKE, hex('00000005')]), 4, 9],
    ['inside a frame', concat([HANDSHAKE, hex('00000005 04 0000')]), 7, 9],
  ] as const) {
    it(`ending ${what} is truncated`, () => {
      const err = errorOf(bytes, {});
      assert.deepEqual([err.code, err.received, err.limit], ['truncated', received, limit]);
    });
  }
});
