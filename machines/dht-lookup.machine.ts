/**
 * One iterative DHT lookup (BEP 5): get_peers for an info-hash (or find_node for an id, when
 * bootstrapping or refreshing a bucket), then, when asked, announce_peer to the closest nodes that
 * gave a token. Pure: the driver (src/dht/dht.ts) sends each query the machine emits and reports
 * its fate back; the shortlist is `Shortlist` (machines/dht-shortlist.ts), held by reference.
 *
 *   active ── searching ──(k closest answered or failed, none in flight)──► settled
 *     │          ▲ node.answered / node.failed: ask more (α in flight)        │ announce?
 *     │                                                                       ├─ yes ─► announcing ──(each answered)──► done
 *     │                                                                       └─ no ──► done (final)
 *     ├──(lookupTimeout on the actor system's clock)──► timedOut (final)
 *     └──cmd.stop──► stopped (final)
 *
 * Emits `lookup.query` (ask this node), `lookup.peers` (peers not reported before, as they come),
 * `lookup.announce` (announce_peer to this node with its token).
 */
import { assign, enqueueActions, setup } from 'xstate';
import type { PeerAddress } from '../src/net/address.js';
import { type LookupNode, Shortlist, type ShortlistLimits } from './dht-shortlist.js';

export interface DhtLookupInput {
  readonly target: Uint8Array;
  /** get_peers finds peers of an info-hash; find_node only nodes. */
  readonly method: 'get_peers' | 'find_node';
  /** announce_peer to the closest nodes once settled (get_peers only). */
  readonly announce: boolean;
  /** Where to start: the routing table's closest nodes, or bootstrap routers (no id). */
  readonly seeds: readonly LookupNode[];
  readonly limits: ShortlistLimits;
  /** Give up after this long, whatever is in flight. */
  readonly timeoutMs: number;
}

export interface DhtLookupContext {
  readonly input: DhtLookupInput;
  readonly shortlist: Shortlist;
  /** announce_peer sent / still unanswered / answered. */
  announcesSent: number;
  announcesPending: number;
  announced: number;
  result: DhtLookupOutput['result'];
}

export type DhtLookupEvent =
  | {
      type: 'node.answered';
      node: string;
      id: Uint8Array;
      nodes: readonly LookupNode[];
      peers: readonly PeerAddress[];
      token?: Uint8Array;
    }
  | { type: 'node.failed'; node: string }
  | { type: 'announce.answered'; node: string }
  | { type: 'announce.failed'; node: string }
  | { type: 'cmd.stop' };

export type DhtLookupEmitted =
  | { type: 'lookup.query'; node: LookupNode }
  | { type: 'lookup.peers'; peers: readonly PeerAddress[] }
  | { type: 'lookup.announce'; node: LookupNode; token: Uint8Array };

export interface DhtLookupOutput {
  readonly result: 'done' | 'timedOut' | 'stopped';
  readonly queries: number;
  readonly answers: number;
  readonly failures: number;
  readonly peers: number;
  readonly announced: number;
  /** The k closest nodes that answered, closest first. */
  readonly closest: readonly { host: string; port: number; id: Uint8Array }[];
}

export const dhtLookupMachine = setup({
  types: {
    input: {} as DhtLookupInput,
    context: {} as DhtLookupContext,
    events: {} as DhtLookupEvent,
    emitted: {} as DhtLookupEmitted,
    output: {} as DhtLookupOutput,
  },
  delays: {
    lookupTimeout: ({ context }) => context.input.timeoutMs,
  },
  guards: {
    isSettled: ({ context }) => context.shortlist.settled,
    wantsAnnounce: ({ context }) =>
      context.input.announce && context.shortlist.closestAnswered().some((n) => n.token !== undefined),
    allAnnounced: ({ context }) => context.announcesPending === 0,
  },
  actions: {
    queryMore: enqueueActions(({ context, enqueue }) => {
      for (const node of context.shortlist.next()) enqueue.emit({ type: 'lookup.query', node });
    }),
    recordAnswer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'node.answered') return;
      const fresh = context.shortlist.answered(event.node, event.id, event.nodes, event.peers, event.token);
      if (fresh.length > 0) enqueue.emit({ type: 'lookup.peers', peers: fresh });
    }),
    recordFailure: ({ context, event }) => {
      if (event.type === 'node.failed') context.shortlist.failed(event.node);
    },
    announceToClosest: enqueueActions(({ context, enqueue }) => {
      let sent = 0;
      for (const n of context.shortlist.closestAnswered()) {
        if (n.token === undefined) continue;
        enqueue.emit({
          type: 'lookup.announce',
          node: { host: n.host, port: n.port, id: n.id },
          token: n.token,
        });
        sent++;
      }
      enqueue.assign({ announcesSent: sent, announcesPending: sent });
    }),
    countAnnounce: assign(({ context, event }) => ({
      announcesPending: Math.max(0, context.announcesPending - 1),
      announced: context.announced + (event.type === 'announce.answered' ? 1 : 0),
    })),
  },
}).createMachine({
  id: 'dhtLookup',
  context: ({ input }) => ({
    input,
    shortlist: new Shortlist(input.target, input.limits, input.seeds),
    announcesSent: 0,
    announcesPending: 0,
    announced: 0,
    result: 'stopped',
  }),
  initial: 'active',
  states: {
    active: {
      after: { lookupTimeout: 'timedOut' },
      on: { 'cmd.stop': 'stopped' },
      initial: 'searching',
      states: {
        searching: {
          entry: 'queryMore',
          always: { guard: 'isSettled', target: 'settled' },
          on: {
            'node.answered': { actions: ['recordAnswer', 'queryMore'] },
            'node.failed': { actions: ['recordFailure', 'queryMore'] },
          },
        },
        settled: {
          always: [{ guard: 'wantsAnnounce', target: 'announcing' }, { target: '#dhtLookup.done' }],
        },
        announcing: {
          entry: 'announceToClosest',
          always: { guard: 'allAnnounced', target: '#dhtLookup.done' },
          on: {
            'announce.answered': { actions: 'countAnnounce' },
            'announce.failed': { actions: 'countAnnounce' },
          },
        },
      },
    },
    done: { type: 'final', entry: assign({ result: 'done' as const }) },
    timedOut: { type: 'final', entry: assign({ result: 'timedOut' as const }) },
    stopped: { type: 'final', entry: assign({ result: 'stopped' as const }) },
  },
  output: ({ context }) => {
    const s = context.shortlist;
    return {
      result: context.result,
      queries: s.queries,
      answers: s.answers,
      failures: s.failures,
      peers: s.peerCount,
      announced: context.announced,
      closest: s.closestAnswered().map(({ host, port, id }) => ({ host, port, id })),
    };
  },
});
