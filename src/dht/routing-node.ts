/**
 * A node of the routing table (routing-table.ts) and the choices a bucket makes between nodes.
 *
 * Its status (BEP 5): good when it answered one of our queries within GOOD_FOR_MS, bad once
 * MAX_NODE_FAILURES queries in a row went unanswered, else questionable.
 *
 * Verified or not (BEP 42, secure-node-id.ts): its id matches its IP, or its IP is local (exempt).
 * With the table's `preferVerifiedIds` (libtorrent's dht_prefer_verified_node_ids, on by default
 * there and here), a verified node is kept before an unverified one wherever a bucket must choose:
 * a verified newcomer meeting a full bucket with no bad node takes the place of its least recently
 * seen unverified node (`leastRecentUnverified`; that node is dropped, as libtorrent replaces the
 * "worse" node); a freed place goes to the most recent verified replacement first
 * (`replacementToTake`); a full replacement cache forgets its oldest unverified node first, and has
 * no room for an unverified newcomer when all it holds are verified (routing-table.ts). Pure.
 */
import type { DhtNodeInfo } from './compact.js';

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
  /** Its id matches its IP (BEP 42), or its IP is local (exempt). */
  readonly verified: boolean;
}

export type NodeStatus = 'good' | 'questionable' | 'bad';

export function nodeStatus(n: RoutingNode, now: number): NodeStatus {
  if (n.failures >= MAX_NODE_FAILURES) return 'bad';
  return n.lastAnswer !== undefined && now - n.lastAnswer < GOOD_FOR_MS ? 'good' : 'questionable';
}

/** The index of the least recently seen unverified node of `nodes`, or -1. */
export function leastRecentUnverified(nodes: readonly RoutingNode[]): number {
  let at = -1;
  for (const [i, n] of nodes.entries())
    if (!n.verified && (at < 0 || n.lastSeen < nodes[at]!.lastSeen)) at = i;
  return at;
}

/**
 * The replacement to take a freed place, taken out of `spares` (the most recent last): the most
 * recent of those not bad, verified ones first when `preferVerified`; a bad one only when `orBad`
 * (a split, where every replacement of a bucket with room goes live) and none is better.
 */
export function replacementToTake(
  spares: RoutingNode[],
  now: number,
  preferVerified: boolean,
  orBad = false,
): RoutingNode | undefined {
  const rank = (n: RoutingNode) =>
    (nodeStatus(n, now) === 'bad' ? 0 : 2) + (!preferVerified || n.verified ? 1 : 0);
  let at = -1;
  for (let i = spares.length - 1; i >= 0; i--) if (at < 0 || rank(spares[i]!) > rank(spares[at]!)) at = i;
  if (at < 0 || (!orBad && rank(spares[at]!) < 2)) return undefined;
  return spares.splice(at, 1)[0];
}
