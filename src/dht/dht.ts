/**
 * `startDht(options)`: a Mainline DHT node (BEP 5) for a session — bootstraps from the given
 * routers (find_node on our own id), keeps its routing table fresh (a find_node into each bucket
 * unchanged for REFRESH_AFTER_MS, a ping to quiet questionable nodes), and runs lookups:
 *
 *   const dht = await startDht({ port: 6881, bootstrap: [{ host: 'router.bittorrent.com', port: 6881 }] });
 *   await dht.ready;                                  // { nodes } once the bootstrap lookup settled
 *   const r = await dht.getPeers(infoHash, { announcePort: 6881, onPeers: (peers) => … });
 *   await dht.close();
 *
 * Each lookup is a machines/dht-lookup.machine.ts actor; this file sends the queries it emits
 * through the DhtNode (dht-node.ts) and tells it what came back.
 *
 * With `statePath`, the node id and nodes saved there by an earlier run (dht-state.ts) are loaded
 * before the socket opens: the id is ours again, each saved node is pinged at once (as Transmission
 * pings its dht.dat's nodes), and the bootstrap lookup starts from the routers and those that
 * answered (a saved node that does not answer is dropped like any other). The table's good nodes
 * are saved there when the node closes, and every DHT_STATE_SAVE_MS while it runs (a crash loses at
 * most that much).
 *
 * BEP 42: once the nodes answering us have voted our external address (dht-node.ts), our id becomes
 * one derived from it and the table is rebuilt around it; a find_node on the new id then fills the
 * buckets near it, as the bootstrap did near the old one. The saved id is kept only if it is valid
 * for the saved external address (dht-state.ts's savedNodeId).
 */
import { lookup as resolveHost } from 'node:dns/promises';
import { createActor } from 'xstate';
import { type DhtLookupOutput, dhtLookupMachine } from '../../machines/dht-lookup.machine.js';
import { type LookupNode, nodeKey } from '../../machines/dht-shortlist.js';
import type { PeerAddress } from '../net/address.js';
import { isDialableHost } from '../net/dialable-host.js';
import { DhtError } from './dht-error.js';
import { DhtNode, type DhtNodeSocket, isLoopback } from './dht-node.js';
import {
  DHT_STATE_SAVE_MS,
  loadDhtState,
  pingSavedNodes,
  savedNodeId,
  saveTableState,
  usableSavedNodes,
} from './dht-state.js';
import { compareDistance, idInBucket } from './node-id.js';
import { addressKey, K } from './routing-table.js';

/** Queries in flight per lookup (BEP 5 / Kademlia's α). */
export const ALPHA = 3;
/** Queries one lookup may send at most. */
export const MAX_LOOKUP_QUERIES = 200;
/** Nodes one lookup remembers at most. */
export const MAX_LOOKUP_CANDIDATES = 200;
/** A lookup gives up after this long. */
export const LOOKUP_TIMEOUT_MS = 60_000;
/** Lookups running at once; more wait their turn. */
export const MAX_CONCURRENT_LOOKUPS = 8;
/** A bucket nothing changed in for this long is refreshed (BEP 5: 15 minutes). */
export const REFRESH_AFTER_MS = 15 * 60_000;
/** How often the table is looked at for refresh, and the bootstrap retried when it is empty. */
export const REFRESH_CHECK_MS = 60_000;
/** Questionable nodes pinged per check at most. */
export const MAX_PINGS_PER_CHECK = 16;

/**
 * The node's UDP socket (DhtNodeSocket): `port` (the TCP listening port, as libtorrent and
 * Transmission use; 0 = any) and `host` to bind one (default 127.0.0.1 when every router is a
 * loopback address, else 0.0.0.0), or a bound `endpoint` shared with uTP, left open at close.
 */
