/**
 * The compact form of a peer's address (BEP 23, and BEP 5's compact peer info): 4 bytes of IPv4
 * address, or 16 of IPv6, then a 2-byte port, all big-endian. An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, an IPv4 peer seen on a dual-stack socket) is that IPv4 address. BEP 11's
 * ut_pex messages (src/wire/ut-pex.ts) and the DHT's values and nodes (src/dht/compact.ts) share it.
 * Pure (the peer machine encodes ut_pex): no `node:` imports.
 */
import { formatIpv6, ipv4Octets, mappedIpv4Octets, parseIpv6 } from './ban-key.js';

/**
 * `host` (no brackets) and `port` compact: 6 bytes for IPv4 (mapped IPv6 too), 18 for IPv6;
 * undefined for a host name, a dotted quad not in canonical form, or a port outside 1–65535.
 */
export function compactHostPort(host: string, port: number): Uint8Array | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  let bytes = ipv4Octets(host);
  if (bytes === undefined) {
    const g = parseIpv6(host);
    if (g === undefined) return undefined;
    bytes = mappedIpv4Octets(g) ?? g.flatMap((x) => [x >> 8, x & 0xff]);
  }
  return Uint8Array.from([...bytes, port >> 8, port & 0xff]);
}

/** The dotted IPv4 address of the 4 bytes at `offset`. */
export function ipv4OfCompact(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** The port of the compact entry of `length` bytes at `offset` (its last two bytes). */
export function portOfCompact(bytes: Uint8Array, offset: number, length: number): number {
  return (bytes[offset + length - 2]! << 8) | bytes[offset + length - 1]!;
}

/** `host:port` (or `[v6]:port`) of one compact entry, IPv4-mapped IPv6 as IPv4; undefined for port 0. */
export function addressOfCompact(bytes: Uint8Array, offset: number, length: 6 | 18): string | undefined {
  const port = portOfCompact(bytes, offset, length);
  if (port === 0) return undefined;
  if (length === 6) return `${ipv4OfCompact(bytes, offset)}:${port}`;
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!;
  const mapped = mappedIpv4Octets(g);
  if (mapped !== undefined) return `${mapped.join('.')}:${port}`;
  return `[${formatIpv6(g)}]:${port}`;
}
