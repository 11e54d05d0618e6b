/**
 * The peer wire encoder (BEP 3, BEP 5 port, BEP 6 fast extension, BEP 10 extension protocol, BEP 52
 * merkle hashes).
 *
 * Wire layout (every integer big-endian; `len` is the 4-byte length prefix, counting id + payload):
 *
 *   handshake      <pstrlen=19><pstr="BitTorrent protocol"><reserved:8><info_hash:20><peer_id:20>
 *   keep-alive     <len=0000>
 *   choke          <len=0001><id=0>
 *   unchoke        <len=0001><id=1>
 *   interested     <len=0001><id=2>
 *   not interested <len=0001><id=3>
 *   have           <len=0005><id=4><piece index:4>
 *   bitfield       <len=0001+X><id=5><bitfield:X>
 *   request        <len=0013><id=6><index:4><begin:4><length:4>
 *   piece          <len=0009+X><id=7><index:4><begin:4><block:X>
 *   cancel         <len=0013><id=8><index:4><begin:4><length:4>
 *   port (BEP 5)   <len=0003><id=9><listen port:2>
 *   suggest        <len=0005><id=13><piece index:4>            (BEP 6)
 *   have all       <len=0001><id=14>                           (BEP 6)
 *   have none      <len=0001><id=15>                           (BEP 6)
 *   reject request <len=0013><id=16><index:4><begin:4><length:4> (BEP 6)
 *   allowed fast   <len=0005><id=17><piece index:4>            (BEP 6)
 *   extended       <len=0002+X><id=20><extended id:1><payload:X> (BEP 10)
 *   hash request   <len=0031><id=21><pieces root:32><base layer:4><index:4><length:4><proof layers:4> (BEP 52)
 *   hashes         <len=0031+X><id=22><the same 48 bytes><hashes:X, 32 each> (BEP 52)
 *   hash reject    <len=0031><id=23><the same 48 bytes as the request> (BEP 52)
 *
 * Values come from our own code, so an out-of-range value (a negative index, a port above 65535,
 * an `unknown` message whose id is a known one) is a bug and throws a RangeError.
 */
import {
  HASH_LENGTH,
  HASH_RANGE_LENGTH,
  HASH_REQUEST_FRAME_LENGTH,
  MAX_HASHES_PER_MESSAGE,
} from './limits.js';
import {
  HANDSHAKE_LENGTH,
  type Handshake,
  type HashRange,
  MessageId,
  PROTOCOL_NAME,
  type WireItem,
  type WireMessage,
} from './messages.js';

const PSTR = new TextEncoder().encode(PROTOCOL_NAME);
const KNOWN_IDS = new Set<number>(Object.values(MessageId));

/** The bytes of a piece message before its block: `<len=0009+X><id=7><index:4><begin:4>`. */
export const PIECE_HEADER_LENGTH = 13;

/**
 * Writes the header of a piece message with a block of `blockLength` bytes into `out` at `at` and
 * answers the offset after it, where the block's bytes go:
 *
 *   <len=0009+X><id=7><index:4><begin:4>   (then <block:X>)
 *
 * The one piece-header encoder: encodeInto's piece message (the block copied in after it),
 * encodePieceHeader (a header of its own) and the send queue (the headers of the blocks it serves,
 * back to back in one buffer of its own, each written with writev before its block, which is never
 * copied) all write it here. Nothing is allocated. The values are checked before the first byte is
 * written, so a RangeError leaves `out` as it was.
 */
export function encodePieceHeaderInto(
  out: Uint8Array,
  at: number,
  index: number,
  begin: number,
  blockLength: number,
): number {
  checkU32(index, 'piece index');
  checkU32(begin, 'begin');
  checkU32(9 + checkU32(blockLength, 'block length'), 'piece message length');
  writeU32(out, prefix(out, at, 9 + blockLength, MessageId.piece), index);
  writeU32(out, at + 9, begin);
  return at + PIECE_HEADER_LENGTH;
}