export type DhtOptions = DhtNodeSocket & {
  readonly bootstrap: readonly PeerAddress[];
  readonly queryTimeoutMs?: number;
  readonly id?: Uint8Array;
  readonly signal?: AbortSignal;
  /** Buckets unchanged this long are refreshed (default REFRESH_AFTER_MS). */
  readonly refreshAfterMs?: number;
  /** How often the table is looked at (default REFRESH_CHECK_MS). */
  readonly refreshCheckMs?: number;
  /**
   * One routing table place per IP and per IPv4 /24 in a bucket (libtorrent's
   * dht_restrict_routing_ips; default: on unless bound to a loopback address).
   */
  readonly restrictRoutingIps?: boolean;
  /**
   * One node per IPv4 /24 among those answers name in a lookup's shortlist (libtorrent's
   * dht_restrict_search_ips; default: on
   * unless bound to a loopback address, where every node shares 127.0.0.1).
   */
  readonly restrictSearchIps?: boolean;
  /** A router's name to its IPv4 address (default: the system's resolver, `dns.lookup`). */
  readonly resolveHost?: (host: string) => Promise<string>;
  /**
   * A file to load our node id and nodes from at start and to save them to at close (dht-state.ts;
   * saved only when its folder exists). Off when absent.
   */
  readonly statePath?: string;
  /** How often the state is saved while running, beside at close (default DHT_STATE_SAVE_MS). */
  readonly saveEveryMs?: number;
};

/** What `ready` says once the bootstrap lookup has settled. */
export interface DhtReady {
  /** Nodes in the routing table. */
  readonly nodes: number;
  /** Nodes the saved state named (statePath), pinged before the bootstrap lookup. */
  readonly savedNodes: number;
  /** Of the table's nodes, those the saved state named (they answered). */
  readonly fromSaved: number;
  /** Why the saved state was ignored (unreadable, oversized, not ours): the bootstrap went without it. */
  readonly stateError?: DhtError;
}

export interface GetPeersOptions {
  /** Announce ourselves (announce_peer) at this TCP port to the closest nodes once settled. */
  readonly announcePort?: number;
  /** Peers as they come, each reported once per lookup. */
  readonly onPeers?: (peers: readonly PeerAddress[]) => void;
  /** Stops this lookup (its output then says stopped); the node runs on. */
  readonly signal?: AbortSignal;
}

export interface Dht {
  readonly port: number;
  readonly node: DhtNode;
  /** Settles once the bootstrap lookup has (never rejects): the routing table's size then. */
  readonly ready: Promise<DhtReady>;
  getPeers(infoHash: Uint8Array, options?: GetPeersOptions): Promise<DhtLookupOutput>;
  findNode(target: Uint8Array): Promise<DhtLookupOutput>;
  close(): Promise<void>;
}

export { isLoopback };

