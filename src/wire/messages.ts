/**
 * The peer wire protocol's messages (BEP 3, BEP 6, BEP 10, BEP 52's merkle hashes) as a discriminated union.
 *
 * After the handshake every message is framed as `<length prefix (4 bytes, big-endian)><id (1 byte)><payload>`;
 * a length of 0 is a keep-alive. Block bytes (`piece.block`) are views into the receive buffer where
 * possible: never copy them on the hot path, never put them into a machine's context.
 */

/** Fixed size of the BitTorrent handshake: <pstrlen=19><"BitTorrent protocol"><reserved:8><info_hash:20><peer_id:20>. */
export const HANDSHAKE_LENGTH = 68;
export const PROTOCOL_NAME = 'BitTorrent protocol';

/** Message ids on the wire. */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9, // BEP 5
  suggest: 13, // BEP 6
  haveAll: 14, // BEP 6
  haveNone: 15, // BEP 6
  reject: 16, // BEP 6
  allowedFast: 17, // BEP 6
  extended: 20, // BEP 10
  hashRequest: 21, // BEP 52
  hashes: 22, // BEP 52
  hashReject: 23, // BEP 52
} as const;

export interface Handshake {
  readonly type: 'handshake';
  /** 8 reserved bytes; bit 20 from the right (byte 5, 0x10) is BEP 10, byte 7 0x04 is BEP 6, byte 7 0x01 is DHT. */
  readonly reserved: Uint8Array;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
}

export interface KeepAlive {
  readonly type: 'keepAlive';
}
export interface Choke {
  readonly type: 'choke';
}
export interface Unchoke {
  readonly type: 'unchoke';
}
export interface Interested {
  readonly type: 'interested';
}
export interface NotInterested {
  readonly type: 'notInterested';
}
export interface Have {
  readonly type: 'have';
  readonly index: number;
}
export interface Bitfield {
  readonly type: 'bitfield';
  /** Raw bitfield bytes, high bit of byte 0 is piece 0. Length and spare bits are checked by the peer machine, which knows the piece count. */
  readonly bitfield: Uint8Array;
}
export interface Request {
  readonly type: 'request';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface Piece {
  readonly type: 'piece';
  readonly index: number;
  readonly begin: number;
  readonly block: Uint8Array;
}
export interface Cancel {
  readonly type: 'cancel';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface Port {
  readonly type: 'port';
  readonly port: number;
}
export interface Suggest {
  readonly type: 'suggest';
  readonly index: number;
}
export interface HaveAll {
  readonly type: 'haveAll';
}
export interface HaveNone {
  readonly type: 'haveNone';
}
export interface Reject {
  readonly type: 'reject';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface AllowedFast {
  readonly type: 'allowedFast';
  readonly index: number;
}
export interface Extended {
  readonly type: 'extended';
  /** 0 is the BEP 10 extension handshake; other ids are negotiated in it. */
  readonly extendedId: number;
  /** The bencoded (and possibly trailing raw) payload, undecoded. */
  readonly payload: Uint8Array;
}
/**
 * BEP 52: a run of hashes of one file's merkle tree, the 48 bytes that hash request, hashes and
 * hash reject share: <pieces root:32><base layer:4><index:4><length:4><proof layers:4>.
 */
export interface HashRange {
  /** The file's `pieces root` (32 bytes; decoded, a view into the receive buffer). */
  readonly piecesRoot: Uint8Array;
  /** The layer the hashes are taken from, counted up from the 16 KiB leaves (0). */
  readonly baseLayer: number;
  /** The first hash's offset in that layer. */
  readonly index: number;
  /** How many hashes of that layer (BEP 52's "length"). */
  readonly length: number;
  /** The ancestor layers to prove them up to: one uncle hash each, above those the run covers. */
  readonly proofLayers: number;
}
/** BEP 52: asks for the hashes of a HashRange, answered with `hashes` or `hashReject`. */
export interface HashRequest extends HashRange {
  readonly type: 'hashRequest';
}
/**
 * BEP 52: the answer to a hash request, its fields repeated: the `length` hashes of the base layer,
 * then the uncle hashes of the proof, the one closest to the base first.
 */
export interface Hashes extends HashRange {
  readonly type: 'hashes';
  /** 32 bytes per hash, concatenated (decoded, a view into the receive buffer). */
  readonly hashes: Uint8Array;
}
/** BEP 52: the peer will not answer the hash request with these fields. */
export interface HashReject extends HashRange {
  readonly type: 'hashReject';
}
/** A message id this codec does not know; kept so a peer machine can ignore it (BEP 3 says: ignore). */
export interface Unknown {
  readonly type: 'unknown';
  readonly id: number;
  readonly payload: Uint8Array;
}

/** Every message that may follow the handshake. */
export type WireMessage =
  | KeepAlive
  | Choke
  | Unchoke
  | Interested
  | NotInterested
  | Have
  | Bitfield
  | Request
  | Piece
  | Cancel
  | Port
  | Suggest
  | HaveAll
  | HaveNone
  | Reject
  | AllowedFast
  | Extended
  | HashRequest
  | Hashes
  | HashReject
  | Unknown;

/** What `parseWire()` emits: the handshake once, then messages. */
export type WireItem = Handshake | WireMessage;

export type WireMessageType = WireMessage['type'];
