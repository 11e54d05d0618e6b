/**
 * The blocks of pieces that failed their hash: for each block, who sent it and the SHA-1 of what
 * they sent (libtorrent's smart ban, src/smart_ban.cpp). When the piece passes, each block is
 * compared with the block that passed, and exactly the peers whose block differed are to blame; a
 * peer whose block matched is not. Only failed pieces are recorded, so the normal path pays nothing.
 * Bounded: at most `max` blocks in all, the pieces that failed longest ago forgotten first (a
 * hostile swarm can fail many pieces). Pure; held by reference in the torrent machine's context.
 */
import type { PeerKey } from './peer.types.js';
import { MAX_FAILED_BLOCKS } from './torrent.types.js';

/** Bytes of one block's SHA-1 in a storage answer (src/storage/block-hashes.ts). */
const HASH_BYTES = 20;

/** One block as a peer sent it to a failed piece. */
interface Sent {
  readonly sender: PeerKey;
  /** The SHA-1 of its bytes, in hex (compared with ===). */
  readonly hash: string;
}

/** Per block of a piece, what each peer that sent it to a failed attempt sent. */
type PieceRecord = (Sent[] | undefined)[];

export class FailedBlocks {
  readonly #max: number;
  /** In the order the pieces last failed: the first is forgotten first. */
  readonly #pieces = new Map<number, { record: PieceRecord; blocks: number }>();
  /** Remembered pieces that passed, whose block hashes storage has been asked for. */
  readonly #judging = new Set<number>();
  #blocks = 0;

  constructor(max = MAX_FAILED_BLOCKS) {
    this.#max = max;
  }

  /** Blocks remembered, over every piece. */
  get blocks(): number {
    return this.#blocks;
  }

  /** Is piece `index` remembered (it failed, and has not passed since)? */
  has(index: number): boolean {
    return this.#pieces.has(index);
  }

  /**
   * Remembered piece `index` passed and its block hashes were asked for: until `piecePassed`, the
   * download is not complete (the peers to ban may still be connected).
   */
  judging(index: number): void {
    this.#judging.add(index);
  }

  /** Some passed piece waits for its block hashes. */
  get awaitingJudgement(): boolean {
    return this.#judging.size > 0;
  }

  /**
   * Piece `index` failed: `senders` by block (from the picker), `hashes` 20 bytes per block (from
   * storage). Remembers each block's sender and hash, and returns the peers proven bad already:
   * one that sent the same block to an earlier failure of the piece with other bytes (an honest
   * peer sends a block the same way every time).
   */
  pieceFailed(index: number, senders: readonly (PeerKey | undefined)[], hashes: Uint8Array): PeerKey[] {
    const entry = this.#pieces.get(index) ?? { record: [], blocks: 0 };
    const bad = new Set<PeerKey>();
    for (let b = 0; b < senders.length && (b + 1) * HASH_BYTES <= hashes.length; b++) {
      const sender = senders[b];
      if (sender === undefined) continue;
      const hash = hexOf(hashes, b);
      const sent = (entry.record[b] ??= []);
      const before = sent.find((s) => s.sender === sender);
      if (before === undefined) {
        sent.push({ sender, hash });
        entry.blocks++;
        this.#blocks++;
      } else if (before.hash !== hash) bad.add(sender);
    }
    // Last to fail, last to be forgotten.
    this.#pieces.delete(index);
    this.#pieces.set(index, entry);
    this.#evict(index);
    return [...bad];
  }

  /**
   * Piece `index` passed with these block hashes: returns every peer that sent one of its failed
   * attempts a block that differs from the block that passed, and forgets the piece.
   */
  piecePassed(index: number, hashes: Uint8Array): PeerKey[] {
    this.#judging.delete(index);
    const entry = this.#pieces.get(index);
    if (entry === undefined) return [];
    this.#forget(index);
    const bad = new Set<PeerKey>();
    entry.record.forEach((sent, b) => {
      if (sent === undefined || (b + 1) * HASH_BYTES > hashes.length) return;
      const good = hexOf(hashes, b);
      for (const s of sent) if (s.hash !== good) bad.add(s.sender);
    });
    return [...bad];
  }

  toJSON(): { pieces: number; blocks: number; judging: number } {
    return { pieces: this.#pieces.size, blocks: this.#blocks, judging: this.#judging.size };
  }

  #forget(index: number): void {
    const entry = this.#pieces.get(index);
    if (entry === undefined) return;
    this.#pieces.delete(index);
    this.#blocks -= entry.blocks;
  }

  /** Past the bound, the pieces that failed longest ago go first; `latest` last of all. */
  #evict(latest: number): void {
    for (const index of this.#pieces.keys()) {
      if (this.#blocks <= this.#max) return;
      if (index !== latest) this.#forget(index);
    }
    if (this.#blocks > this.#max) this.#forget(latest);
  }
}

/** Block `b`'s SHA-1 in `hashes`, in hex. */
function hexOf(hashes: Uint8Array, b: number): string {
  let s = '';
  for (let k = b * HASH_BYTES; k < (b + 1) * HASH_BYTES; k++) s += hashes[k]!.toString(16).padStart(2, '0');
  return s;
}