export async function startDht(options: DhtOptions): Promise<Dht> {
  const endpoint = options.endpoint;
  const host =
    endpoint?.host ??
    options.host ??
    (options.bootstrap.every((r) => isLoopback(r.host)) ? '127.0.0.1' : '0.0.0.0');
  const loaded = options.statePath === undefined ? undefined : await loadDhtState(options.statePath);
  const state = loaded instanceof DhtError ? undefined : loaded;
  const id = options.id ?? savedNodeId(state);
  const node = await DhtNode.open({
    ...(state?.ip === undefined ? {} : { externalAddress: state.ip }),
    ...(endpoint === undefined ? { host, port: options.port } : { endpoint }),
    ...(options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: options.queryTimeoutMs }),
    ...(id === undefined ? {} : { id }),
    ...(options.restrictRoutingIps === undefined ? {} : { restrictRoutingIps: options.restrictRoutingIps }),
  });
  const now = () => performance.now();
  const restrictSearchIps = options.restrictSearchIps ?? !isLoopback(host);
  const resolveRouter =
    options.resolveHost ?? (async (host: string) => (await resolveHost(host, { family: 4 })).address);
  const running = new Set<{ stop: () => void }>();
  /** Resolves when closed: a name lookup of a router (seconds when DNS is down) waits no longer. */
  let markClosed = () => {};
  const whenClosed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const queue: (() => void)[] = [];
  let closed = false;

  const runLookup = async (
    target: Uint8Array,
    method: 'get_peers' | 'find_node',
    seeds: readonly LookupNode[],
    lookupOptions: GetPeersOptions = {},
  ): Promise<DhtLookupOutput> => {
    if (running.size >= MAX_CONCURRENT_LOOKUPS) await new Promise<void>((r) => queue.push(r));
    if (closed || lookupOptions.signal?.aborted === true)
      return { result: 'stopped', queries: 0, answers: 0, failures: 0, peers: 0, announced: 0, closest: [] };
    const actor = createActor(dhtLookupMachine, {
      input: {
        target,
        method,
        announce: lookupOptions.announcePort !== undefined,
        seeds,
        limits: {
          k: K,
          alpha: ALPHA,
          maxQueries: MAX_LOOKUP_QUERIES,
          maxCandidates: MAX_LOOKUP_CANDIDATES,
          oneNodePerIp: restrictSearchIps,
        },
        timeoutMs: LOOKUP_TIMEOUT_MS,
      },
    });
    const live = () => actor.getSnapshot().status === 'active';
    actor.on('lookup.query', ({ node: to }) => {
      const query =
        method === 'get_peers'
          ? ({ q: 'get_peers', id: node.id, infoHash: target } as const)
          : ({ q: 'find_node', id: node.id, target } as const);
      void node.query(to, query).then((r) => {
        if (!live()) return;
        if (r === undefined) return actor.send({ type: 'node.failed', node: nodeKey(to) });
        actor.send({
          type: 'node.answered',
          node: nodeKey(to),
          id: r.id,
          // Ourselves, as another node knows us: never asked (we would announce to ourselves); nor a
          // host no node listens at (0.0.0.0:p reaches whatever listens at p on our own host).
          nodes: (r.nodes ?? []).filter(
            (n) => compareDistance(node.id, n.id, node.id) !== 0 && isDialableHost(n.host),
          ),
          // Only hosts a peer can listen at, as for a tracker's and a ut_pex message's peers
          // (0.0.0.0:p would be dialled as our own host; multicast, broadcast reach no peer).
          peers: (r.values ?? []).filter((p) => isDialableHost(p.host)),
          ...(r.token === undefined ? {} : { token: r.token }),
        });
      });
    });
    actor.on('lookup.peers', ({ peers }) => lookupOptions.onPeers?.(peers));
    actor.on('lookup.announce', ({ node: to, token }) => {
      void node
        .query(to, {
          q: 'announce_peer',
          id: node.id,
          infoHash: target,
          port: lookupOptions.announcePort ?? 0,
          impliedPort: false,
          token,
        })
        .then((r) => {
          if (live())
            actor.send({
              type: r === undefined ? 'announce.failed' : 'announce.answered',
              node: nodeKey(to),
            });
        });
    });
    const handle = { stop: () => actor.send({ type: 'cmd.stop' }) };
    lookupOptions.signal?.addEventListener('abort', handle.stop, { once: true });
    const output = new Promise<DhtLookupOutput>((resolve) =>
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!) }),
    );
    running.add(handle);
    actor.start();
    try {
      return await output;
    } finally {
      lookupOptions.signal?.removeEventListener('abort', handle.stop);
      running.delete(handle);
      queue.shift()?.();
    }
  };

  const closestKnown = (target: Uint8Array): LookupNode[] =>
    node.table.closest(target, K * 2, now()).map((n) => ({ host: n.host, port: n.port, id: n.id }));

  /** The closest known nodes; the routers too while the table holds fewer than K. */
  const seedsFor = async (target: Uint8Array): Promise<LookupNode[]> => {
    const known = closestKnown(target);
    return known.length >= K ? known : [...known, ...(await routers())];
  };

  const routers = async (): Promise<LookupNode[]> => {
    if (closed) return [];
    const out: LookupNode[] = [];
    const resolving = Promise.all(
      options.bootstrap.map(async (r) => {
        try {
          out.push({ host: await resolveRouter(r.host), port: r.port });
        } catch {
          // an unresolvable router is skipped; the others may do
        }
      }),
    );
    await Promise.race([resolving, whenClosed]);
    return closed ? [] : out;
  };

  // Pinged by the first bootstrap only, all at once (≤ MAX_DHT_STATE_NODES, within
  // MAX_PENDING_QUERIES): one that answers enters the table, and the lookup starts, once K have
  // answered or all have settled, from the routers and the closest known. Given to the lookup as
  // candidates instead, saved nodes gone since (closer to our id than any live node: they were the
  // closest when saved) were waited out α at a time before any live node was asked: 200 of them
  // took the bootstrap to its 60 s timeout with only the router in the table (docs/dht.md).
  const saved: LookupNode[] = usableSavedNodes(state, node.id, isLoopback(host));
  const bootstrap = async (pinged: readonly LookupNode[] = []): Promise<void> => {
    const [fromRouters] = await Promise.all([routers(), pingSavedNodes(node, pinged)]);
    await runLookup(node.id, 'find_node', [...fromRouters, ...closestKnown(node.id)]);
  };
  const readyNow = (): DhtReady => {
    const savedKeys = new Set(saved.map(addressKey));
    let fromSaved = 0;
    for (const { node: n } of node.table.nodes()) if (savedKeys.has(addressKey(n))) fromSaved++;
    return {
      nodes: node.table.size,
      savedNodes: saved.length,
      fromSaved,
      ...(loaded instanceof DhtError ? { stateError: loaded } : {}),
    };
  };
  const ready = bootstrap(saved).then(readyNow, readyNow);

  const refreshAfterMs = options.refreshAfterMs ?? REFRESH_AFTER_MS;
  let refreshing = false;
  const refresh = async () => {
    if (refreshing || closed) return;
    refreshing = true;
    try {
      const t = now();
      if (node.table.size === 0) {
        await bootstrap();
        return;
      }
      for (const n of node.table.questionable(t, refreshAfterMs).slice(0, MAX_PINGS_PER_CHECK))
        void node.query(n, { q: 'ping', id: node.id });
      for (const depth of node.table.staleBuckets(t, refreshAfterMs)) {
        if (closed) return;
        node.table.touchBucket(depth, t);
        const target = idInBucket(node.id, depth);
        await runLookup(target, 'find_node', closestKnown(target));
      }
    } finally {
      refreshing = false;
    }
  };
  const timer = setInterval(() => void refresh(), options.refreshCheckMs ?? REFRESH_CHECK_MS);
  timer.unref();

  // A new id (BEP 42): look it up once the bootstrap has settled, to fill the buckets near it.
  const stopIdWatch = node.onIdChanged((newId) => {
    void ready.then(() => {
      if (!closed && node.id === newId) return runLookup(newId, 'find_node', closestKnown(newId));
    });
  });

  /** Saves one at a time: a periodic save and the one at close never write at once. */
  let saving = Promise.resolve();
  const save = (): Promise<void> => {
    const statePath = options.statePath;
    if (statePath === undefined) return saving;
    saving = saving.then(() => saveTableState(statePath, node.table, now(), node.externalAddress));
    return saving;
  };
  const saveTimer = setInterval(() => void save(), options.saveEveryMs ?? DHT_STATE_SAVE_MS);
  saveTimer.unref();

  /** The one closing: a second close (or the abort signal's) waits for the save like the first. */
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= shutDown();
    return closing;
  };
  const shutDown = async () => {
    closed = true;
    markClosed();
    clearInterval(timer);
    clearInterval(saveTimer);
    stopIdWatch();
    for (const h of running) h.stop();
    for (const wake of queue.splice(0)) wake();
    options.signal?.removeEventListener('abort', onAbort);
    await save();
    await node.close();
  };
  const onAbort = () => void close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted === true) await close();

  return {
    port: node.port,
    node,
    ready,
    getPeers: async (infoHash, o = {}) => {
      // Before the bootstrap has settled the table may be empty: wait for it.
      await ready;
      return runLookup(infoHash, 'get_peers', await seedsFor(infoHash), o);
    },
    findNode: async (target) => {
      await ready;
      return runLookup(target, 'find_node', await seedsFor(target));
    },
    close,
  };
}
