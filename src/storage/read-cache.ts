/**
 * A bounded read cache for serving blocks: peers ask for 16 KiB blocks, usually every block of a
 * piece in a row, so we read a whole chunk (the piece, or its 1 MiB-aligned part when pieces are
 * larger) once and answer its blocks from memory — 16 blocks of a 256 KiB piece cost one read.
 * Least recently used chunks go first; memory stays at most `maxBytes` plus the chunks being read.
 * Concurrent misses on one chunk share one read. Only verified pieces are ever read (the peer
 * machine serves nothing else), and verified pieces never change, so entries never go stale.
 */
import type { PieceStore } from './piece-store.js';
import { MAX_READ_BLOCK_BYTES } from './piece-store.js';
import { StorageError } from './storage-error.js';

/** Default memory for cached chunks. */
export const DEFAULT_READ_CACHE_BYTES = 32 * 1024 * 1024;

export class ReadCache {
  readonly #store: PieceStore;
  readonly #maxBytes: number;
  readonly #chunkBytes: number;
  /** key `index:chunk` → bytes, in least-recently-used order (Map keeps insertion order). */
  readonly #chunks = new Map<string, Uint8Array>();
  readonly #reading = new Map<string, Promise<Uint8Array>>();
  #bytes = 0;
  reads = 0;
  hits = 0;

  constructor(store: PieceStore, maxBytes = DEFAULT_READ_CACHE_BYTES) {
    this.#store = store;
    this.#maxBytes = maxBytes;
    this.#chunkBytes = Math.min(store.torrent.pieceLength, MAX_READ_BLOCK_BYTES);
  }

  get bytes(): number {
    return this.#bytes;
  }

  #pieceSize(index: number): number {
    const t = this.#store.torrent;
    return index === t.pieceCount - 1 ? t.totalLength - index * t.pieceLength : t.pieceLength;
  }

  /** The block (index, begin, length), as a view of a cached chunk (copy it before keeping it). */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const size = this.#pieceSize(index);
    if (!(index >= 0 && index < this.#store.torrent.pieceCount) || begin < 0 || begin + length > size)
      throw new StorageError('badRange', `block ${index}:${begin}+${length} is outside the torrent`);
    const c = Math.floor(begin / this.#chunkBytes);
    const start = c * this.#chunkBytes;
    if (begin + length > start + this.#chunkBytes)
      // Straddles two chunks (only with odd block offsets): read it directly.
      return this.#store.readBlock(index, begin, length);
    const chunk = await this.#chunk(index, c, start, Math.min(this.#chunkBytes, size - start));
    return chunk.subarray(begin - start, begin - start + length);
  }

  async #chunk(index: number, c: number, start: number, length: number): Promise<Uint8Array> {
    const key = `${index}:${c}`;
    const hit = this.#chunks.get(key);
    if (hit !== undefined) {
      this.hits++;
      this.#chunks.delete(key);
      this.#chunks.set(key, hit);
      return hit;
    }
    const pending = this.#reading.get(key);
    if (pending !== undefined) return pending;
    this.reads++;
    const p = this.#store.readBlock(index, start, length);
    this.#reading.set(key, p);
    try {
      const bytes = await p;
      if (bytes.length <= this.#maxBytes) {
        this.#chunks.set(key, bytes);
        this.#bytes += bytes.length;
        for (const [k, v] of this.#chunks) {
          if (this.#bytes <= this.#maxBytes) break;
          this.#chunks.delete(k);
          this.#bytes -= v.length;
        }
      }
      return bytes;
    } finally {
      this.#reading.delete(key);
    }
  }
}
