/**
 * BEP 6 (Fast Extension): the handshake bit, and the canonical "allowed fast" set — the pieces a
 * peer may request from us even while we choke it, so a newcomer gets something to trade at once.
 *
 * The set depends only on the peer's IPv4 /24, the info-hash and the piece count, so every client
 * computes the same set for the same peer (BEP 6, "Allowed Fast"; the handshake bit is in
 * reserved-bits.ts):
 *
 *   x = (ip & 0xFFFFFF00) as 4 bytes big-endian ++ info_hash
 *   while |a| < k:
 *     x = SHA1(x)
 *     for i in 0..4 while |a| < k:
 *       index = (x[4i .. 4i+4] as u32 big-endian) mod pieceCount
 *       if index not in a: add index to a
 *
 * BEP 6 defines it for IPv4 only; for IPv6 we grant no set (allowedFastSet returns undefined).
 * When k ≥ pieceCount the loop above cannot end: every piece is allowed instead (what libtorrent
 * does for torrents smaller than its set size).
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** How many pieces we allow a fast peer while choking it (libtorrent's `allowed_fast_set_size` is 5; BEP 6 suggests 10). */
export const ALLOWED_FAST_SET_SIZE = 10;

/** The IPv4 address inside `host` (also as an IPv4-mapped IPv6 address), or undefined. */
export function ipv4Of(host: string): string | undefined {
  if (isIPv4(host)) return host;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)?.[1];
  return mapped !== undefined && isIPv4(mapped) ? mapped : undefined;
}

/**
 * The BEP 6 allowed fast set of `k` distinct pieces for a peer at `ip`, in generation order; every
 * piece when k ≥ pieceCount; undefined for a host that is not IPv4.
 */
export function allowedFastSet(
  ip: string,
  infoHash: Uint8Array,
  pieceCount: number,
  k: number = ALLOWED_FAST_SET_SIZE,
): number[] | undefined {
  const v4 = ipv4Of(ip);
  if (v4 === undefined || pieceCount <= 0 || k <= 0) return v4 === undefined ? undefined : [];
  if (k >= pieceCount) return Array.from({ length: pieceCount }, (_, i) => i);
  const octets = v4.split('.').map(Number);
  let x: Uint8Array = new Uint8Array(4 + infoHash.length);
  x.set([octets[0] ?? 0, octets[1] ?? 0, octets[2] ?? 0, 0], 0); // ip & 0xFFFFFF00
  x.set(infoHash, 4);
  const chosen: number[] = [];
  while (chosen.length < k) {
    x = createHash('sha1').update(x).digest();
    const view = new DataView(x.buffer, x.byteOffset, x.byteLength);
    for (let i = 0; i < 5 && chosen.length < k; i++) {
      const index = view.getUint32(i * 4) % pieceCount;
      if (!chosen.includes(index)) chosen.push(index);
    }
  }
  return chosen;
}
