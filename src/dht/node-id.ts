/**
 * Node ids and the XOR metric (BEP 5): ids are 160-bit strings like info-hashes, and the distance
 * between two is their XOR read as an unsigned integer, so "closer" compares byte by byte.
 */
import { randomBytes } from 'node:crypto';
import { NODE_ID_BITS, NODE_ID_BYTES } from './xor-distance.js';

export { commonPrefixBits, compareDistance, NODE_ID_BITS, NODE_ID_BYTES } from './xor-distance.js';

/** A random node id (BEP 42's IP-derived ids are not used: docs/dht.md). */
export function randomNodeId(): Uint8Array {
  return new Uint8Array(randomBytes(NODE_ID_BYTES));
}

/**
 * A random id sharing exactly `bits` leading bits with `id` (the next bit differs): a target inside
 * the bucket at depth `bits`, for its refresh. `random` gives the remaining bits.
 */
export function idInBucket(id: Uint8Array, bits: number, random: Uint8Array = randomNodeId()): Uint8Array {
  const out = new Uint8Array(random);
  if (bits >= NODE_ID_BITS) return new Uint8Array(id);
  const whole = bits >> 3;
  out.set(id.subarray(0, whole));
  const rest = bits & 7;
  // The byte holding bit `bits`: id's first `rest` bits, then the flipped bit, then random.
  const keep = rest === 0 ? 0 : (0xff << (8 - rest)) & 0xff;
  const flip = 0x80 >> rest;
  out[whole] = (id[whole]! & keep) | (~id[whole]! & flip) | (out[whole]! & ~(keep | flip) & 0xff);
  return out;
}

export function idHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
