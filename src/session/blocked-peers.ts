/**
 * How many peers the IP filter (docs/blocklist.md) has blocked: distinct addresses (hosts: a peer
 * named again — at a tracker's next announce, by another source, on another port, or reconnecting
 * from a new source port — is not counted again), as the `blocked` of `peer.blocked` events and
 * the terminal's "(N peers blocked)" say. Bounded: at most MAX_REMEMBERED_BLOCKED hosts are
 * remembered; past them each block of a host not remembered is counted without remembering it (a
 * list that blocks that many peers in one run is already telling the user what it needs to).
 */
import { hostOf } from '../net/address.js';

/** Hosts remembered (~4 MB of strings at most), past which blocks are counted without them. */
export const MAX_REMEMBERED_BLOCKED = 65_536;

export class BlockedPeers {
  readonly #hosts = new Set<string>();
  #count = 0;

  /** Counts the host of `address` (`host:port`, `[v6]:port`) unless counted already; the count so far. */
  add(address: string): number {
    const host = hostOf(address);
    if (this.#hosts.has(host)) return this.#count;
    if (this.#hosts.size < MAX_REMEMBERED_BLOCKED) this.#hosts.add(host);
    return ++this.#count;
  }

  /** Distinct hosts blocked so far. */
  get count(): number {
    return this.#count;
  }
}
