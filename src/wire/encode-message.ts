/**
 * The peer wire encoder (BEP 3, BEP 5 port, BEP 6 fast extension, BEP 10 extension protocol).
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
 *
 * Values come from our own code, so an out-of-range value (a negative index, a port above 65535,
 * an `unknown` message whose id is a known one) is a bug and throws a RangeError.
 */
import { HANDSHAKE_LENGTH, type Handshake, MessageId, PROTOCOL_NAME, type WireMessage } from './messages.js';

const PSTR = new TextEncoder().encode(PROTOCOL_NAME);
const KNOWN_IDS = new Set<number>(Object.values(MessageId));

/** The 13-byte header of a piece message, to be written before the block with writev (no copy of the block). */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  const out = new Uint8Array(13);
  writeU32(out, 0, 9 + checkU32(blockLength, 'block length'));
  out[4] = MessageId.piece;
  writeU32(out, 5, checkU32(index, 'piece index'));
  writeU32(out, 9, checkU32(begin, 'begin'));
  return out;
}

export function encodeHandshake(h: Omit<Handshake, 'type'>): Uint8Array {
  checkLength(h.reserved, 8, 'reserved');
  checkLength(h.infoHash, 20, 'info-hash');
  checkLength(h.peerId, 20, 'peer id');
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PSTR.length;
  out.set(PSTR, 1);
  out.set(h.reserved, 20);
  out.set(h.infoHash, 28);
  out.set(h.peerId, 48);
  return out;
}

export function encodeMessage(msg: WireMessage): Uint8Array {
  switch (msg.type) {
    case 'keepAlive':
      return new Uint8Array(4);
    case 'choke':
      return idOnly(MessageId.choke);
    case 'unchoke':
      return idOnly(MessageId.unchoke);
    case 'interested':
      return idOnly(MessageId.interested);
    case 'notInterested':
      return idOnly(MessageId.notInterested);
    case 'haveAll':
      return idOnly(MessageId.haveAll);
    case 'haveNone':
      return idOnly(MessageId.haveNone);
    case 'have':
      return withIndex(MessageId.have, msg.index);
    case 'suggest':
      return withIndex(MessageId.suggest, msg.index);
    case 'allowedFast':
      return withIndex(MessageId.allowedFast, msg.index);
    case 'request':
      return withBlockRef(MessageId.request, msg.index, msg.begin, msg.length);
    case 'cancel':
      return withBlockRef(MessageId.cancel, msg.index, msg.begin, msg.length);
    case 'reject':
      return withBlockRef(MessageId.reject, msg.index, msg.begin, msg.length);
    case 'port': {
      if (!Number.isInteger(msg.port) || msg.port < 0 || msg.port > 0xffff)
        throw new RangeError(`port ${msg.port} is not a 16-bit port`);
      const out = frame(3, MessageId.port);
      out[5] = msg.port >>> 8;
      out[6] = msg.port & 0xff;
      return out;
    }
    case 'bitfield': {
      const out = frame(1 + msg.bitfield.length, MessageId.bitfield);
      out.set(msg.bitfield, 5);
      return out;
    }
    case 'piece': {
      const out = new Uint8Array(13 + msg.block.length);
      out.set(encodePieceHeader(msg.index, msg.begin, msg.block.length), 0);
      out.set(msg.block, 13);
      return out;
    }
    case 'extended': {
      if (!Number.isInteger(msg.extendedId) || msg.extendedId < 0 || msg.extendedId > 0xff)
        throw new RangeError(`extended message id ${msg.extendedId} is not a byte`);
      const out = frame(2 + msg.payload.length, MessageId.extended);
      out[5] = msg.extendedId;
      out.set(msg.payload, 6);
      return out;
    }
    case 'unknown': {
      if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 0xff || KNOWN_IDS.has(msg.id))
        throw new RangeError(`message id ${msg.id} is not an unknown message id`);
      const out = frame(1 + msg.payload.length, msg.id);
      out.set(msg.payload, 5);
      return out;
    }
  }
}

/** A whole frame of `len` bytes after the prefix (id included), with prefix and id written. */
function frame(len: number, id: number): Uint8Array {
  const out = new Uint8Array(4 + len);
  writeU32(out, 0, len);
  out[4] = id;
  return out;
}

function idOnly(id: number): Uint8Array {
  const out = new Uint8Array(5);
  out[3] = 1;
  out[4] = id;
  return out;
}

function withIndex(id: number, index: number): Uint8Array {
  const out = frame(5, id);
  writeU32(out, 5, checkU32(index, 'piece index'));
  return out;
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
  let at = 0;
  for (const b of blocks) {
    writeU32(out, at, 13);
    out[at + 4] = MessageId.request;
    writeU32(out, at + 5, checkU32(b.index, 'piece index'));
    writeU32(out, at + 9, checkU32(b.begin, 'begin'));
    writeU32(out, at + 13, checkU32(b.length, 'length'));
    at += 17;
  }
  return out;
}

function withBlockRef(id: number, index: number, begin: number, length: number): Uint8Array {
  const out = frame(13, id);
  writeU32(out, 5, checkU32(index, 'piece index'));
  writeU32(out, 9, checkU32(begin, 'begin'));
  writeU32(out, 13, checkU32(length, 'length'));
  return out;
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
