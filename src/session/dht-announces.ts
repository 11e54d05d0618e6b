/**
 * A session's use of the DHT (BEP 5): a node on the given UDP port (the TCP listening port, as
 * libtorrent and Transmission do; any port when that one is taken), bootstrapped from the routers,
 * then a get_peers lookup for the info-hash at once and every `reannounceMs` (15 minutes, as
 * libtorrent's dht_announce_interval), announcing our TCP port when `announcePort` is given. Peers
 * go to `onPeers` as the lookups find them. Never for a private torrent (BEP 27): the callers check.
 */
import { type Dht, startDht } from '../dht/dht.js';
import type { PeerAddress } from '../net/address.js';
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
}

export interface DhtAnnounces {
  close(): Promise<void>;
}

export async function startDhtAnnounces(
  settings: DhtSettings,
  o: {
    readonly port: number;
    readonly infoHash: Uint8Array;
    readonly announcePort?: number;
    readonly onPeers: (peers: readonly PeerAddress[]) => void;
    readonly emit: (e: DhtEvent) => void;
    readonly reannounceMs?: number;
  },
): Promise<DhtAnnounces> {
  const base = {
    bootstrap: settings.bootstrap,
    ...(settings.host === undefined ? {} : { host: settings.host }),
    ...(settings.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: settings.queryTimeoutMs }),
  };
  let dht: Dht;
  try {
    dht = await startDht({ ...base, port: o.port });
  } catch {
    // The UDP port is taken (by another client's DHT): any port will do for queries.
    dht = await startDht({ ...base, port: 0 });
  }
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake = () => {};
  const loop = async () => {
    const { nodes } = await dht.ready;
    if (closed) return;
    o.emit({ type: 'dht.ready', port: dht.port, nodes });
    while (!closed) {
      const started = performance.now();
      const r = await dht.getPeers(o.infoHash, {
        ...(o.announcePort === undefined ? {} : { announcePort: o.announcePort }),
        onPeers: (peers) => {
          if (!closed) o.onPeers(peers);
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
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, o.reannounceMs ?? DHT_REANNOUNCE_MS);
      });
    }
  };
  const running = loop();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      wake();
      // Closing the node stops its lookups (the bootstrap's too): the loop then ends at once.
      await dht.close();
      await running;
    },
  };
}
