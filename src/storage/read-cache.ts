/**
 * A bounded read cache for serving blocks: peers ask for 16 KiB blocks, usually every block of a
 * piece in a row, so we read a whole chunk (the piece, or its 1 MiB-aligned part when pieces are
 * larger) once and answer its blocks as views of it — 64 blocks of a 1 MiB piece cost one read.
 * Concurrent misses on one chunk share one read. Only verified pieces are ever read (the peer
 * machine serves nothing else), and verified pieces never change, so entries never go stale.
 *
 * Blocks are pinned: `acquire` hands out a view and counts it against its chunk until `release`
 * (the connection releases once the socket has taken the bytes). A chunk's buffer is reused for a
 * later read only when it has left the cache and nothing pins it. Measured (issue #8): a fresh
 * 1 MiB buffer per piece served was ~1 GiB of ArrayBuffers per GiB, which V8 answers with a full
 * collection every few dozen MiB — about a third of the seeder's CPU, on its GC helper threads.
 *
 * Memory is bounded whatever peers ask: at most `maxBytes` of cached chunks, and at most 2 × `maxBytes`
 * of chunk buffers in all (cached, evicted but still pinned, being read, free). A miss past that
 * budget, when no unpinned chunk can be evicted, reads just its block into a buffer of its own: a
 * peer asking one block from each of 128 pieces costs 128 × 16 KiB, not 128 × 1 MiB (the blocks
 * pinned per peer are bounded by its read window).
 */
import type { PieceStore } from './piece-store.js';
import { MAX_READ_BLOCK_BYTES } from './piece-store.js';
import { StorageError } from './storage-error.js';

/** Default memory for cached chunks. */
export const DEFAULT_READ_CACHE_BYTES = 32 * 1024 * 1024;

/** A chunk's bytes and how many handed-out blocks still point into them. */
export interface Chunk {
  readonly bytes: Uint8Array;
  pins: number;
  /** In the cache (false once evicted: its buffer is freed when the last pin goes). */
  cached: boolean;
}

/** A block handed out by `acquire`: a view into `chunk` (undefined: a buffer of its own). */
export interface PinnedBlock {
  readonly block: Uint8Array;
  readonly chunk: Chunk | undefined;
}

/** What a connection serves blocks from (the ReadCache; a test may give another). */
export interface BlockSource {
  /** The block, pinned until `release`: at once when its chunk is in memory, else once read. */
  acquire(index: number, begin: number, length: number): PinnedBlock | Promise<PinnedBlock>;
  release(block: PinnedBlock): void;
}

export class ReadCache implements BlockSource {
  readonly #store: PieceStore;
  readonly #maxBytes: number;
  readonly #chunkBytes: number;
  /** key index × 2^12 + chunk → chunk, in least-recently-used order (Map keeps insertion order). */
  readonly #chunks = new Map<number, Chunk>();
  /** Chunks being read, with how many blocks wait for each (pinned when the read lands). */
  readonly #reading = new Map<number, { promise: Promise<Chunk>; waiters: number }>();
  /** Buffers of exactly chunkBytes, free for the next read. */
  readonly #free: Uint8Array[] = [];
  #bytes = 0;
  /** Bytes of every chunk buffer held (cached, pinned after eviction, being read, free): ≤ 2 × maxBytes. */
  #held = 0;
  reads = 0;
  /** Misses read as a lone block because the chunk budget was spent. */
  blockReads = 0;
  hits = 0;
  /** Buffers allocated (not reused): what the garbage collector will one day see. */
  allocations = 0;

  constructor(store: PieceStore, maxBytes = DEFAULT_READ_CACHE_BYTES) {
    this.#store = store;
    this.#maxBytes = maxBytes;
    this.#chunkBytes = Math.min(store.torrent.pieceLength, MAX_READ_BLOCK_BYTES);
  }

  /** Bytes of chunks in the cache. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of every chunk buffer held: cached, pinned after eviction, being read, or free. */
  get heldBytes(): number {
    return this.#held;
  }

