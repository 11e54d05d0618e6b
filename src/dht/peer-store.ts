/**
 * Peers announced to us (announce_peer), answered to get_peers, as libtorrent's dht_storage:
 * at most MAX_STORED_TORRENTS info-hashes and MAX_PEERS_PER_TORRENT peers each, every entry
 * forgotten PEER_LIFETIME_MS after its last announce. When full, a new info-hash is refused and a
 * new peer of a full torrent replaces its oldest; so a flood of announces costs bounded memory.
 */
import type { PeerAddress } from '../net/address.js';

export const PEER_LIFETIME_MS = 30 * 60_000;
export const MAX_STORED_TORRENTS = 2000;
export const MAX_PEERS_PER_TORRENT = 500;
/** Peers in one get_peers answer: 50 × 6 bytes keeps the datagram well under an MTU. */
export const MAX_VALUES_PER_RESPONSE = 50;

export class PeerStore {
  /** info-hash (hex) → address key → [peer, announced at]; Map order is age order. */
  readonly #torrents = new Map<string, Map<string, { peer: PeerAddress; at: number }>>();

  get torrentCount(): number {
    return this.#torrents.size;
  }

  get peerCount(): number {
    let n = 0;
    for (const t of this.#torrents.values()) n += t.size;
    return n;
  }

  announce(infoHashHex: string, peer: PeerAddress, now: number): boolean {
    let t = this.#torrents.get(infoHashHex);
    if (t === undefined) {
      if (this.#torrents.size >= MAX_STORED_TORRENTS) this.expire(now);
      if (this.#torrents.size >= MAX_STORED_TORRENTS) return false;
      t = new Map();
      this.#torrents.set(infoHashHex, t);
    }
    const key = `${peer.host}:${peer.port}`;
    t.delete(key); // re-announced: to the end (youngest)
    if (t.size >= MAX_PEERS_PER_TORRENT) t.delete(t.keys().next().value!);
    t.set(key, { peer, at: now });
    return true;
  }

  /** Up to MAX_VALUES_PER_RESPONSE live peers of the torrent, the youngest first. */
  peers(infoHashHex: string, now: number): PeerAddress[] {
    const t = this.#torrents.get(infoHashHex);
    if (t === undefined) return [];
    const out: PeerAddress[] = [];
    for (const [key, e] of t) if (now - e.at >= PEER_LIFETIME_MS) t.delete(key);
    if (t.size === 0) this.#torrents.delete(infoHashHex);
    for (const e of [...t.values()].reverse()) {
      if (out.length >= MAX_VALUES_PER_RESPONSE) break;
      out.push(e.peer);
    }
    return out;
  }

  /** Forgets every entry older than PEER_LIFETIME_MS. */
  expire(now: number): void {
    for (const [hash, t] of this.#torrents) {
      for (const [key, e] of t) {
        // Entries are in age order: the first young one ends the walk.
        if (now - e.at < PEER_LIFETIME_MS) break;
        t.delete(key);
      }
      if (t.size === 0) this.#torrents.delete(hash);
    }
  }
}
