/**
 * The hostile steps both sides of the probe share (probe-step.ts, serving-step.ts): messages that
 * break BEP 3/6/10's framing or announcements whatever the probe's role — their type, their
 * fast-check arbitraries (each script composes them in its own order) and their bytes.
 */
import fc from 'fast-check';
import { encodeMessage } from '../wire/encode-message.js';

export type FramingStep =
  /** `have` of a piece index at or past the piece count. */
  | { readonly kind: 'haveOutOfRange'; readonly past: number }
  /** A bitfield after other messages (BEP 3: only right after the handshake), `length` bytes long. */
  | { readonly kind: 'lateBitfield'; readonly length: number }
  /** A message id no BEP defines (BEP 3: ignore it). */
  | { readonly kind: 'unknownMessage'; readonly id: number; readonly length: number }
  /** A length prefix past any limit (`length`), then nothing: the target should close. */
  | { readonly kind: 'oversizedFrame'; readonly length: number }
  /** A well-framed extended message (id 0) whose payload is not bencode. */
  | { readonly kind: 'badExtended'; readonly length: number }
  /** Random bytes where a frame should start. */
  | { readonly kind: 'garbage'; readonly bytes: readonly number[] };

export const FRAMING_KINDS: readonly FramingStep['kind'][] = [
  'haveOutOfRange',
  'lateBitfield',
  'unknownMessage',
  'oversizedFrame',
  'badExtended',
  'garbage',
];

/** Each framing step's arbitrary, by kind. */
export const framingArbitrary = {
  haveOutOfRange: fc.record({ kind: fc.constant('haveOutOfRange' as const), past: fc.nat({ max: 1 << 16 }) }),
  lateBitfield: fc.record({ kind: fc.constant('lateBitfield' as const), length: fc.nat({ max: 64 }) }),
  unknownMessage: fc.record({
    kind: fc.constant('unknownMessage' as const),
    id: fc.integer({ min: 24, max: 255 }), // 21–23 are BEP 52's hash messages
    length: fc.nat({ max: 64 }),
  }),
  oversizedFrame: fc.record({
    kind: fc.constant('oversizedFrame' as const),
    length: fc.integer({ min: 1 << 24, max: 0xffffffff }),
  }),
  badExtended: fc.record({
    kind: fc.constant('badExtended' as const),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  garbage: fc.record({
    kind: fc.constant('garbage' as const),
    bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 64 }),
  }),
};

/** The bytes a framing step puts on the wire, for a torrent of `pieceCount` pieces. */
export function encodeFramingStep(s: FramingStep, pieceCount: number): Uint8Array {
  switch (s.kind) {
    case 'haveOutOfRange':
      return encodeMessage({ type: 'have', index: pieceCount + s.past });
    case 'lateBitfield':
      return encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(s.length) });
    case 'unknownMessage':
      return encodeMessage({ type: 'unknown', id: s.id, payload: new Uint8Array(s.length) });
    case 'oversizedFrame': {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, s.length);
      return b;
    }
    case 'badExtended':
      return encodeMessage({ type: 'extended', extendedId: 0, payload: new Uint8Array(s.length).fill(0x78) });
    case 'garbage':
      return Uint8Array.from(s.bytes);
  }
}
