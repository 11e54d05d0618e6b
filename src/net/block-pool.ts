/**
 * Reusable memory for received blocks (issue #8). A socket reads into one shared buffer
 * (tcp-connection.ts, `onread`); each block found there is copied into a slab taken from this pool,
 * and the slab comes back once storage has written it (PieceStore's `releaseBlock`).
 *
 * Why: Node otherwise allocates a fresh 64 KiB ArrayBuffer per socket read. On a 1 GiB download
 * that is 1 GiB of external memory churn, which V8 answers with a mark-compact every few dozen
 * megabytes: the garbage collector's helper threads cost as much CPU as the hash worker.
 *
 * Slabs are BLOCK_SLAB_BYTES views carved from 1 MiB arenas, at most `maxBytes` of them. A slab that
 * is never given back (a block the machines dropped: a late endgame copy, a peer that closed) is
 * simply garbage; the arena it belongs to stays alive while any of its slabs do, so lost slabs only
 * shrink what the pool can reuse, never what it may hold. When no slab is free and the pool is at
 * its cap, `take` answers a fresh buffer, which is never pooled.
 */

/** Size of one slab: the block length every client requests (BEP 3 practice: 16 KiB). */
export const BLOCK_SLAB_BYTES = 16 * 1024;
const ARENA_BYTES = 1024 * 1024;
/**
 * Default cap: what may be out at once — the write backlog (write-backlog.ts, 10 MiB) waiting on the
 * disk, blocks the piece digests hold until the gap before them is filled (piece-digests.ts, 4 MiB),
 * and the reads of one turn of the event loop, which reach the backlog only at the turn's end.
 */
export const DEFAULT_BLOCK_POOL_BYTES = 16 * 1024 * 1024;

export class BlockPool {
  readonly maxBytes: number;
  readonly #free: Uint8Array[] = [];
  /** Slabs handed out and not given back: only these may come back (no double give-back). */
  readonly #out = new WeakSet<Uint8Array>();
  #arenaBytes = 0;

  constructor(maxBytes = DEFAULT_BLOCK_POOL_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Bytes of arenas allocated so far (for tests and the memory benchmark). */
  get arenaBytes(): number {
    return this.#arenaBytes;
  }

  /** Slabs ready to be taken. */
  get free(): number {
    return this.#free.length;
  }

  /** A copy of `bytes` in a slab (or, past the cap or for a large block, in a fresh buffer). */
  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > BLOCK_SLAB_BYTES) return new Uint8Array(bytes); // a copy (Buffer#slice would view)
    let slab = this.#free.pop();
    if (slab === undefined) {
      if (this.#arenaBytes + ARENA_BYTES > this.maxBytes) return new Uint8Array(bytes);
      this.#arenaBytes += ARENA_BYTES;
      const arena = new ArrayBuffer(ARENA_BYTES);
      for (let at = ARENA_BYTES - BLOCK_SLAB_BYTES; at > 0; at -= BLOCK_SLAB_BYTES)
        this.#free.push(new Uint8Array(arena, at, BLOCK_SLAB_BYTES));
      slab = new Uint8Array(arena, 0, BLOCK_SLAB_BYTES);
    }
    slab.set(bytes);
    const block = bytes.length === BLOCK_SLAB_BYTES ? slab : slab.subarray(0, bytes.length);
    this.#out.add(block);
    return block;
  }

  /** True when `block` is a slab `copy` handed out and not yet given back. */
  owns(block: Uint8Array): boolean {
    return this.#out.has(block);
  }

  /**
   * `block` (as `copy` returned it) is no longer used by anyone: its slab may be reused. Anything else
   * (a subarray of it, a fresh buffer, a block already given back) is ignored.
   */
  release(block: Uint8Array): void {
    if (!this.#out.delete(block)) return;
    this.#free.push(
      block.length === BLOCK_SLAB_BYTES
        ? block
        : new Uint8Array(block.buffer, block.byteOffset, BLOCK_SLAB_BYTES),
    );
  }
}
