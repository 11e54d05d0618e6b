/**
 * What a host ban covers (machines/torrent-address-book.ts): the key an incoming connection's
 * address is banned and looked up under. Pure (the torrent machine imports it): no `node:net`.
 *
 * - IPv4: the address (`1.2.3.4`), as libtorrent and qBittorrent ban one IP. An IPv4 peer seen on
 *   a dual-stack socket (`::ffff:1.2.3.4`, in any spelling) is that IPv4 address.
 * - IPv6: the /64 (`2001:db8:1:2::/64`). A /64 is the smallest network IPv6 hands out (RFC 4291:
 *   interface identifiers are 64 bits; a home gets a /64 or shorter), and one host holds many
 *   addresses in it and changes them at will (SLAAC privacy addresses, RFC 8981), so banning one
 *   address of it bans nothing: the peer dials in again from the next one. A /64 is thus IPv6's
 *   counterpart of one IPv4 address behind a home's NAT. libtorrent's own DHT reasons the same way
 *   (two nodes in one /64 are "too close" to both be trusted: compare_ip_cidr), though its peer
 *   bans and qBittorrent's cover one address.
 * - Whole IPv6 addresses where a /64 is not one site: the zero /64 (`::1`, `::`, the deprecated
 *   IPv4-compatible form), link-local `fe80::/10` (the same /64 on every link: it would be every
 *   local peer; the zone id is dropped) and Teredo `2001::/32` (every client of one Teredo server
 *   shares a /64). NAT64's well-known prefix `64:ff9b::/96` carries an IPv4 host: its IPv4 address.
 * - Anything else (a host name) is its own key, lower case.
 */
import { hostOf } from './address.js';

/** The key under which `address` (`host:port` or `[v6]:port`) is banned and looked up. */
export function banKey(address: string): string {
  return hostBanKey(hostOf(address));
}

/** The ban key of a bare host (no port, no brackets). */
export function hostBanKey(host: string): string {
  const lower = host.toLowerCase();
  const zone = lower.indexOf('%'); // RFC 4007: which link; the same host on any
  const bare = zone === -1 ? lower : lower.slice(0, zone);
  if (isIpv4(bare)) return bare;
  const g = parseIpv6(bare);
  if (g === undefined) return lower;
  const [a, b, c, d] = g as [number, number, number, number];
  if (a === 0 && b === 0 && c === 0 && d === 0 && g[4] === 0 && g[5] === 0xffff) return ipv4Of(g);
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && g[4] === 0 && g[5] === 0) return ipv4Of(g);
  const wholeAddress =
    (a === 0 && b === 0 && c === 0 && d === 0) || (a & 0xffc0) === 0xfe80 || (a === 0x2001 && b === 0);
  if (wholeAddress) return formatIpv6(g);
  return `${formatIpv6([a, b, c, d, 0, 0, 0, 0])}/64`;
}

/** A dotted quad in canonical form: four decimal numbers 0–255, no leading zeros. */
function isIpv4(s: string): boolean {
  return ipv4Octets(s) !== undefined;
}

/** The four octets of a canonical dotted quad (no leading zeros), or undefined. */
export function ipv4Octets(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
    return undefined;
  return parts.map(Number);
}

/** The IPv4 octets of an IPv4-mapped IPv6 address's groups (`::ffff:a.b.c.d`), or undefined. */
export function mappedIpv4Octets(g: readonly number[]): number[] | undefined {
  if (!(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff)) return undefined;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff];
}

/** The IPv4 address in the last 32 bits of `g`. */
function ipv4Of(g: readonly number[]): string {
  const hi = g[6]!;
  const lo = g[7]!;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * An IPv6 address's eight 16-bit groups, or undefined when `s` is not one (RFC 4291 section 2.2:
 * one to four hex digits a group, at most one `::`, an optional dotted IPv4 tail in the last 32
 * bits; RFC 4007: a `%zone` suffix, ignored here). Case-insensitive.
 */
export function parseIpv6(s: string): number[] | undefined {
  const zone = s.indexOf('%');
  let text = zone === -1 ? s : s.slice(0, zone);
  if (zone !== -1 && zone === s.length - 1) return undefined; // an empty zone id
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = text.slice(lastColon + 1);
    if (!isIpv4(v4)) return undefined;
    const [p, q, r, t] = v4.split('.').map(Number) as [number, number, number, number];
    tail.push((p << 8) | q, (r << 8) | t);
    text = text.slice(0, lastColon + 1);
    // `::1.2.3.4` keeps its `::`; `1:2:3:4:5:6:1.2.3.4` left `…:6:`, whose trailing colon goes.
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const part of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(part)) return undefined;
      out.push(Number.parseInt(part, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  if (head === undefined) return undefined;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : undefined;
  }
  const rest = groupsOf(halves[1]!);
  if (rest === undefined) return undefined;
  const given = head.length + rest.length + tail.length;
  if (given > 7) return undefined; // `::` stands for at least one group
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}

/**
 * Eight groups as RFC 5952 text: lower-case hex without leading zeros, the longest run of two or
 * more zero groups (the first of equal runs) as `::`. No dotted tail.
 */
export function formatIpv6(g: readonly number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  return best === -1 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLength, 8)}`;
}
