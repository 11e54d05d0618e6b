/**
 * The handshake's 8 reserved bytes that bitstate reads and sets. Pure (machines import it):
 *   reserved[7] & 0x04   BEP 6, the Fast Extension: on only when both ends set it
 */

export const FAST_EXTENSION_BYTE = 7;
export const FAST_EXTENSION_BIT = 0x04;

/** Does this handshake's reserved field set the Fast Extension bit (BEP 6)? */
export function hasFastBit(reserved: Uint8Array): boolean {
  return ((reserved[FAST_EXTENSION_BYTE] ?? 0) & FAST_EXTENSION_BIT) !== 0;
}

/** The reserved field we send: the Fast Extension bit set, every other bit clear. */
export function ourReservedBytes(): Uint8Array {
  const r = new Uint8Array(8);
  r[FAST_EXTENSION_BYTE] = FAST_EXTENSION_BIT;
  return r;
}
