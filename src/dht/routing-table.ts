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
 * A new node takes a free place, else a bad node's place, else (in our bucket) a split; else it is
 * not taken (BEP 5: the nodes that have stayed longest are the likeliest to stay). A known id
 * keeps its address: another address under the same id does not replace it.
 *
 * Only a node that answered one of our queries is taken: a query's source address can be forged
 * and its id is whatever the sender says, so a node that only queried us is pinged first (dht-node.ts),
 * as libtorrent keeps such nodes out of its live buckets until pinged. And with `oneNodePerIp` (the
 * default) one IP holds one place, whatever its ports, as libtorrent's dht_restrict_routing_ips:
 * else one host with many ports and made-up ids could fill every bucket near any target. Nodes on
 * one machine (tests on 127.0.0.1) share an IP: there it is turned off.
 */
import type { DhtNodeInfo } from './compact.js';
import { commonPrefixBits, compareDistance, NODE_ID_BITS } from './node-id.js';

/** Nodes per bucket, and the size of a lookup's answer (BEP 5's K). */
export const K = 8;
/** A node that answered this recently is good (BEP 5: 15 minutes). */
export const GOOD_FOR_MS = 15 * 60_000;
/** Unanswered queries in a row that make a node bad. */
export const MAX_NODE_FAILURES = 2;

export interface RoutingNode extends DhtNodeInfo {
  /** When it last answered one of our queries (undefined: never). */
  lastAnswer: number | undefined;
  /** When we last heard from it at all (query or answer). */
  lastSeen: number;
  failures: number;
}

export type NodeStatus = 'good' | 'questionable' | 'bad';

interface Bucket {
  nodes: RoutingNode[];
  /** When a node in it last answered or was added (refresh: BEP 5's 15 minutes). */
  changedAt: number;
}

export interface RoutingTableOptions {
  /** One node per IP address (default true). */
  readonly oneNodePerIp?: boolean;
}

export class RoutingTable {
  readonly ownId: Uint8Array;
  readonly #buckets: Bucket[];
  readonly #byAddress = new Map<string, RoutingNode>();
  /** The IPs in the table (with oneNodePerIp). */
  readonly #ips = new Set<string>();
  readonly #oneNodePerIp: boolean;

  constructor(ownId: Uint8Array, now: number, options: RoutingTableOptions = {}) {
    this.ownId = ownId;
    this.#buckets = [{ nodes: [], changedAt: now }];
    this.#oneNodePerIp = options.oneNodePerIp ?? true;
  }

  get size(): number {
    return this.#byAddress.size;
  }

  get bucketCount(): number {
    return this.#buckets.length;
  }

  status(n: RoutingNode, now: number): NodeStatus {
    if (n.failures >= MAX_NODE_FAILURES) return 'bad';
    return n.lastAnswer !== undefined && now - n.lastAnswer < GOOD_FOR_MS ? 'good' : 'questionable';
  }

  #bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixBits(this.ownId, id), this.#buckets.length - 1);
  }

  /** Whether a node not in the table could be taken once it answers (worth a ping). */
  mayTake(info: DhtNodeInfo): boolean {
    if (compareDistance(this.ownId, info.id, this.ownId) === 0) return false;
    if (this.#byAddress.has(addressKey(info))) return false;
    return !(this.#oneNodePerIp && this.#ips.has(info.host));
  }

  /**
   * A node was heard from: `answered` when it answered our query (it becomes good, and is taken
   * if there is room), else it sent us a query (only a node already in the table is updated).
   * Returns whether it is in the table now.
   */
  heard(info: DhtNodeInfo, now: number, answered: boolean): boolean {
    if (compareDistance(this.ownId, info.id, this.ownId) === 0) return false; // our own id
    const key = addressKey(info);
    const known = this.#byAddress.get(key);
    if (known !== undefined) {
      if (compareDistance(known.id, info.id, known.id) !== 0) return false; // another id at that address
      known.lastSeen = now;
      if (answered) {
        known.lastAnswer = now;
        known.failures = 0;
        this.#buckets[this.#bucketIndex(known.id)]!.changedAt = now;
      }
      return true;
    }
    if (!answered) return false; // not verified: the sender is pinged first
    if (this.#oneNodePerIp && this.#ips.has(info.host)) return false;
    for (;;) {
      const index = this.#bucketIndex(info.id);
      const bucket = this.#buckets[index]!;
      if (bucket.nodes.some((n) => compareDistance(n.id, info.id, n.id) === 0)) return false; // same id elsewhere
      const node: RoutingNode = {
        // A copy: a decoded id is a view of its datagram, which it would keep alive.
        id: new Uint8Array(info.id),
        host: info.host,
        port: info.port,
        lastAnswer: answered ? now : undefined,
        lastSeen: now,
        failures: 0,
      };
      if (bucket.nodes.length < K) {
        bucket.nodes.push(node);
        bucket.changedAt = now;
        this.#byAddress.set(key, node);
        this.#ips.add(node.host);
        return true;
      }
      const bad = bucket.nodes.findIndex((n) => this.status(n, now) === 'bad');
      if (bad >= 0) {
        this.#byAddress.delete(addressKey(bucket.nodes[bad]!));
        this.#ips.delete(bucket.nodes[bad]!.host);
        bucket.nodes[bad] = node;
        bucket.changedAt = now;
        this.#byAddress.set(key, node);
        this.#ips.add(node.host);
        return true;
      }
      const isLast = index === this.#buckets.length - 1;
      if (!isLast || this.#buckets.length >= NODE_ID_BITS) return false;
      this.#split(now);
    }
  }

  /** The last bucket (ours) becomes two: those sharing exactly `last` bits with us, and the rest. */
  #split(now: number): void {
    const last = this.#buckets.length - 1;
    const old = this.#buckets[last]!;
    const near: Bucket = { nodes: [], changedAt: now };
    const far: Bucket = { nodes: [], changedAt: old.changedAt };
    for (const n of old.nodes) (commonPrefixBits(this.ownId, n.id) > last ? near : far).nodes.push(n);
    this.#buckets[last] = far;
    this.#buckets.push(near);
  }

  /** A query to the node at this address went unanswered. */
  failed(host: string, port: number): void {
    const n = this.#byAddress.get(`${host}:${port}`);
    if (n !== undefined) n.failures++;
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

  /** Every node, bucket by bucket (for tests and invariants). */
  *nodes(): IterableIterator<{ depth: number; node: RoutingNode }> {
    for (const [depth, b] of this.#buckets.entries()) for (const node of b.nodes) yield { depth, node };
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
