/**
 * The XOR metric of BEP 5, pure (the lookup machine uses it): the distance between two 160-bit ids
 * is their XOR read as an unsigned integer, so "closer" compares byte by byte.
 */
export const NODE_ID_BYTES = 20;
export const NODE_ID_BITS = NODE_ID_BYTES * 8;

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when the same id. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const da = (a[i]! ^ target[i]!) >>> 0;
    const db = (b[i]! ^ target[i]!) >>> 0;
    if (da !== db) return da - db;
  }
  return 0;
}

/** How many leading bits `a` and `b` share (160 when equal). */
export function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const x = (a[i]! ^ b[i]!) & 0xff;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return NODE_ID_BITS;
}
