/**
 * Whether a host is on a local network: loopback (127.0.0.0/8, ::1), private IPv4 (RFC 1918:
 * 10/8, 172.16/12, 192.168/16), link-local (169.254/16, fe80::/10), IPv6 unique local (fc00::/7),
 * an IPv4 one seen on a dual-stack socket (`::ffff:a.b.c.d`) as that IPv4 address. libtorrent's
 * ut_pex.cpp ignores such addresses from a peer that is not itself local (`is_local`): a peer on
 * the internet that names 192.168.1.1:80 would only make us dial into our own network. Pure (the
 * torrent machine imports it).
 */
import { hostOf } from './address.js';
import { ipv4Octets, mappedIpv4Octets, parseIpv6 } from './ban-key.js';

/** `host:port` or `[v6]:port` names a local host (see the file comment); a host name is not. */
export function isLocalAddress(address: string): boolean {
  return isLocalHost(hostOf(address));
}

export function isLocalHost(host: string): boolean {
  const v4 = ipv4Octets(host);
  if (v4 !== undefined) return isLocalIpv4(v4);
  const g = parseIpv6(host);
  if (g === undefined) return false;
  const mapped = mappedIpv4Octets(g);
  if (mapped !== undefined) return isLocalIpv4(mapped);
  const loopback = g.slice(0, 7).every((x) => x === 0) && g[7] === 1;
  return loopback || (g[0]! & 0xffc0) === 0xfe80 || (g[0]! & 0xfe00) === 0xfc00;
}

function isLocalIpv4([a, b]: number[]): boolean {
  return (
    a === 127 ||
    a === 10 ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}
