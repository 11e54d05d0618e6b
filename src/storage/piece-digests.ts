/**
 * The hash of each piece (SHA-1, or v2's merkle root: src/metainfo/piece-hash.ts) computed as its blocks are written, so a completed piece is verified without
 * reading it back from disk (issue #8). libtorrent does the same: it hashes blocks in its disk
 * thread while they are still in memory.
 *
 * Why (measured on a 1 GiB download from one local libtorrent seeder, 2 cores): reading each piece
 * back from the page cache cost ~0.2 CPU s/GiB on top of SHA-1 itself, the hash worker's isolate
 * ~10 MB of RSS, and its boot competed with the download's own start-up. A block handed to
 * `add` was received in this very turn of the event loop, so it is still in the CPU's caches.
 *
 * Blocks of one piece often come out of order: libtorrent reads the blocks it serves on several
 * disk threads and sends each when its read finishes (measured: 7 % of blocks ahead of their turn
 * from one libtorrent seeder, 32 % from four). A block that comes ahead of the next one to hash is
 * held until the gap is filled: the caller's own buffer when it may be pinned (a block pool slab:
 * `add` answers true and the caller keeps it unchanged until `release` gives it back), else a copy
 * (a view of a socket chunk would keep the whole chunk alive). Held blocks are bounded by `maxHeldBytes` for the whole
 * torrent, and a piece that would
 * pass it, a block that overlaps bytes already hashed (a piece written twice), or a block the store
 * cannot hash as received (BEP 47 padding, which the hash counts as zeros) makes the piece
 * *abandoned*: `take` then answers undefined and the caller reads the piece back from disk as
 * before. Memory is therefore the held blocks plus one SHA-1 context per piece in progress.
 */
import { createHash } from 'node:crypto';
import type { PieceHash } from '../metainfo/piece-hash.js';

/** Default cap on out-of-order blocks held, for the whole torrent. */
export const DEFAULT_MAX_HELD_BYTES = 4 * 1024 * 1024;

interface Partial {
  readonly hash: PieceHash;
  /** Offset in the piece of the next byte to hash. */
  next: number;
  /** Blocks ahead of `next`, by begin: the caller's buffers (given back through `release`) or copies. */
  held: Map<number, Uint8Array> | undefined;
  /** The held blocks that are the caller's own (pinned), to give back. */
  pinned: Set<Uint8Array> | undefined;
  heldBytes: number;
}

/** What `add` did with a block, counted for tests and the memory benchmark. */
export interface PieceDigestStats {
  /** Blocks hashed when they came (or as soon as the gap before them was filled). */
  hashed: number;
  /** Blocks held because they came ahead of the next one to hash. */
  held: number;
  /** Pieces given up on (read back from disk at verification instead). */
  abandoned: number;
  /** Pieces taken before every one of their bytes was hashed (read back too). */
  unfinished: number;
}

export class PieceDigests {
  readonly #pieceLength: (index: number) => number;
  readonly #maxHeldBytes: number;
  readonly #release: (block: Uint8Array) => void;
  readonly #newHash: (index: number) => PieceHash;
  readonly #pieces = new Map<number, Partial>();
  /** Pieces given up on since their last `take`: their later blocks are not hashed either. */
  readonly #abandoned = new Set<number>();
  #heldBytes = 0;
  readonly stats: PieceDigestStats = { hashed: 0, held: 0, abandoned: 0, unfinished: 0 };

  /**
   * `release(block)`: a block `add` held (answered true for) is no longer needed here — hashed, or
   * dropped with its piece. `newHash(index)`: the hash piece `index` is checked with (SHA-1 unless
   * given).
   */
  constructor(
    pieceLength: (index: number) => number,
    release: (block: Uint8Array) => void,
    maxHeldBytes = DEFAULT_MAX_HELD_BYTES,
    newHash: (index: number) => PieceHash = () => createHash('sha1'),
  ) {
    this.#pieceLength = pieceLength;
    this.#release = release;
    this.#newHash = newHash;
    this.#maxHeldBytes = maxHeldBytes;
  }

