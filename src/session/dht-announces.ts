/**
 * A session's use of the DHT (BEP 5): a node on the given UDP port (the TCP listening port, as
 * libtorrent and Transmission do; any port when that one is taken), bootstrapped from the routers,
 * then a get_peers lookup for the info-hash at once and every `reannounceMs` (15 minutes, as
 * libtorrent's dht_announce_interval), announcing our TCP port when `announcePort` is given. Peers
 * go to `onPeers` as the lookups find them. Never for a private torrent (BEP 27): the callers check.
 * A hybrid torrent (BEP 52) is in two swarms: each round looks up and announces both its hashes
 * (`otherInfoHash`, the v2 one, after the v1), as libtorrent does.
 *
 * A node already running may be given (`dht`): a magnet's metadata fetch hands its node to the
 * download after it (download-magnet.ts), so one node bootstraps once, on one port. It is then the
 * giver's to close, and to report: `dht.ready` comes once per node, from its owner (before, a
 * magnet download said it twice, once from the fetch and once from the download); `close()` stops
 * only this session's lookups.
 *
 * A bound UDP endpoint may be given instead (`endpoint`, src/net/udp-endpoint.ts): the one socket
 * the session shares between the DHT and uTP, at the TCP listening port's number. The node then
 * runs on it and leaves it open at close: it is the session's to close.
 */
import { type Dht, type DhtReady, startDht } from '../dht/dht.js';
import type { PeerAddress } from '../net/address.js';
import type { UdpEndpoint } from '../net/udp-endpoint.js';
import type { DhtEvent } from './download-event.js';

/** Between two lookups of a running session (libtorrent: 15 min). */
export const DHT_REANNOUNCE_MS = 15 * 60_000;

/** What turns the DHT on for download() / seed() / a magnet's fetch (library default: off). */
export interface DhtSettings {
  /** Routers to bootstrap from (HOST:PORT; names resolved). */
  readonly bootstrap: readonly PeerAddress[];
  /** Address to bind (default: 127.0.0.1 when every router is loopback, else 0.0.0.0). */
  readonly host?: string;
  readonly queryTimeoutMs?: number;
  /** Between two lookups of a download or seed (default DHT_REANNOUNCE_MS; a fetch's own is 30 s). */
  readonly reannounceMs?: number;
  /**
   * Where the node id and good nodes are kept between runs (src/dht/dht-state.ts: loaded at start,
   * saved at close, only into a folder that exists); the CLI's is `DIR/.bitstate/dht.dat`. Off when
   * absent.
   */
  readonly statePath?: string;
}

/** The `dht.ready` event of a node whose bootstrap has settled. */
export function dhtReadyEvent(dht: Dht, r: DhtReady): DhtEvent {
  return {
    type: 'dht.ready',
    port: dht.port,
    nodes: r.nodes,
    savedNodes: r.savedNodes,
    fromSaved: r.fromSaved,
    ...(r.stateError === undefined ? {} : { stateError: r.stateError.message }),
  };
}

/**
 * A node for a session on `port` (the TCP listening port's number), any port when that one is
 * taken; or on `endpoint`, bound already (`settings.host` and `port` are then its own).
 */
export async function openSessionDht(
  settings: DhtSettings,
  port: number,
  endpoint?: UdpEndpoint,
): Promise<Dht> {
  const base = {
    bootstrap: settings.bootstrap,
    ...(settings.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: settings.queryTimeoutMs }),
    ...(settings.statePath === undefined ? {} : { statePath: settings.statePath }),
  };
  if (endpoint !== undefined) return startDht({ ...base, endpoint });
  const bind = { ...base, ...(settings.host === undefined ? {} : { host: settings.host }) };
  try {
    return await startDht({ ...bind, port });
  } catch {
    // The UDP port is taken (by another client's DHT): any port will do for queries.
    return startDht({ ...bind, port: 0 });
  }
}

export interface DhtAnnounces {
  close(): Promise<void>;
}

export async function startDhtAnnounces(
  settings: DhtSettings,
  o: {
    readonly port: number;
    readonly infoHash: Uint8Array;
    /**
     * A hybrid's v2 swarm (BEP 52): looked up and announced under this hash too, each round after
     * `infoHash` (libtorrent announces a hybrid under both); its peers come with `swarm` 'v2'.
     */
    readonly otherInfoHash?: Uint8Array;
    readonly announcePort?: number;
    readonly onPeers: (peers: readonly PeerAddress[], swarm?: 'v2') => void;
    readonly emit: (e: DhtEvent) => void;
    readonly reannounceMs?: number;
    /** A node already running, used instead of opening one (neither reported nor closed here). */
    readonly dht?: Dht;
    /** The session's shared UDP socket, for the node opened here (left open at close); unused with `dht`. */
    readonly endpoint?: UdpEndpoint;
  },
): Promise<DhtAnnounces> {
  const dht = o.dht ?? (await openSessionDht(settings, o.port, o.endpoint));
  const lookups = new AbortController();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake = () => {};
  const stopped = new Promise<void>((resolve) => lookups.signal.addEventListener('abort', () => resolve()));
  const loop = async () => {
    // A node given us may still be bootstrapping when we close: we do not wait for it.
    const ready = await Promise.race([dht.ready, stopped]);
    if (closed || ready === undefined) return;
    // Once per node: a node given us is its owner's to report.
    if (o.dht === undefined) o.emit(dhtReadyEvent(dht, ready));
    const swarms: [Uint8Array, 'v2' | undefined][] = [[o.infoHash, undefined]];
    if (o.otherInfoHash !== undefined) swarms.push([o.otherInfoHash, 'v2']);
    while (!closed) {
      for (const [infoHash, swarm] of swarms) {
        const started = performance.now();
        const r = await dht.getPeers(infoHash, {
          ...(o.announcePort === undefined ? {} : { announcePort: o.announcePort }),
          signal: lookups.signal,
          onPeers: (peers) => {
            if (!closed) o.onPeers(peers, swarm);
          },
        });
        if (closed) return;
        o.emit({
          type: 'dht.peers',
          peers: r.peers,
          queries: r.queries,
          announced: r.announced,
          nodes: dht.node.table.size,
          elapsedMs: Math.round(performance.now() - started),
        });
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, o.reannounceMs ?? settings.reannounceMs ?? DHT_REANNOUNCE_MS);
      });
    }
  };
  const running = loop();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      wake();
      lookups.abort();
      // Closing our own node stops its lookups (the bootstrap's too): the loop then ends at once.
      // A node given us is left running, with this session's lookup stopped.
      if (o.dht === undefined) await dht.close();
      await running;
    },
  };
}