/** The header of a piece message in a buffer of its own (encodePieceHeaderInto's 13 bytes). */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  const out = new Uint8Array(PIECE_HEADER_LENGTH);
  encodePieceHeaderInto(out, 0, index, begin, blockLength);
  return out;
}

export function encodeHandshake(h: Omit<Handshake, 'type'>): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  encodeInto({ type: 'handshake', ...h }, out, 0);
  return out;
}

export function encodeMessage(msg: WireMessage): Uint8Array {
  const out = new Uint8Array(encodedLength(msg));
  encodeInto(msg, out, 0);
  return out;
}

/** The bytes `item` takes on the wire, length prefix included. */
export function encodedLength(item: WireItem): number {
  switch (item.type) {
    case 'handshake':
      return HANDSHAKE_LENGTH;
    case 'keepAlive':
      return 4;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'notInterested':
    case 'haveAll':
    case 'haveNone':
      return 5;
    case 'port':
      return 7;
    case 'have':
    case 'suggest':
    case 'allowedFast':
      return 9;
    case 'request':
    case 'cancel':
    case 'reject':
      return 17;
    case 'bitfield':
      return 5 + item.bitfield.length;
    case 'piece':
      return 13 + item.block.length;
    case 'extended':
      return 6 + item.payload.length;
    case 'hashRequest':
    case 'hashReject':
      return 4 + HASH_REQUEST_FRAME_LENGTH;
    case 'hashes':
      return 4 + HASH_REQUEST_FRAME_LENGTH + item.hashes.length;
    case 'unknown':
      return 5 + item.payload.length;
  }
}

/**
 * Writes `item` into `out` at `at` (encodedLength(item) bytes, which must fit) and answers the
 * offset after it: the send queue packs consecutive messages back to back into one buffer this
 * way (send-queue.ts). Every value is checked before the first byte is written, so a RangeError
 * leaves `out` as it was up to `at`.
 */
export function encodeInto(item: WireItem, out: Uint8Array, at: number): number {
  switch (item.type) {
    case 'handshake':
      checkLength(item.reserved, 8, 'reserved');
      checkLength(item.infoHash, 20, 'info-hash');
      checkLength(item.peerId, 20, 'peer id');
      out[at] = PSTR.length;
      out.set(PSTR, at + 1);
      out.set(item.reserved, at + 20);
      out.set(item.infoHash, at + 28);
      out.set(item.peerId, at + 48);
      return at + HANDSHAKE_LENGTH;
    case 'keepAlive':
      writeU32(out, at, 0);
      return at + 4;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'notInterested':
    case 'haveAll':
    case 'haveNone':
      return prefix(out, at, 1, MessageId[item.type]);
    case 'have':
    case 'suggest':
    case 'allowedFast': {
      const index = checkU32(item.index, 'piece index');
      writeU32(out, prefix(out, at, 5, MessageId[item.type]), index);
      return at + 9;
    }
    case 'request':
    case 'cancel':
    case 'reject':
      return blockRef(out, at, MessageId[item.type], item.index, item.begin, item.length);
    case 'port': {
      if (!Number.isInteger(item.port) || item.port < 0 || item.port > 0xffff)
        throw new RangeError(`port ${item.port} is not a 16-bit port`);
      const p = prefix(out, at, 3, MessageId.port);
      out[p] = item.port >>> 8;
      out[p + 1] = item.port & 0xff;
      return p + 2;
    }
    case 'bitfield': {
      out.set(item.bitfield, prefix(out, at, 1 + item.bitfield.length, MessageId.bitfield));
      return at + 5 + item.bitfield.length;
    }
    case 'piece': {
      const p = encodePieceHeaderInto(out, at, item.index, item.begin, item.block.length);
      out.set(item.block, p);
      return p + item.block.length;
    }
    case 'extended': {
      if (!Number.isInteger(item.extendedId) || item.extendedId < 0 || item.extendedId > 0xff)
        throw new RangeError(`extended message id ${item.extendedId} is not a byte`);
      const p = prefix(out, at, 2 + item.payload.length, MessageId.extended);
      out[p] = item.extendedId;
      out.set(item.payload, p + 1);
      return p + 1 + item.payload.length;
    }
    case 'hashRequest':
    case 'hashReject':
      checkHashRange(item);
      return hashRange(out, prefix(out, at, HASH_REQUEST_FRAME_LENGTH, MessageId[item.type]), item);
    case 'hashes': {
      checkHashRange(item);
      if (item.hashes.length % HASH_LENGTH !== 0 || item.hashes.length > HASH_LENGTH * MAX_HASHES_PER_MESSAGE)
        throw new RangeError(`${item.hashes.length} bytes are not up to ${MAX_HASHES_PER_MESSAGE} hashes`);
      const p = prefix(out, at, HASH_REQUEST_FRAME_LENGTH + item.hashes.length, MessageId.hashes);
      const end = hashRange(out, p, item);
      out.set(item.hashes, end);
      return end + item.hashes.length;
    }
    case 'unknown': {
      if (!Number.isInteger(item.id) || item.id < 0 || item.id > 0xff || KNOWN_IDS.has(item.id))
        throw new RangeError(`message id ${item.id} is not an unknown message id`);
      out.set(item.payload, prefix(out, at, 1 + item.payload.length, item.id));
      return at + 5 + item.payload.length;
    }
  }
}

