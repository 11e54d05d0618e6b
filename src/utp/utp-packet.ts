/**
 * A uTP packet (BEP 29, the Micro Transport Protocol): the 20-byte header, its extension chain
 * (BEP 29's selective ack, type 1; others skipped) and the payload. Pure: bytes in, a packet out, and
 * back; the connection (utp-connection.ts) decides what to send.
 *
 *   0       4       8               16              24              32
 *   +-------+-------+---------------+---------------+---------------+
 *   | type  | ver   | extension     | connection_id                 |
 *   +-------+-------+---------------+---------------+---------------+
 *   | timestamp_microseconds                                        |
 *   | timestamp_difference_microseconds                             |
 *   | wnd_size                                                      |
 *   | seq_nr                        | ack_nr                        |
 *   +---------------+---------------+---------------+---------------+
 *
 * The selective ack's bitmask: bit i (least significant first within each byte) says packet
 * ack_nr + 2 + i was received; its length is a multiple of 4 bytes.
 */

export const UTP_VERSION = 1;
export const UTP_HEADER_LENGTH = 20;

/** BEP 29's packet types. */
export const ST_DATA = 0;
export const ST_FIN = 1;
export const ST_STATE = 2;
export const ST_RESET = 3;
export const ST_SYN = 4;
export type UtpPacketType =
  | typeof ST_DATA
  | typeof ST_FIN
  | typeof ST_STATE
  | typeof ST_RESET
  | typeof ST_SYN;

export const EXTENSION_SELECTIVE_ACK = 1;

/** A packet's header fields (what `encodeUtpHeader` writes). */
export interface UtpHeader {
  readonly type: UtpPacketType;
  readonly connectionId: number;
  /** The sender's clock when it sent this (µs, 32 bits). */
  readonly timestamp: number;
  /** The sender's last measured one-way delay from us (its clock minus our timestamp, µs, 32 bits). */
  readonly timestampDifference: number;
  /** Bytes the sender can still take in (its receive window). */
  readonly windowSize: number;
  readonly seqNr: number;
  readonly ackNr: number;
  /** The selective ack's bitmask, when present. */
  readonly selectiveAck?: Uint8Array;
}

export interface UtpPacket extends UtpHeader {
  /** A view of the datagram: copy what must outlive it. */
  readonly payload: Uint8Array;
}

/** Why bytes are not a uTP packet; the endpoint drops them. */
export type UtpPacketProblem = 'short' | 'version' | 'type' | 'extension';

/** The packet in `bytes`, or why it is none. The payload is a view of `bytes`. */
export function decodeUtpPacket(bytes: Uint8Array): UtpPacket | UtpPacketProblem {
  if (bytes.length < UTP_HEADER_LENGTH) return 'short';
  const first = bytes[0]!;
  if ((first & 0x0f) !== UTP_VERSION) return 'version';
  const type = first >> 4;
  if (type > ST_SYN) return 'type';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let extension = bytes[1]!;
  let at = UTP_HEADER_LENGTH;
  let selectiveAck: Uint8Array | undefined;
  // The chain is bounded by the datagram: every link takes at least two bytes.
  while (extension !== 0) {
    if (at + 2 > bytes.length) return 'extension';
    const next = bytes[at]!;
    const length = bytes[at + 1]!;
    if (at + 2 + length > bytes.length) return 'extension';
    if (extension === EXTENSION_SELECTIVE_ACK) {
      if (length === 0 || length % 4 !== 0) return 'extension';
      selectiveAck = bytes.subarray(at + 2, at + 2 + length);
    }
    extension = next;
    at += 2 + length;
  }
  return {
    type: type as UtpPacketType,
    connectionId: view.getUint16(2),
    timestamp: view.getUint32(4),
    timestampDifference: view.getUint32(8),
    windowSize: view.getUint32(12),
    seqNr: view.getUint16(16),
    ackNr: view.getUint16(18),
    ...(selectiveAck === undefined ? {} : { selectiveAck }),
    payload: bytes.subarray(at),
  };
}

/** The header (with its selective ack, if any) as bytes; the payload is sent after it as it is. */
export function encodeUtpHeader(h: UtpHeader): Uint8Array {
  const sack = h.selectiveAck;
  const bytes = new Uint8Array(UTP_HEADER_LENGTH + (sack === undefined ? 0 : 2 + sack.length));
  const view = new DataView(bytes.buffer);
  bytes[0] = (h.type << 4) | UTP_VERSION;
  bytes[1] = sack === undefined ? 0 : EXTENSION_SELECTIVE_ACK;
  view.setUint16(2, h.connectionId & 0xffff);
  view.setUint32(4, h.timestamp >>> 0);
  view.setUint32(8, h.timestampDifference >>> 0);
  view.setUint32(12, Math.max(0, Math.min(h.windowSize, 0xffffffff)) >>> 0);
  view.setUint16(16, h.seqNr & 0xffff);
  view.setUint16(18, h.ackNr & 0xffff);
  if (sack !== undefined) {
    bytes[20] = 0; // no further extension
    bytes[21] = sack.length;
    bytes.set(sack, 22);
  }
  return bytes;
}

/** 16-bit sequence numbers: how far `b` is past `a` (0..65535). */
export function seqDistance(a: number, b: number): number {
  return (b - a) & 0xffff;
}

/** Whether sequence number `a` comes before `b` (within half the space, as BEP 29's wrap allows). */
export function seqBefore(a: number, b: number): boolean {
  const d = seqDistance(a, b);
  return d !== 0 && d < 0x8000;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) & 0xffff;
}
