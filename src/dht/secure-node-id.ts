/**
 * BEP 42 (the DHT security extension): a node id tied to the node's external IPv4 address, so that
 * one host cannot pick ids next to any target it likes. The first 21 bits of the id are those of
 *
 *   crc32c((ip & 03.0f.3f.ff) | (r & 7) << 29)      r = the id's last byte, random
 *
 * and the rest is random. A node whose id does not match its address is "unverified": libtorrent's
 * `dht_prefer_verified_node_ids` (on by default) keeps verified nodes before unverified ones, and
 * so does our routing table. Local addresses (loopback, RFC 1918, link-local: BEP 42's list, which
 * is src/net/local-address.ts's) are exempt: behind them no external address is known, so every
 * id there counts as verified. Pure.
 */
import { ipv4Octets } from '../net/ban-key.js';
import { isLocalHost } from '../net/local-address.js';
import { crc32c } from './crc32c.js';
import { NODE_ID_BYTES } from './xor-distance.js';

/** BEP 42's mask of the IPv4 address's octets: the higher the octet, the fewer of its bits count. */
const IPV4_MASK = [0x03, 0x0f, 0x3f, 0xff] as const;

/** The crc32c of `ip` masked, with r's low 3 bits in the top of its first octet (BEP 42). */
function ipChecksum(octets: readonly number[], r: number): number {
  const masked = Uint8Array.from(octets, (o, i) => o & IPV4_MASK[i]!);
  masked[0]! |= (r & 0x07) << 5;
  return crc32c(masked);
}

/**
 * A BEP 42 id for the IPv4 address `ip`: 21 bits from the checksum, `random`'s bytes for the rest,
 * and its last byte as r (so `random` decides which of the 8 ids' prefixes, and everything else).
 * Undefined when `ip` is not a dotted IPv4 address.
 */
export function secureNodeId(ip: string, random: Uint8Array): Uint8Array | undefined {
  const octets = ipv4Octets(ip);
  if (octets === undefined || random.length !== NODE_ID_BYTES) return undefined;
  const r = random[NODE_ID_BYTES - 1]!;
  const crc = ipChecksum(octets, r);
  const id = new Uint8Array(random);
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (random[2]! & 0x07);
  return id;
}

/** Whether BEP 42 exempts `host` (a local address): any id is taken as verified there. */
export function isSecureIdExempt(host: string): boolean {
  return isLocalHost(host);
}

/**
 * Whether `id` matches `host` as BEP 42 says (its first 21 bits those of the checksum with its last
 * byte as r); true for an exempt host, false for anything that is not a dotted IPv4 address.
 */
export function isVerifiedNodeId(id: Uint8Array, host: string): boolean {
  if (isSecureIdExempt(host)) return true;
  const octets = ipv4Octets(host);
  if (octets === undefined || id.length !== NODE_ID_BYTES) return false;
  const crc = ipChecksum(octets, id[NODE_ID_BYTES - 1]!);
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
