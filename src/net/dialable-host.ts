/**
 * Whether a host can be a peer's listening address: not IPv4 0.0.0.0/8 ("this host on this
 * network", RFC 1122 — dialled, it reaches our own machine: Linux connects 0.0.0.0:p to
 * 127.0.0.1:p), 224.0.0.0/4 multicast, 240.0.0.0/4 reserved and broadcast; not IPv6 `::` (which
 * reaches ::1 the same way) or ff00::/8 multicast. An IPv4 address seen on a dual-stack socket
 * (`::ffff:a.b.c.d`) is that IPv4 address. Loopback and private ranges stay: local swarms (and the
 * tests) live there; whether a peer may name them is src/net/local-address.ts's question. A host
 * name is dialable when it is one (RFC 1123 labels). Pure (the torrent machine imports it): the
 * tracker's peers (src/tracker/peer-collector.ts), a ut_pex message's (machines/torrent-pex.ts)
 * and a DHT answer's peers and nodes (src/dht/dht.ts) pass the same test.
 */
import { ipv4Octets, mappedIpv4Octets, parseIpv6 } from './ban-key.js';

/** A host name as BEP 3's dictionary peers may give one instead of an address. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;

/** `host` (no port, no brackets) may be dialled as a peer (see the file comment). */
export function isDialableHost(host: string): boolean {
  const v4 = ipv4Octets(host);
  if (v4 !== undefined) return isDialableIpv4(v4[0]!);
  const g = parseIpv6(host);
  if (g === undefined) return HOST_NAME.test(host);
  const mapped = mappedIpv4Octets(g);
  if (mapped !== undefined) return isDialableIpv4(mapped[0]!);
  return !g.every((x) => x === 0) && (g[0]! & 0xff00) !== 0xff00;
}

function isDialableIpv4(first: number): boolean {
  return first !== 0 && first < 224;
}
