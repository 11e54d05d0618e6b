import type { PeerKey } from './blocks.js';

/**
 * Which blocks are outstanding to which peer, as block ids (see PieceGeometry.blockId): the index
 * behind outstandingFor() and peerGone(). A peer with nothing outstanding has no entry, so memory
 * follows the requests in flight, not the peers ever seen.
 */
export class RequestLedger {
  readonly #byPeer = new Map<PeerKey, Set<number>>();
  #total = 0;

  /** Peer-block pairs in flight (an endgame block asked of two peers counts twice). */
  get total(): number {
    return this.#total;
  }

  get peers(): number {
    return this.#byPeer.size;
  }

  countFor(peer: PeerKey): number {
    return this.#byPeer.get(peer)?.size ?? 0;
  }

  add(peer: PeerKey, id: number): void {
    let set = this.#byPeer.get(peer);
    if (set === undefined) this.#byPeer.set(peer, (set = new Set()));
    if (set.has(id)) throw new Error(`block ${id} already outstanding to ${peer}`);
    set.add(id);
    this.#total++;
  }

  remove(peer: PeerKey, id: number): boolean {
    const set = this.#byPeer.get(peer);
    if (set === undefined || !set.delete(id)) return false;
    this.#total--;
    if (set.size === 0) this.#byPeer.delete(peer);
    return true;
  }

  /** Removes and returns everything outstanding to the peer. */
  takeAll(peer: PeerKey): number[] {
    const set = this.#byPeer.get(peer);
    if (set === undefined) return [];
    this.#byPeer.delete(peer);
    this.#total -= set.size;
    return [...set];
  }
}
