/**
 * The shortlist of one iterative DHT lookup (BEP 5, Kademlia): the nodes heard of, ordered by XOR
 * distance to the target, and what became of each (not yet asked / asked / answered / failed).
 * Pure data held by reference in the lookup machine (machines/dht-lookup.machine.ts).
 *
 * Rules: at most `alpha` queries in flight; the next asked is the closest not yet asked among the
 * `k` closest that have not failed (seeds without a known id — bootstrap routers — first); the
 * lookup has settled when none is in flight and each of those `k` has answered (or `maxQueries`
 * were sent). At most `maxCandidates` nodes are kept (the farthest are forgotten), and at most `k`
 * of the nodes one answer names. With `oneNodePerIp` (libtorrent's dht_restrict_search_ips), a
 * node an answer names in an IPv4 /24 the shortlist already holds is not taken, as libtorrent masks
 * the lower octet: one host with many ports and made-up ids next to the target — or a few hosts of
 * one subnet — would otherwise fill the k closest and take our announce. The nodes the lookup starts
 * from (routers, the routing table's, which has its own limits) are neither checked nor counted,
 * as libtorrent exempts its initial nodes (`flag_initial`).
 */

import { subnetOf } from '../src/dht/subnet.js';
import { compareDistance } from '../src/dht/xor-distance.js';
import type { PeerAddress } from '../src/net/address.js';

/** A node to ask: where, and its id when known (a bootstrap router's is not). */
export interface LookupNode {
  readonly host: string;
  readonly port: number;
  readonly id?: Uint8Array;
}

type Fate = 'new' | 'asked' | 'answered' | 'failed';

interface Candidate {
  readonly key: string;
  readonly host: string;
  readonly port: number;
  id: Uint8Array | undefined;
  fate: Fate;
  token: Uint8Array | undefined;
}

export interface ShortlistLimits {
  readonly k: number;
  readonly alpha: number;
  readonly maxQueries: number;
  readonly maxCandidates: number;
  /** One candidate per IPv4 /24 among those answers named (default false; the driver turns it on off loopback). */
  readonly oneNodePerIp?: boolean;
}

/** Distinct peers remembered per lookup (duplicates from several nodes are reported once). */
export const MAX_LOOKUP_PEERS = 1000;

export function nodeKey(n: { host: string; port: number }): string {
  return `${n.host}:${n.port}`;
}

export class Shortlist {
  readonly target: Uint8Array;
  readonly limits: ShortlistLimits;
  readonly #byKey = new Map<string, Candidate>();
  /** Candidates with a known id, closest first. */
  #ranked: Candidate[] = [];
  /** Seeds without an id, in the order given. */
  readonly #seeds: Candidate[] = [];
  readonly #peers = new Set<string>();
  /** The /24s of the candidates answers named (with oneNodePerIp). */
  readonly #subnets = new Map<string, Candidate>();
  inFlight = 0;
  queries = 0;
  answers = 0;
  failures = 0;

  constructor(target: Uint8Array, limits: ShortlistLimits, seeds: readonly LookupNode[]) {
    this.target = target;
    this.limits = limits;
    this.#add(seeds, false);
  }

  /** Nodes an answer named (the IP restriction applies). */
  add(nodes: readonly LookupNode[]): void {
    this.#add(nodes, this.limits.oneNodePerIp === true);
  }

