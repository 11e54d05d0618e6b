/**
 * The handshake's 8 reserved bytes that bitstate reads and sets. Pure (machines import it):
 *   reserved[5] & 0x10   BEP 10, the Extension Protocol: on only when both ends set it
 *   reserved[7] & 0x04   BEP 6, the Fast Extension: on only when both ends set it
 *   reserved[7] & 0x10   BEP 52, v2: we set it for a v2 torrent. libtorrent asks only connections it
 *                        takes as v2 for hashes; its current source takes one it accepted as v2
 *                        only with this bit (2.0.8 does without it)
 */

export const EXTENSION_PROTOCOL_BYTE = 5;
export const EXTENSION_PROTOCOL_BIT = 0x10;
export const FAST_EXTENSION_BYTE = 7;
export const FAST_EXTENSION_BIT = 0x04;
export const V2_BYTE = 7;
export const V2_BIT = 0x10;

/** Does this handshake's reserved field set the Fast Extension bit (BEP 6)? */
export function hasFastBit(reserved: Uint8Array): boolean {
  return ((reserved[FAST_EXTENSION_BYTE] ?? 0) & FAST_EXTENSION_BIT) !== 0;
}

/** Does this handshake's reserved field set the Extension Protocol bit (BEP 10)? */
export function hasExtensionBit(reserved: Uint8Array): boolean {
  return ((reserved[EXTENSION_PROTOCOL_BYTE] ?? 0) & EXTENSION_PROTOCOL_BIT) !== 0;
}

/** The reserved field we send: the BEP 10 and BEP 6 bits set, BEP 52's for a v2 torrent, every other bit clear. */
export function ourReservedBytes(v2 = false): Uint8Array {
  const r = new Uint8Array(8);
  r[EXTENSION_PROTOCOL_BYTE] = EXTENSION_PROTOCOL_BIT;
  r[FAST_EXTENSION_BYTE] = FAST_EXTENSION_BIT | (v2 ? V2_BIT : 0);
  return r;
}
