/**
 * Suspect pieces (docs/machines.md, "The ban rule"): pieces that failed their hash with several
 * contributors. Each is fetched again from ONE peer, its owner: the first peer handed a block of it
 * while it has none. The owner choking or leaving frees the piece for another owner.
 *
 * A peer that let a suspect go may not own it again for SUSPECT_BAR_MS while it waits unowned.
 * Without that, an attacker could keep a piece from ever passing: own it, send one spoiled block,
 * choke (its block stays in the attempt, the rest goes to an honest peer, the piece fails with two
 * contributors and neither is proven bad), unchoke, and own it again first — over and over. Barred,
 * the next attempt goes to another peer, passes, and the smart ban judges every failed attempt.
 * The bar is timed, not permanent, so that a piece whose only sources all choked mid-attempt
 * (honest seeders rotate their unchoke slots) is still fetched once it lapses. It is kept under a
 * bar key the caller gives: a dialled peer's address, but an incoming peer's host (its port is a
 * source port: hanging up and dialling in again would make a new key and dodge the bar).
 *
 * Bounded: one entry per failed piece, and per piece one bar per bar key that owned it, lapsed bars
 * dropped whenever the piece is let go again. Pure; held by reference in the torrent machine's
 * context.
 */
import type { BlockRef, PeerKey } from './peer.types.js';

/** How long a peer that let a suspect piece go waits before it may own it again. */
export const SUSPECT_BAR_MS = 15_000;

/** A suspect piece: its owner ('' while it has none), and who may not own it until when. */
interface Suspect {
  owner: PeerKey;
  readonly barredUntil: Map<PeerKey, number>;
}

export class SuspectPieces {
  readonly #pieces = new Map<number, Suspect>();

  /** Suspect pieces, owned or not. */
  get size(): number {
    return this.#pieces.size;
  }

  /** Piece `index` failed with several contributors: it waits for an owner (earlier bars kept). */
  add(index: number): void {
    const s = this.#pieces.get(index);
    if (s === undefined) this.#pieces.set(index, { owner: '', barredUntil: new Map() });
    else s.owner = '';
  }

  /** Piece `index` passed, or its attempt's sole contributor was banned: no longer a suspect. */
  delete(index: number): void {
    this.#pieces.delete(index);
  }

  /** The peer fetching piece `index` again ('' for none; undefined when it is no suspect). */
  ownerOf(index: number): PeerKey | undefined {
    return this.#pieces.get(index)?.owner;
  }

  /**
   * May peer `key` (barred as `barKey`) be handed blocks of piece `index` at `nowMs`? Any piece that
   * is no suspect; a suspect it owns; an unowned one it is not barred from.
   */
  mayTake(index: number, key: PeerKey, barKey: string, nowMs: number): boolean {
    const s = this.#pieces.get(index);
    if (s === undefined || s.owner === key) return true;
    if (s.owner !== '') return false;
    const until = s.barredUntil.get(barKey);
    return until === undefined || until <= nowMs;
  }

  /** Bars kept for piece `index` (lapsed ones included until it is let go again). */
  barsOf(index: number): number {
    return this.#pieces.get(index)?.barredUntil.size ?? 0;
  }

  /** The suspect pieces, for the pick's mask. */
  indices(): IterableIterator<number> {
    return this.#pieces.keys();
  }

  /** `key` was handed `blocks`: it owns every unowned suspect among them. */
  claim(key: PeerKey, blocks: readonly BlockRef[]): void {
    if (this.#pieces.size === 0) return;
    for (const b of blocks) {
      const s = this.#pieces.get(b.index);
      if (s !== undefined && s.owner === '') s.owner = key;
    }
  }

  /**
   * `key` choked or left at `nowMs`: the suspects it owned are free, and `barKey` is barred from
   * them; bars that have lapsed go.
   */
  release(key: PeerKey, barKey: string, nowMs: number): void {
    if (this.#pieces.size === 0) return;
    for (const s of this.#pieces.values()) {
      if (s.owner !== key) continue;
      s.owner = '';
      for (const [k, until] of s.barredUntil) if (until <= nowMs) s.barredUntil.delete(k);
      s.barredUntil.set(barKey, nowMs + SUSPECT_BAR_MS);
    }
  }

  toJSON(): { pieces: number; owned: number } {
    let owned = 0;
    for (const s of this.#pieces.values()) if (s.owner !== '') owned++;
    return { pieces: this.#pieces.size, owned };
  }
}
