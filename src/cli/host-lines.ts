/**
 * The lines `download A B …` and `seed A B …` both say on a terminal (download-many-display.ts,
 * seed-many-display.ts): news of the one host the torrents share — its listening port (once), the
 * DHT, LSD, its UDP port, the proxy's notices (each line once: the host says each once per run,
 * many-torrents.ts) — and a torrent's notices that read the same in both: a tracker that failed, a
 * banned peer, a hybrid's piece layers that disagree or could not be hashed. The peers the IP
 * filter blocked, counted by torrent (blocked-peers.ts), for their rows and their last lines.
 */
import { BlockedPeers } from '../session/blocked-peers.js';
import type { ManyTorrentsEvent } from '../session/many-torrents.js';
import { proxyNews, udpPortTakenNews } from './download-display.js';
import { lsdOffText, lsdReadyText } from './format.js';

/**
 * Says `e`'s line through `say` when it is one of those above (`tty`: the start-up ones only on a
 * terminal); true when `e` was one of them, false for the display's own events.
 */
export function createHostLines(
  say: (line: string) => void,
  tty: boolean,
  nameOf: (e: { infoHash?: string }) => string,
): (e: ManyTorrentsEvent) => boolean {
  let port: number | undefined;
  const proxySaid = new Set<string>();
  return (e) => {
    switch (e.type) {
      case 'listening':
        if (tty && port === undefined) say(`listening for peers on port ${e.port}`);
        port = e.port;
        return true;
      case 'dht.ready':
        if (tty) say(`DHT: ${e.nodes} node${e.nodes === 1 ? '' : 's'} (UDP port ${e.port})`);
        return true;
      case 'lsd.ready':
        if (tty) say(lsdReadyText(e.interfaces));
        return true;
      case 'lsd.off':
        say(lsdOffText(e.reason));
        return true;
      case 'udp.portTaken':
        say(udpPortTakenNews(e));
        return true;
      case 'proxy.udpOff':
      case 'proxy.failed':
      case 'proxy.localDns': {
        const line = proxyNews(e);
        if (!proxySaid.has(line)) say(line);
        proxySaid.add(line);
        return true;
      }
      case 'tracker.announce':
        if (!e.ok) say(`${nameOf(e)}: tracker ${e.url}: ${e.error ?? 'failed'}`);
        return true;
      case 'peer.banned':
        say(`${nameOf(e)}: banned ${e.address} (sent data that failed the hash check)`);
        return true;
      // BEP 52: what went wrong with a hybrid's piece layers (src/session/computed-piece-layers.ts).
      case 'metadata.layersInconsistent':
        say(
          `${nameOf(e)}: ${e.file} passed its v1 hashes but not its v2 pieces root (v1 and v2 hashes disagree): no piece layer served`,
        );
        return true;
      case 'metadata.layersNotComputed':
        say(`${nameOf(e)}: piece layers not hashed from the data: ${e.message}`);
        return true;
      default:
        return false;
    }
  };
}

/** The peers the IP filter blocked, by torrent, each host counted once (BlockedPeers). */
export class BlockedByTorrent {
  readonly #byTorrent = new Map<string, BlockedPeers>();

  /** Counts `address` for the torrent `infoHash` (a shared port's refusal names none: not counted). */
  add(infoHash: string | undefined, address: string): void {
    if (infoHash === undefined) return;
    let peers = this.#byTorrent.get(infoHash);
    if (peers === undefined) this.#byTorrent.set(infoHash, (peers = new BlockedPeers()));
    peers.add(address);
  }

  /** Distinct hosts blocked for `infoHash` so far. */
  count(infoHash: string | undefined): number {
    return infoHash === undefined ? 0 : (this.#byTorrent.get(infoHash)?.count ?? 0);
  }
}