/** The length prefix (`len` counts the id and the payload) and the id; answers where the payload starts. */
function prefix(out: Uint8Array, at: number, len: number, id: number): number {
  writeU32(out, at, len);
  out[at + 4] = id;
  return at + 5;
}

/**
 * The request messages for `blocks`, back to back in one buffer (17 bytes each):
 *
 *   <len=0013><id=6><index><begin><length>  ×  blocks.length
 *
 * The bytes are those of encodeMessage({ type: 'request', … }) for each block in turn; one buffer
 * and one socket write per batch instead of one each (issue #8: a download sends 65,536 of them per
 * GiB).
 */
export function encodeRequests(
  blocks: readonly { index: number; begin: number; length: number }[],
): Uint8Array {
  const out = new Uint8Array(17 * blocks.length);
  encodeRequestsInto(blocks, 0, blocks.length, out, 0);
  return out;
}

/** The request messages for `blocks[from..to)` written into `out` at `at` (17 bytes each); answers the offset after them. */
export function encodeRequestsInto(
  blocks: readonly { index: number; begin: number; length: number }[],
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): number {
  for (let i = from; i < to; i++) {
    const b = blocks[i]!;
    at = blockRef(out, at, MessageId.request, b.index, b.begin, b.length);
  }
  return at;
}

/** `<len=0013><id><index><begin><length>`: request, cancel and reject. */
function blockRef(
  out: Uint8Array,
  at: number,
  id: number,
  index: number,
  begin: number,
  length: number,
): number {
  checkU32(index, 'piece index');
  checkU32(begin, 'begin');
  checkU32(length, 'length');
  const p = prefix(out, at, 13, id);
  writeU32(out, p, index);
  writeU32(out, p + 4, begin);
  writeU32(out, p + 8, length);
  return p + 12;
}

function checkHashRange(r: HashRange): void {
  checkLength(r.piecesRoot, 32, 'pieces root');
  checkU32(r.baseLayer, 'base layer');
  checkU32(r.index, 'index');
  checkU32(r.length, 'length');
  checkU32(r.proofLayers, 'proof layers');
}

/** BEP 52's 48 bytes (checked by checkHashRange): answers the offset after them. */
function hashRange(out: Uint8Array, at: number, r: HashRange): number {
  out.set(r.piecesRoot, at);
  writeU32(out, at + 32, r.baseLayer);
  writeU32(out, at + 36, r.index);
  writeU32(out, at + 40, r.length);
  writeU32(out, at + 44, r.proofLayers);
  return at + HASH_RANGE_LENGTH;
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`${what} ${v} is not a 32-bit unsigned integer`);
  return v;
}

function checkLength(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
}
