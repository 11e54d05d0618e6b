/**
 * The routing table (BEP 5): buckets of at most K nodes each. The first bucket covers the whole id
 * space; a full bucket is split only when it holds our own id, so the table knows many nodes near
 * us and few far away — at most NODE_ID_BITS buckets, K × NODE_ID_BITS nodes in all.
 *
 * Bucket i (i < last) holds the nodes sharing exactly i leading bits with our id; the last one
 * those sharing `last` or more. A node is
 *   good          it answered one of our queries within GOOD_FOR_MS,
 *   bad           MAX_NODE_FAILURES queries in a row went unanswered,
 *   questionable  otherwise (heard of, or quiet for a while).
 * A new node takes a free place, else a bad node's place, else (in our bucket) a split; else it
 * waits in the bucket's replacement cache (at most MAX_REPLACEMENTS, the oldest forgotten), and
 * the bucket's questionable nodes are pinged, least recently seen first (`toPingForReplacement`;
 * dht-node.ts sends the pings): one that fails MAX_NODE_FAILURES times is bad, and the most recent
 * replacement takes its place (BEP 5's rule, and libtorrent's replacement buckets). A bucket of
 * good nodes keeps them: the nodes that have stayed longest are the likeliest to stay. A known id
 * keeps its address: another address under the same id does not replace it.
 *
 * Only a node that answered one of our queries is taken: a query's source address can be forged
 * and its id is whatever the sender says, so a node that only queried us is pinged first (dht-node.ts),
 * as libtorrent keeps such nodes out of its live buckets until pinged. And with `restrictIps` (the
 * default), as libtorrent's dht_restrict_routing_ips, one IP holds one place in the whole table
 * (live or replacement) whatever its ports, and one IPv4 /24 one place per bucket (live or
 * replacement): else one host with many ports and made-up ids, or one subnet, could fill
 * every bucket near any target. Nodes on one machine (tests on 127.0.0.1) share an IP: there it is
 * turned off. These checks come before a split: a node refused anyway splits nothing (libtorrent's
 * add_node_impl checks the IP rules first too).
 *
 * With `preferVerifiedIds` (the default), verified nodes (BEP 42) are kept before unverified ones
 * wherever a bucket must choose: routing-node.ts.
 *
 * When our id changes (BEP 42: our external address became known, dht-node.ts), `rekey` rebuilds
 * the buckets around the new id from the nodes already known, live ones first and then the
 * replacements, as libtorrent's update_node_id: they keep what is known of them (when they answered,
 * their failures), and those the new shape has no room for are dropped.
 */
import type { DhtNodeInfo } from './compact.js';
import { commonPrefixBits, compareDistance, NODE_ID_BITS } from './node-id.js';
import {
  leastRecentUnverified,
  type NodeStatus,
  nodeStatus,
  type RoutingNode,
  replacementToTake,
} from './routing-node.js';
import { isVerifiedNodeId } from './secure-node-id.js';
import { subnetOf } from './subnet.js';

export { GOOD_FOR_MS, MAX_NODE_FAILURES, type NodeStatus, type RoutingNode } from './routing-node.js';
export { subnetOf };

/** Nodes per bucket, and the size of a lookup's answer (BEP 5's K). */
export const K = 8;
/** Nodes a bucket's replacement cache holds (libtorrent: as many as the bucket). */
export const MAX_REPLACEMENTS = K;

interface Bucket {
  nodes: RoutingNode[];
  /** Verified nodes that found the bucket full, the most recently heard last. */
  replacements: RoutingNode[];
  /** When a node in it last answered or was added (refresh: BEP 5's 15 minutes). */
  changedAt: number;
}

export interface RoutingTableOptions {
  /** One node per IP in the table and one per IPv4 /24 in a bucket (default true). */
  readonly restrictIps?: boolean;
  /** Verified nodes (BEP 42) before unverified ones where a bucket must choose (default true). */
  readonly preferVerifiedIds?: boolean;
}

