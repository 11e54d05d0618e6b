/**
 * How many peers the IP filter (docs/blocklist.md) has blocked: distinct addresses (hosts: a peer
 * named again — at a tracker's next announce, by another source, on another port, or reconnecting
 * from a new source port — is not counted again), as the `blocked` of `peer.blocked` events and
 * the terminal's "(N peers blocked)" say. Bounded: at most MAX_REMEMBERED_BLOCKED hosts are
 * remembered; past them each block of a host not remembered is counted without remembering it (a
 * list that blocks that many peers in one run is already telling the user what it needs to).
 * An IPv4 peer spelt IPv4-mapped (`::ffff:a.b.c.d`: a dual-stack socket, a tracker's peers6) is
 * its IPv4 host, as the filter blocks it (IpRangeSet.hasHost) and a ban covers it (ban-key.ts).
 */
import { hostOf } from '../net/address.js';
import { mappedIpv4Octets, parseIpv6 } from '../net/ban-key.js';

/** Hosts remembered (~4 MB of strings at most), past which blocks are counted without them. */
export const MAX_REMEMBERED_BLOCKED = 65_536;

export class BlockedPeers {
  readonly #hosts = new Set<string>();
  #count = 0;

  /** Counts the host of `address` (`host:port`, `[v6]:port`) unless counted already; the count so far. */
  add(address: string): number {
    const host = countedHost(hostOf(address));
    if (this.#hosts.has(host)) return this.#count;
    if (this.#hosts.size < MAX_REMEMBERED_BLOCKED) this.#hosts.add(host);
    return ++this.#count;
  }

  /** Distinct hosts blocked so far. */
  get count(): number {
    return this.#count;
  }
}

/** The host counted: an IPv4-mapped IPv6 address (in any spelling) as its dotted quad. */
function countedHost(host: string): string {
  if (!host.includes(':')) return host;
  const g = parseIpv6(host);
  const v4 = g === undefined ? undefined : mappedIpv4Octets(g);
  return v4 === undefined ? host : v4.join('.');
}