  #add(nodes: readonly LookupNode[], restrict: boolean): void {
    let changed = false;
    for (const n of nodes) {
      const key = nodeKey(n);
      if (this.#byKey.has(key)) continue;
      const subnet = subnetOf(n.host);
      if (restrict && this.#subnets.has(subnet)) continue;
      const c: Candidate = { key, host: n.host, port: n.port, id: n.id, fate: 'new', token: undefined };
      if (n.id === undefined) {
        if (this.#seeds.length >= this.limits.maxCandidates) continue;
        this.#seeds.push(c);
      } else {
        this.#ranked.push(c);
        changed = true;
      }
      this.#byKey.set(key, c);
      if (restrict) this.#subnets.set(subnet, c);
    }
    if (changed) this.#rank();
  }

  #rank(): void {
    this.#ranked.sort((a, b) => compareDistance(this.target, a.id!, b.id!));
    // Forget the farthest, but never one in flight (its answer is still awaited).
    while (this.#ranked.length > this.limits.maxCandidates) {
      let i = this.#ranked.length - 1;
      while (i >= 0 && this.#ranked[i]!.fate === 'asked') i--;
      if (i < 0) break;
      const gone = this.#ranked[i]!;
      this.#byKey.delete(gone.key);
      const subnet = subnetOf(gone.host);
      if (this.#subnets.get(subnet) === gone) this.#subnets.delete(subnet);
      this.#ranked.splice(i, 1);
    }
  }

  /** The `k` closest with a known id that have not failed. */
  #closest(): Candidate[] {
    const out: Candidate[] = [];
    for (const c of this.#ranked) {
      if (c.fate === 'failed') continue;
      out.push(c);
      if (out.length >= this.limits.k) break;
    }
    return out;
  }

  /** Marks and returns the nodes to ask now (at most alpha in flight). */
  next(): LookupNode[] {
    const out: LookupNode[] = [];
    const take = (c: Candidate) => {
      c.fate = 'asked';
      this.inFlight++;
      this.queries++;
      out.push(
        c.id === undefined ? { host: c.host, port: c.port } : { host: c.host, port: c.port, id: c.id },
      );
    };
    const room = () => this.inFlight < this.limits.alpha && this.queries < this.limits.maxQueries;
    for (const c of this.#seeds) {
      if (!room()) return out;
      if (c.fate === 'new') take(c);
    }
    for (const c of this.#closest()) {
      if (!room()) return out;
      if (c.fate === 'new') take(c);
    }
    return out;
  }

  /** An answer: the node's id, the nodes it named, its token; returns the peers not seen before. */
  answered(
    node: string,
    id: Uint8Array,
    nodes: readonly LookupNode[],
    peers: readonly PeerAddress[],
    token: Uint8Array | undefined,
  ): PeerAddress[] {
    const c = this.#byKey.get(node);
    if (c === undefined || c.fate !== 'asked') return [];
    c.fate = 'answered';
    c.token = token;
    this.inFlight--;
    this.answers++;
    if (c.id === undefined) {
      // A seed: it now has an id, and ranks like the others (unless another node has that id).
      c.id = id;
      if (!this.#ranked.some((r) => compareDistance(r.id!, id, r.id!) === 0)) {
        this.#ranked.push(c);
        this.#rank();
      }
    }
    // At most k of one answer (BEP 5 answers carry K): a node naming a datagram's worth (78) of
    // made-up nodes next to the target would have each asked and waited out, α at a time.
    this.add(nodes.length > this.limits.k ? nodes.slice(0, this.limits.k) : nodes);
    const fresh: PeerAddress[] = [];
    for (const p of peers) {
      const key = nodeKey(p);
      if (this.#peers.has(key) || this.#peers.size >= MAX_LOOKUP_PEERS) continue;
      this.#peers.add(key);
      fresh.push(p);
    }
    return fresh;
  }

  failed(node: string): void {
    const c = this.#byKey.get(node);
    if (c === undefined || c.fate !== 'asked') return;
    c.fate = 'failed';
    this.inFlight--;
    this.failures++;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** None in flight, and nothing left to ask (or the query budget spent). */
  get settled(): boolean {
    if (this.inFlight > 0) return false;
    if (this.queries >= this.limits.maxQueries) return true;
    if (this.#seeds.some((c) => c.fate === 'new')) return false;
    return this.#closest().every((c) => c.fate === 'answered');
  }

  /** The `k` closest that answered (with their tokens, for announce_peer). */
  closestAnswered(): { host: string; port: number; id: Uint8Array; token: Uint8Array | undefined }[] {
    return this.#ranked
      .filter((c) => c.fate === 'answered')
      .slice(0, this.limits.k)
      .map((c) => ({ host: c.host, port: c.port, id: c.id!, token: c.token }));
  }

  toJSON() {
    return {
      candidates: this.#byKey.size,
      inFlight: this.inFlight,
      queries: this.queries,
      answers: this.answers,
      failures: this.failures,
      peers: this.#peers.size,
    };
  }
}