const sameId = (a: Uint8Array, b: Uint8Array) => compareDistance(a, b, a) === 0;

export class RoutingTable {
  #ownId: Uint8Array;
  #buckets: Bucket[];
  /** The live nodes by address (replacements are found in their bucket: at most MAX_REPLACEMENTS). */
  readonly #byAddress = new Map<string, RoutingNode>();
  /** The IPs in the table, live or replacement (with restrictIps). */
  readonly #ips = new Set<string>();
  readonly #restrictIps: boolean;
  readonly #preferVerified: boolean;

  constructor(ownId: Uint8Array, now: number, options: RoutingTableOptions = {}) {
    this.#ownId = ownId;
    this.#buckets = [{ nodes: [], replacements: [], changedAt: now }];
    this.#restrictIps = options.restrictIps ?? true;
    this.#preferVerified = options.preferVerifiedIds ?? true;
  }

  get ownId(): Uint8Array {
    return this.#ownId;
  }

  get size(): number {
    return this.#byAddress.size;
  }

  get bucketCount(): number {
    return this.#buckets.length;
  }

  status(n: RoutingNode, now: number): NodeStatus {
    return nodeStatus(n, now);
  }

  #bucketOf(id: Uint8Array): Bucket {
    return this.#buckets[Math.min(commonPrefixBits(this.#ownId, id), this.#buckets.length - 1)]!;
  }

  /** Why `info` (not in the table) cannot enter `bucket`: its IP, or its /24 there, or its id. */
  #refused(info: DhtNodeInfo, bucket: Bucket): boolean {
    const inBucket = [...bucket.nodes, ...bucket.replacements];
    if (inBucket.some((n) => sameId(n.id, info.id))) return true;
    if (!this.#restrictIps) return false;
    if (this.#ips.has(info.host)) return true;
    const subnet = subnetOf(info.host);
    return inBucket.some((n) => subnetOf(n.host) === subnet);
  }

  /** Whether a node not in the table could be taken once it answers (worth a ping). */
  mayTake(info: DhtNodeInfo): boolean {
    if (sameId(this.#ownId, info.id)) return false;
    const key = addressKey(info);
    if (this.#byAddress.has(key)) return false;
    const bucket = this.#bucketOf(info.id);
    if (bucket.replacements.some((n) => addressKey(n) === key)) return false;
    return !this.#refused(info, bucket);
  }

  /**
   * A node was heard from: `answered` when it answered our query (it becomes good, and is taken
   * if there is room, else waits as a replacement), else it sent us a query (only a node already
   * in the table is updated). Returns whether it is in the table (live) now.
   */
  heard(info: DhtNodeInfo, now: number, answered: boolean): boolean {
    if (sameId(this.#ownId, info.id)) return false; // our own id
    const key = addressKey(info);
    const known = this.#byAddress.get(key) ?? this.#replacementAt(key);
    if (known !== undefined) {
      if (!sameId(known.id, info.id)) return false; // another id at that address
      known.lastSeen = now;
      if (answered) {
        known.lastAnswer = now;
        known.failures = 0;
      }
      if (!this.#byAddress.has(key)) {
        // A replacement heard again: the most recent one now.
        const spares = this.#bucketOf(known.id).replacements;
        spares.splice(spares.indexOf(known), 1);
        spares.push(known);
        return false;
      }
      if (answered) this.#bucketOf(known.id).changedAt = now;
      return true;
    }
    if (!answered) return false; // not verified: the sender is pinged first
    return this.#insert(
      {
        // A copy: a decoded id is a view of its datagram, which it would keep alive.
        id: new Uint8Array(info.id),
        host: info.host,
        port: info.port,
        lastAnswer: now,
        lastSeen: now,
        failures: 0,
        verified: isVerifiedNodeId(info.id, info.host),
      },
      now,
    );
  }

  /** A node not in the table goes live (true) or waits as a replacement, or is refused. */
  #insert(node: RoutingNode, now: number): boolean {
    if (sameId(this.#ownId, node.id)) return false;
    let bucket = this.#bucketOf(node.id);
    // The IP and /24 rules first, against the bucket as it is: a split only narrows it, so a node
    // allowed now is allowed in its half; one refused splits nothing.
    if (this.#refused(node, bucket)) return false;
    // Ours, full and with no bad node: split.
    while (
      bucket.nodes.length >= K &&
      bucket === this.#buckets.at(-1) &&
      this.#buckets.length < NODE_ID_BITS &&
      !bucket.nodes.some((n) => this.status(n, now) === 'bad')
    ) {
      this.#split(now);
      bucket = this.#bucketOf(node.id);
    }
    if (bucket.nodes.length < K) {
      this.#place(bucket, node, now);
      return true;
    }
    const bad = bucket.nodes.findIndex((n) => this.status(n, now) === 'bad');
    if (bad >= 0) {
      this.#place(bucket, node, now, bad);
      return true;
    }
    const unverified = this.#preferVerified && node.verified ? leastRecentUnverified(bucket.nodes) : -1;
    if (unverified >= 0) {
      this.#place(bucket, node, now, unverified);
      return true;
    }
    const spares = bucket.replacements;
    if (spares.length >= MAX_REPLACEMENTS) {
      const oldestUnverified = this.#preferVerified ? spares.findIndex((n) => !n.verified) : 0;
      if (oldestUnverified < 0 && !node.verified) return false; // all verified: no room for it
      this.#forget(spares.splice(Math.max(0, oldestUnverified), 1)[0]!);
    }
    spares.push(node);
    this.#ips.add(node.host);
    return false;
  }

  /**
   * Our id is now `id` (BEP 42: see the file comment): the buckets are rebuilt around it from the
   * nodes known, live ones first, then the replacements.
   */
  rekey(id: Uint8Array, now: number): void {
    const live = this.#buckets.flatMap((b) => b.nodes);
    const spares = this.#buckets.flatMap((b) => b.replacements);
    this.#ownId = id;
    this.#buckets = [{ nodes: [], replacements: [], changedAt: now }];
    this.#byAddress.clear();
    this.#ips.clear();
    for (const n of [...live, ...spares]) this.#insert(n, now);
  }

  /** Puts `node` in `bucket`, in the place of the node at `at` (bad) or in a free one. */
  #place(bucket: Bucket, node: RoutingNode, now: number, at = bucket.nodes.length): void {
    const old = bucket.nodes[at];
    if (old !== undefined) {
      this.#byAddress.delete(addressKey(old));
      this.#forget(old);
    }
    bucket.nodes[at] = node;
    bucket.changedAt = now;
    this.#byAddress.set(addressKey(node), node);
    this.#ips.add(node.host);
  }

  #forget(n: RoutingNode): void {
    this.#ips.delete(n.host);
  }

  #replacementAt(key: string): RoutingNode | undefined {
    for (const b of this.#buckets) for (const n of b.replacements) if (addressKey(n) === key) return n;
    return undefined;
  }

  /**
   * The last bucket (ours) becomes two: those sharing exactly `last` bits with us, and the rest;
   * its replacements go with their side, and fill the places the split freed, most recent first.
   */
  #split(now: number): void {
    const last = this.#buckets.length - 1;
    const old = this.#buckets[last]!;
    const near: Bucket = { nodes: [], replacements: [], changedAt: now };
    const far: Bucket = { nodes: [], replacements: [], changedAt: old.changedAt };
    const isNear = (n: RoutingNode) => commonPrefixBits(this.#ownId, n.id) > last;
    for (const n of old.nodes) (isNear(n) ? near : far).nodes.push(n);
    for (const n of old.replacements) (isNear(n) ? near : far).replacements.push(n);
    for (const b of [far, near])
      while (b.nodes.length < K) {
        const n = replacementToTake(b.replacements, now, this.#preferVerified, true);
        if (n === undefined) break;
        b.nodes.push(n);
        this.#byAddress.set(addressKey(n), n);
      }
    this.#buckets[last] = far;
    this.#buckets.push(near);
  }

  /**
   * A query to the node at this address went unanswered. Once bad, its place goes to the bucket's
   * most recent replacement, if any (BEP 5).
   */
  failed(host: string, port: number, now: number): void {
    const key = `${host}:${port}`;
    const n = this.#byAddress.get(key);
    if (n === undefined) {
      const spare = this.#replacementAt(key);
      if (spare !== undefined) spare.failures++;
      return;
    }
    n.failures++;
    if (this.status(n, now) !== 'bad') return;
    const bucket = this.#bucketOf(n.id);
    const spare = replacementToTake(bucket.replacements, now, this.#preferVerified);
    if (spare !== undefined) this.#place(bucket, spare, now, bucket.nodes.indexOf(n));
  }

  /**
   * The node to ping so that a replacement waiting in `id`'s bucket may take a place (BEP 5): the
   * least recently seen questionable node there that `busy` does not say is being pinged already;
   * undefined when no replacement waits or no node there is questionable.
   */
  toPingForReplacement(
    id: Uint8Array,
    now: number,
    busy: (n: RoutingNode) => boolean,
  ): RoutingNode | undefined {
    const bucket = this.#bucketOf(id);
    if (bucket.replacements.length === 0) return undefined;
    let pick: RoutingNode | undefined;
    for (const n of bucket.nodes)
      if (
        this.status(n, now) === 'questionable' &&
        !busy(n) &&
        (pick === undefined || n.lastSeen < pick.lastSeen)
      )
        pick = n;
    return pick;
  }

  /** The `count` nodes closest to `target` that are not bad, closest first. */
  closest(target: Uint8Array, count: number, now: number): RoutingNode[] {
    const all: RoutingNode[] = [];
    for (const b of this.#buckets) for (const n of b.nodes) if (this.status(n, now) !== 'bad') all.push(n);
    all.sort((a, b) => compareDistance(target, a.id, b.id));
    return all.slice(0, count);
  }

  /** Depths of buckets nothing has changed in for `staleMs` (their refresh targets). */
  staleBuckets(now: number, staleMs: number): number[] {
    const out: number[] = [];
    for (const [i, b] of this.#buckets.entries()) if (now - b.changedAt >= staleMs) out.push(i);
    return out;
  }

  /** Marks a bucket refreshed (its lookup was started). */
  touchBucket(depth: number, now: number): void {
    const b = this.#buckets[depth];
    if (b !== undefined) b.changedAt = now;
  }

  /** Questionable nodes not heard from for `quietMs` (to ping). */
  questionable(now: number, quietMs: number): RoutingNode[] {
    const out: RoutingNode[] = [];
    for (const b of this.#buckets)
      for (const n of b.nodes)
        if (this.status(n, now) === 'questionable' && now - n.lastSeen >= quietMs) out.push(n);
    return out;
  }

  /** Every live node, bucket by bucket (for tests and invariants). */
  *nodes(): IterableIterator<{ depth: number; node: RoutingNode }> {
    for (const [depth, b] of this.#buckets.entries()) for (const node of b.nodes) yield { depth, node };
  }

  /** Every node waiting in a replacement cache, bucket by bucket (for tests and invariants). */
  *replacements(): IterableIterator<{ depth: number; node: RoutingNode }> {
    for (const [depth, b] of this.#buckets.entries())
      for (const node of b.replacements) yield { depth, node };
  }

  countGood(now: number): number {
    let n = 0;
    for (const b of this.#buckets) for (const node of b.nodes) if (this.status(node, now) === 'good') n++;
    return n;
  }
}

export function addressKey(a: { host: string; port: number }): string {
  return `${a.host}:${a.port}`;
}
