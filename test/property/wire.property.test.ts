/**
 * Properties of the wire codec (fast-check): encode → decode round trips for every message kind,
 * the piece header written in place (the send queue's) is BEP 3's, as the piece message's is, chunking never
 * changes what is decoded, hostile bytes end in exactly one typed WireError and never
 * in another exception, and every input byte is copied at most once (the decoder is O(n) whatever
 * the chunking: a 16 KiB block in 1-byte chunks costs 16 KiB of copying, not 16 KiB²/2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from } from 'rxjs';
import {
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  encodePieceHeaderInto,
  PIECE_HEADER_LENGTH,
} from '../../src/wire/encode-message.js';
import { MAX_BLOCK_LENGTH } from '../../src/wire/limits.js';
import { MessageId, type WireItem, type WireMessage } from '../../src/wire/messages.js';
import { parseWire } from '../../src/wire/parse-wire.js';
import { WireError } from '../../src/wire/wire-error.js';
import { concat, decodeChunks, readable, split } from '../unit/wire/wire-test-helpers.js';

const u32 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([hi, lo]) => hi * 0x10000 + lo);
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const knownIds = new Set<number>(Object.values(MessageId));
const unknownId = fc.integer({ min: 0, max: 255 }).filter((id) => !knownIds.has(id));

const message: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.constantFrom<WireMessage>(
    { type: 'keepAlive' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'notInterested' },
    { type: 'haveAll' },
    { type: 'haveNone' },
  ),
  fc.record({
    type: fc.constantFrom('have', 'suggest', 'allowedFast'),
    index: u32,
  }) as fc.Arbitrary<WireMessage>,
  fc.record({
    type: fc.constantFrom('request', 'cancel', 'reject'),
    index: u32,
    begin: u32,
    length: u32,
  }) as fc.Arbitrary<WireMessage>,
  fc.record({ type: fc.constant('piece' as const), index: u32, begin: u32, block: bytes(64) }),
  fc.record({ type: fc.constant('bitfield' as const), bitfield: bytes(40) }),
  fc.record({ type: fc.constant('port' as const), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    type: fc.constant('extended' as const),
    extendedId: fc.integer({ min: 0, max: 255 }),
    payload: bytes(64),
  }),
  fc.record({ type: fc.constant('unknown' as const), id: unknownId, payload: bytes(32) }),
  fc.record({
    type: fc.constantFrom('hashRequest', 'hashReject'),
    piecesRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    baseLayer: u32,
    index: u32,
    length: u32,
    proofLayers: u32,
  }) as fc.Arbitrary<WireMessage>,
  fc.record({
    type: fc.constant('hashes' as const),
    piecesRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    baseLayer: u32,
    index: u32,
    length: u32,
    proofLayers: u32,
    hashes: fc
      .integer({ min: 0, max: 4 })
      .chain((n) => fc.uint8Array({ minLength: 32 * n, maxLength: 32 * n })),
  }),
);

const handshake = fc.record({
  type: fc.constant('handshake' as const),
  reserved: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  peerId: fc.uint8Array({ minLength: 20, maxLength: 20 }),
});

/** A stream: optionally a handshake, then messages; with its bytes. */
const stream = fc
  .record({ hs: fc.option(handshake, { nil: undefined }), messages: fc.array(message, { maxLength: 20 }) })
  .map(({ hs, messages }) => {
    const items: WireItem[] = hs ? [hs, ...messages] : messages;
    const encoded = concat([...(hs ? [encodeHandshake(hs)] : []), ...messages.map(encodeMessage)]);
    return { expectHandshake: hs !== undefined, items, encoded };
  });

const cuts = fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength: 30 });