  /** Bytes of out-of-order blocks held now. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Pieces with a hash in progress. */
  get inProgress(): number {
    return this.#pieces.size;
  }

  /**
   * Block `block` of piece `index` at `begin` was written (or is being): hash it now, or hold it —
   * itself when `pinnable` (or `pinnable(block)`, asked only then), else a copy. True when it holds
   * `block` itself: then `block` must not change until `release` gives it back.
   */
  add(
    index: number,
    begin: number,
    block: Uint8Array,
    pinnable: boolean | ((block: Uint8Array) => boolean) = false,
  ): boolean {
    if (this.#abandoned.has(index)) return false;
    let p = this.#pieces.get(index);
    if (p === undefined) {
      p = { hash: this.#newHash(index), next: 0, held: undefined, pinned: undefined, heldBytes: 0 };
      this.#pieces.set(index, p);
    }
    const end = begin + block.length;
    if (begin === p.next && !overlapsHeld(p.held, begin, end)) {
      p.hash.update(block);
      p.next += block.length;
      this.stats.hashed++;
      if (p.held !== undefined) this.#drain(p);
      return false;
    }
    if (
      begin < p.next ||
      end > this.#pieceLength(index) ||
      this.#heldBytes + block.length > this.#maxHeldBytes ||
      overlapsHeld(p.held, begin, end)
    ) {
      this.abandon(index);
      return false;
    }
    const pin = typeof pinnable === 'function' ? pinnable(block) : pinnable;
    p.held ??= new Map();
    p.held.set(begin, pin ? block : new Uint8Array(block)); // new Uint8Array copies
    if (pin) (p.pinned ??= new Set()).add(block);
    p.heldBytes += block.length;
    this.#heldBytes += block.length;
    this.stats.held++;
    return pin;
  }

  /** Hashes the held blocks that now continue the piece. */
  #drain(p: Partial): void {
    const held = p.held!;
    for (let next = held.get(p.next); next !== undefined; next = held.get(p.next)) {
      held.delete(p.next);
      p.hash.update(next);
      p.next += next.length;
      p.heldBytes -= next.length;
      this.#heldBytes -= next.length;
      this.stats.hashed++;
      if (p.pinned?.delete(next) === true) this.#release(next);
    }
    if (held.size === 0) p.held = undefined;
  }

  /** Gives up on piece `index` until its next `take`: it will be read back to be verified. */
  abandon(index: number): void {
    if (this.#abandoned.has(index)) return;
    this.#drop(index);
    this.#abandoned.add(index);
    this.stats.abandoned++;
  }

  #drop(index: number): void {
    const p = this.#pieces.get(index);
    if (p === undefined) return;
    this.#heldBytes -= p.heldBytes;
    this.#pieces.delete(index);
    if (p.pinned !== undefined) for (const block of p.pinned) this.#release(block);
  }

  /**
   * The hash of piece `index` when every one of its bytes was hashed from its writes, else
   * undefined (read it back). Either way the piece starts afresh: a piece downloaded again after a
   * failed hash is hashed again from its first block.
   */
  take(index: number): Uint8Array | undefined {
    const p = this.#pieces.get(index);
    this.#abandoned.delete(index);
    this.#drop(index);
    if (p === undefined) return undefined;
    if (p.next !== this.#pieceLength(index)) {
      this.stats.unfinished++;
      return undefined;
    }
    return p.hash.digest();
  }
}

function overlapsHeld(held: Map<number, Uint8Array> | undefined, begin: number, end: number): boolean {
  if (held === undefined) return false;
  // keys() and get(), not entries: an entry is a fresh [key, value] array per held block per call.
  for (const at of held.keys()) if (at < end && begin < at + held.get(at)!.length) return true;
  return false;
}
