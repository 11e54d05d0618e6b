/**
 * Super-seeding (BEP 16): a seed that shows each peer only a piece or two at a time, with `have`,
 * so that the pieces leave it once each and the downloaders pass them on to each other. This is
 * its bookkeeping: how many peers each piece is revealed to now, and which piece a peer is shown
 * next — among the pieces the peer lacks, one revealed to no other peer when there is one, the
 * rarest among the connected peers, ties drawn by the seeded PRNG. As libtorrent's
 * `get_piece_to_super_seed` (torrent.cpp), which scores a piece revealed to another peer 999 and
 * otherwise by its availability; here a revealed piece is ranked by how many peers it is revealed
 * to, then by availability, so it is picked only when every piece the peer lacks is revealed
 * already. Pure: no xstate, no I/O (the torrent machine's side is torrent-super-seed.ts).
 *
 * Bounded: one 16-bit count per piece, made once; a peer's revealed pieces (PeerEntry.revealed)
 * are at most MAX_REVEALED_PER_PEER, whatever the peer sends.
 */
import type { Bitfield } from '../src/picker/bitfield.js';

/** Pieces revealed to one peer at once: libtorrent's two (`m_superseed_piece[2]`). */
export const MAX_REVEALED_PER_PEER = 2;

export class SuperSeedReveals {
  /** Peers each piece is revealed to now (a count that saturates far above any peer count). */
  readonly #revealed: Uint16Array;
  readonly #random: () => number;

  constructor(
    readonly pieceCount: number,
    random: () => number,
  ) {
    this.#revealed = new Uint16Array(pieceCount);
    this.#random = random;
  }

  /** Peers `index` is revealed to now. */
  revealedTo(index: number): number {
    return this.#revealed[index] ?? 0;
  }

  /** `index` was revealed to one more peer. */
  reveal(index: number): void {
    if (this.#revealed[index]! < 0xffff) this.#revealed[index]!++;
  }

  /** A peer `index` was revealed to has it now, or left. */
  conceal(index: number): void {
    if (this.#revealed[index]! > 0) this.#revealed[index]!--;
  }

  /**
   * The piece to reveal next to a peer that has `peerHas` and was shown `shown`: one it lacks and
   * was not shown, ranked by the peers it is revealed to, then by `availabilityOf` (the connected
   * peers that have it), ties drawn at random. Undefined when the peer lacks no other piece.
   * O(pieces): a linear scan, as libtorrent's, once per piece a peer completes.
   */
  choose(
    peerHas: Bitfield,
    shown: readonly number[],
    availabilityOf: (index: number) => number,
  ): number | undefined {
    let best = -1;
    let bestRevealed = 0;
    let bestAvailability = 0;
    let ties = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (peerHas.has(i) || shown.includes(i)) continue;
      const revealed = this.#revealed[i]!;
      if (best !== -1 && revealed > bestRevealed) continue;
      const availability = availabilityOf(i);
      if (best === -1 || revealed < bestRevealed || availability < bestAvailability) {
        best = i;
        bestRevealed = revealed;
        bestAvailability = availability;
        ties = 1;
      } else if (availability === bestAvailability) {
        // Reservoir sampling: each of the tied pieces is kept with probability 1/ties.
        ties++;
        if (Math.floor(this.#random() * ties) === 0) best = i;
      }
    }
    return best === -1 ? undefined : best;
  }

  toJSON(): { pieceCount: number; revealed: number } {
    let revealed = 0;
    for (const n of this.#revealed) if (n > 0) revealed++;
    return { pieceCount: this.pieceCount, revealed };
  }
}