describe('wire codec properties', () => {
  it('decode(encode(messages)) gives back the messages, for every kind', () => {
    fc.assert(
      fc.property(stream, ({ expectHandshake, items, encoded }) => {
        const out = decodeChunks([encoded], { expectHandshake });
        assert.equal(out.error, undefined);
        assert.deepEqual(readable(out.items), readable(items));
      }),
    );
  });

  it('any split of the stream into chunks yields the same messages, copying each byte at most once', () => {
    fc.assert(
      fc.property(stream, cuts, ({ expectHandshake, items, encoded }, at) => {
        const out = decodeChunks(split(encoded, at), { expectHandshake });
        assert.equal(out.error, undefined);
        assert.deepEqual(readable(out.items), readable(items));
        assert.ok(out.stats.bytesCopied <= out.stats.bytesIn);
      }),
    );
  });

  it('a full 16 KiB block in chunks of any size, down to 1 byte, is copied at most once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), u32, (chunkSize, index) => {
        const block = new Uint8Array(MAX_BLOCK_LENGTH).fill(index & 0xff);
        const encoded = encodeMessage({ type: 'piece', index, begin: 0, block });
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < encoded.length; at += chunkSize) chunks.push(encoded.slice(at, at + chunkSize));
        const out = decodeChunks(chunks, { expectHandshake: false });
        assert.equal(out.error, undefined);
        assert.equal(out.items.length, 1);
        assert.ok(out.stats.bytesCopied <= encoded.length, `${out.stats.bytesCopied} > ${encoded.length}`);
      }),
      { numRuns: 30 },
    );
  });

  it("the piece header written in place at any offset is BEP 3's, as the piece message's and encodePieceHeader's are: decoded with its block it is the message, and no byte around it changes", () => {
    fc.assert(
      fc.property(
        fc.record({ index: u32, begin: u32, block: bytes(64) }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 255 }),
        ({ index, begin, block }, at, fill) => {
          const piece: WireMessage = { type: 'piece', index, begin, block };
          // A used buffer of the send queue's kind: other headers before and after this one.
          const out = new Uint8Array(at + PIECE_HEADER_LENGTH + 7).fill(fill);
          const end = encodePieceHeaderInto(out, at, index, begin, block.length);
          assert.equal(end, at + PIECE_HEADER_LENGTH);
          const header = out.subarray(at, end);
          // BEP 3's piece header spelled out here, not by the encoder: <len=9+X><id=7><index><begin>.
          const expected = new Uint8Array(13);
          const view = new DataView(expected.buffer);
          view.setUint32(0, 9 + block.length);
          view.setUint8(4, 7);
          view.setUint32(5, index);
          view.setUint32(9, begin);
          assert.deepEqual(header, expected);
          assert.deepEqual(encodeMessage(piece).subarray(0, 13), expected);
          assert.deepEqual(encodePieceHeader(index, begin, block.length), expected);
          assert.ok(out.subarray(0, at).every((b) => b === fill));
          assert.ok(out.subarray(end).every((b) => b === fill));
          const decoded = decodeChunks([header, block], { expectHandshake: false });
          assert.equal(decoded.error, undefined);
          assert.deepEqual(readable(decoded.items), readable([piece]));
        },
      ),
    );
  });

  /** Hostile streams: valid messages, random frames with plausible small lengths, and raw garbage. */
  const hostile = fc
    .array(
      fc.oneof(
        message.map(encodeMessage),
        fc
          .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 255 }), bytes(40))
          .map(([len, id, rest]) => concat([Uint8Array.of(0, 0, 0, len, id), rest])),
        bytes(16),
      ),
      { maxLength: 12 },
    )
    .map(concat);

  it('hostile bytes give messages then at most one WireError, never another exception', () => {
    fc.assert(
      fc.property(hostile, cuts, fc.boolean(), (encoded, at, expectHandshake) => {
        const out = decodeChunks(split(encoded, at), { expectHandshake });
        if (out.error !== undefined) assert.ok(out.error instanceof WireError);
        // The verdict does not depend on the chunking.
        const whole = decodeChunks([encoded], { expectHandshake });
        assert.deepEqual(readable(out.items), readable(whole.items));
        assert.equal(out.error?.code, whole.error?.code);
        assert.ok(out.stats.bytesCopied <= out.stats.bytesIn);
      }),
    );
  });

  it('through parseWire, hostile bytes end the stream exactly once: complete or a WireError', () => {
    fc.assert(
      fc.property(hostile, cuts, (encoded, at) => {
        let ends = 0;
        let error: unknown;
        assert.doesNotThrow(() =>
          from(split(encoded, at))
            .pipe(parseWire({ expectHandshake: false }))
            .subscribe({
              error: (e) => {
                ends++;
                error = e;
              },
              complete: () => {
                ends++;
              },
            }),
        );
        assert.equal(ends, 1);
        if (error !== undefined) assert.ok(error instanceof WireError);
      }),
    );
  });
});
