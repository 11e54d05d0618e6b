/**
 * Read windows for busy sockets, so that received blocks need no copy (issue #8). A dialled socket
 * reads into the one shared buffer (tcp-connection.ts), and every block found there is copied into a
 * block pool slab: on a fast download that copy was ~4 % of the process's CPU. A socket whose reads
 * come full instead reads into a window of a 1 MiB chunk of its own, and the blocks decoded from
 * that read are views of the chunk, handed to storage as they are.
 *
 * The rule that keeps those views intact: a chunk's bytes are read into once. Each read lands after
 * the previous one in the socket's current chunk; a chunk is read into again (from its start) only
 * once the socket has moved on from it and every block viewing it has been given back (`release`,
 * by storage once written). Views are counted exactly, by offset and length: giving back twice, a
 * subarray, or a foreign buffer changes nothing.
 *
 * Memory: at most `maxBytes` of chunks. A busy socket holds its current chunk; the blocks waiting
 * for the disk hold theirs (the write backlog bounds them). When no chunk is free and the cap is
 * reached, a socket reads into the shared buffer again (blocks copied into slabs). A block the piece
 * digests hold until the gap before it is filled keeps its chunk meanwhile, as it would keep a slab
 * (`PieceStore`'s `pooledBlock`): the cap bounds that too. A view that is never given
 * back (a late endgame duplicate, a peer that closed) keeps its chunk out of use until the garbage
 * collector frees both; the chunk then leaves the count (FinalizationRegistry).
 */

/** Size of one chunk of read windows. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** The most one read may take. */
export const READ_WINDOW_BYTES = 256 * 1024;
/** A chunk with less room than this left is done: the socket moves to a fresh one. */
const MIN_WINDOW_BYTES = 64 * 1024;
/**
 * A socket reads into windows from its first read of at least this many bytes (its socket buffer
 * had that much waiting: a fast sender) and goes back to the shared buffer after a read of less than
 * `IDLE_READ_BYTES` (a trickle: a window would be held for little).
 */
export const BUSY_READ_BYTES = 64 * 1024;
const IDLE_READ_BYTES = 16 * 1024;

interface Chunk {
  readonly bytes: Uint8Array;
  /** Bytes read into so far. */
  used: number;
  /** The current chunk of a socket. */
  active: boolean;
  /** Views handed out and not given back: offset → length. */
  readonly views: Map<number, number>;
}

export class ReadArena {
  readonly maxBytes: number;
  readonly #free: Chunk[] = [];
  readonly #chunks = new WeakMap<ArrayBufferLike, Chunk>();
  #bytes = 0;
  readonly #lost = new FinalizationRegistry<number>((n) => {
    this.#bytes -= n;
  });

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes of chunks allocated and not collected (for tests and the memory benchmark). */
  get chunkBytes(): number {
    return this.#bytes;
  }

  /** Chunks ready to be read into. */
  get free(): number {
    return this.#free.length;
  }

  /** One socket's reads. */
  reader(): ArenaReader {
    return new ArenaReader(this);
  }

  /** True when `bytes` is memory of this arena (a window or a view of one). */
  has(bytes: Uint8Array): boolean {
    return this.#chunks.has(bytes.buffer);
  }

  /** True when `view` was counted by `keep` and not given back yet. */
  counts(view: Uint8Array): boolean {
    return this.#chunks.get(view.buffer)?.views.get(view.byteOffset) === view.length;
  }

  /**
   * `block` (a view `keep` counted) is no longer used: once its chunk has no view left and no socket
   * reads into it, the chunk is free. Anything else is ignored.
   */
  release(block: Uint8Array): boolean {
    const chunk = this.#chunks.get(block.buffer);
    if (chunk === undefined || chunk.views.get(block.byteOffset) !== block.length) return false;
    chunk.views.delete(block.byteOffset);
    if (chunk.views.size === 0 && !chunk.active) this.#recycle(chunk);
    return true;
  }

  /** @internal A chunk for a socket to read into, or undefined at the cap. */
  take(): Chunk | undefined {
    let chunk = this.#free.pop();
    if (chunk === undefined) {
      if (this.#bytes + READ_CHUNK_BYTES > this.maxBytes) return undefined;
      this.#bytes += READ_CHUNK_BYTES;
      const buffer = new ArrayBuffer(READ_CHUNK_BYTES);
      chunk = { bytes: new Uint8Array(buffer), used: 0, active: false, views: new Map() };
      this.#chunks.set(buffer, chunk);
      this.#lost.register(buffer, READ_CHUNK_BYTES);
    }
    chunk.active = true;
    return chunk;
  }

  /** @internal The socket moved on from `chunk`. */
  leave(chunk: Chunk): void {
    chunk.active = false;
    if (chunk.views.size === 0) this.#recycle(chunk);
  }

  #recycle(chunk: Chunk): void {
    chunk.used = 0;
    this.#free.push(chunk);
  }
}

/**
 * Where one socket's next read lands (`window()`: a window of its chunk, or undefined for the shared
 * buffer), told how much each read took (`read(n)`) and which of the read's bytes are kept (`keep`).
 */
export class ArenaReader {
  readonly #arena: ReadArena;
  #chunk: Chunk | undefined;
  /** Where the window handed out last starts in #chunk. */
  #at = 0;
  #closed = false;

  constructor(arena: ReadArena) {
    this.#arena = arena;
  }

  /** True while reads land in windows (blocks of the last read are views of its chunk). */
  get reading(): boolean {
    return this.#chunk !== undefined;
  }

  /**
   * The last read took `n` bytes of what `window()` gave (or of the shared buffer). Decides where the
   * next one lands: call `window()` after the read's bytes were decoded and kept.
   */
  read(n: number): void {
    const chunk = this.#chunk;
    if (chunk !== undefined) {
      chunk.used = this.#at + n;
      if (n < IDLE_READ_BYTES || READ_CHUNK_BYTES - chunk.used < MIN_WINDOW_BYTES) {
        this.#chunk = undefined;
        this.#arena.leave(chunk);
      }
      if (n < IDLE_READ_BYTES) return;
    } else if (n < BUSY_READ_BYTES) return;
    if (this.#chunk === undefined && !this.#closed) this.#chunk = this.#arena.take();
  }

  /** The memory the next read lands in, or undefined: the shared buffer. */
  window(): Uint8Array | undefined {
    const chunk = this.#chunk;
    if (chunk === undefined) return undefined;
    this.#at = chunk.used;
    return chunk.bytes.subarray(this.#at, Math.min(READ_CHUNK_BYTES, this.#at + READ_WINDOW_BYTES));
  }

  /**
   * `view` (of the last read's window) is handed on: counted until `ReadArena.release`. Returns
   * false when `view` is not of this reader's current chunk (then it must be copied).
   */
  keep(view: Uint8Array): boolean {
    const chunk = this.#chunk;
    if (chunk === undefined || view.buffer !== chunk.bytes.buffer) return false;
    chunk.views.set(view.byteOffset, view.length);
    return true;
  }

  /** The socket is done: its chunk is free once its views are given back. */
  close(): void {
    this.#closed = true;
    const chunk = this.#chunk;
    this.#chunk = undefined;
    if (chunk !== undefined) this.#arena.leave(chunk);
  }
}
