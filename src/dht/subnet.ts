/**
 * The IPv4 /24 of an address, as libtorrent compares DHT nodes "too close" to trust both
 * (compare_ip_cidr in its routing table, the lower octet masked in a lookup's results). Pure: the
 * lookup's shortlist (machines/dht-shortlist.ts) and the routing table use it.
 */

/** The IPv4 /24 of a dotted (or IPv4-mapped) address, as libtorrent compares them; else the host. */
export function subnetOf(host: string): string {
  const m = /^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/i.exec(host);
  return m === null ? host : m[1]!;
}