  #pieceSize(index: number): number {
    const t = this.#store.torrent;
    return index === t.pieceCount - 1 ? t.totalLength - index * t.pieceLength : t.pieceLength;
  }

  /** The block (index, begin, length), unpinned: for a caller that copies it before the next read. */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const pinned = await this.acquire(index, begin, length);
    this.release(pinned);
    return pinned.block;
  }

  acquire(index: number, begin: number, length: number): PinnedBlock | Promise<PinnedBlock> {
    const size = this.#pieceSize(index);
    if (!(index >= 0 && index < this.#store.torrent.pieceCount) || begin < 0 || begin + length > size)
      return Promise.reject(
        new StorageError('badRange', `block ${index}:${begin}+${length} is outside the torrent`),
      );
    const c = Math.floor(begin / this.#chunkBytes);
    const start = c * this.#chunkBytes;
    if (begin + length > start + this.#chunkBytes)
      // Straddles two chunks (only with odd block offsets): read it into a buffer of its own.
      return this.#store.readBlock(index, begin, length).then((block) => ({ block, chunk: undefined }));
    const key = index * 4096 + c; // at most 4096 chunks of 1 MiB in a piece (MAX_PIECE_LENGTH 4 GiB)
    const hit = this.#chunks.get(key);
    if (hit !== undefined) {
      this.hits++;
      this.#chunks.delete(key);
      this.#chunks.set(key, hit);
      return pin(hit, begin - start, length);
    }
    let pending = this.#reading.get(key);
    if (pending === undefined) {
      const chunkLength = Math.min(this.#chunkBytes, size - start);
      const buffer = this.#reserve(chunkLength);
      if (buffer === undefined) {
        // The budget is spent on pinned chunks: this block alone (a peer asking one block from each
        // of many pieces must not make us hold a chunk per block).
        this.blockReads++;
        return this.#store.readBlock(index, begin, length).then((block) => ({ block, chunk: undefined }));
      }
      pending = { promise: undefined as unknown as Promise<Chunk>, waiters: 0 };
      this.#reading.set(key, pending);
      pending.promise = this.#read(key, pending, index, start, buffer);
    }
    pending.waiters++;
    // Already pinned for this block when the read landed (so no later read can take the buffer first).
    return pending.promise.then((chunk) => view(chunk, begin - start, length));
  }

  release(block: PinnedBlock): void {
    const chunk = block.chunk;
    if (chunk === undefined) return;
    if (chunk.pins <= 0) throw new StorageError('badRange', 'a block released twice'); // a bug: fail loudly
    chunk.pins--;
    if (chunk.pins === 0 && !chunk.cached) this.#recycle(chunk.bytes);
  }

  /**
   * A buffer of `length` bytes for a chunk read, counted in #held: a free one, a new one within the
   * budget, or one freed by evicting unpinned chunks; undefined when all of the budget is pinned.
   */
  #reserve(length: number): Uint8Array | undefined {
    const budget = 2 * this.#maxBytes;
    for (;;) {
      if (length === this.#chunkBytes) {
        const free = this.#free.pop();
        if (free !== undefined) return free;
      }
      if (length !== this.#chunkBytes && this.#free.length > 0) {
        this.#held -= this.#free.pop()!.length; // a free buffer of the wrong size: make room instead
        continue;
      }
      if (this.#held + length <= budget) {
        this.#held += length;
        this.allocations++;
        return new Uint8Array(length);
      }
      if (!this.#evictUnpinned()) return undefined;
    }
  }

  /** Evicts the least recently used unpinned chunk (its buffer freed); false when every chunk is pinned. */
  #evictUnpinned(): boolean {
    for (const [k, v] of this.#chunks) {
      if (v.pins > 0) continue;
      this.#chunks.delete(k);
      this.#bytes -= v.bytes.length;
      v.cached = false;
      this.#recycle(v.bytes);
      return true;
    }
    return false;
  }

  async #read(
    key: number,
    entry: { waiters: number },
    index: number,
    start: number,
    buffer: Uint8Array,
  ): Promise<Chunk> {
    this.reads++;
    try {
      let bytes: Uint8Array;
      try {
        bytes = await this.#store.readBlock(index, start, buffer.length, buffer);
      } catch (err) {
        this.#recycle(buffer);
        throw err;
      }
      const chunk: Chunk = { bytes, pins: entry.waiters, cached: false };
      if (bytes.length <= this.#maxBytes) {
        chunk.cached = true;
        this.#chunks.set(key, chunk);
        this.#bytes += bytes.length;
        for (const [k, v] of this.#chunks) {
          if (this.#bytes <= this.#maxBytes) break;
          this.#chunks.delete(k);
          this.#bytes -= v.bytes.length;
          v.cached = false;
          if (v.pins === 0) this.#recycle(v.bytes);
        }
      }
      return chunk;
    } finally {
      this.#reading.delete(key);
    }
  }

  /** A chunk buffer nothing uses any more: kept for the next read (up to maxBytes of them), else dropped. */
  #recycle(bytes: Uint8Array): void {
    if (bytes.length === this.#chunkBytes && (this.#free.length + 1) * this.#chunkBytes <= this.#maxBytes)
      this.#free.push(bytes);
    else this.#held -= bytes.length;
  }
}

function pin(chunk: Chunk, offset: number, length: number): PinnedBlock {
  chunk.pins++;
  return view(chunk, offset, length);
}

function view(chunk: Chunk, offset: number, length: number): PinnedBlock {
  return { block: chunk.bytes.subarray(offset, offset + length), chunk };
}
