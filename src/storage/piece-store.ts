/**
 * The files of one torrent on disk: each created sparse at its size when first written
 * (store-files.ts; until then it reads as zeros), blocks written with pwritev
 * where they belong (on the calling thread while that is fast, write-mode.ts), pieces verified by
 * SHA-1. A piece whose blocks were all written through this
 * store is verified from the SHA-1 computed as they were written (piece-digests.ts); any other
 * (data already on disk, a piece written out of order past the digests' bound) is read back and
 * hashed, on hash workers for bulk checks. Memory is bounded by design: a write holds only the
 * block it was given, a read only the block asked for, and reading back goes in 1 MiB chunks — a
 * 50 GiB torrent costs what a 50 MiB one does.
 */

import { availableParallelism } from 'node:os';
import { pieceDataLengths } from '../metainfo/piece-data-length.js';
import { createPieceHash, type PieceHash } from '../metainfo/piece-hash.js';
import { pieceLengthAt, type Torrent } from '../metainfo/torrent.js';
import { Bitfield } from '../picker/bitfield.js';
import { FdCache } from './fd-cache.js';
import { blockOffset, FileMap, type FileSegment } from './file-map.js';
import { HashPool } from './hash-pool.js';
import { FILE_LANES, inLanes } from './in-lanes.js';
import { type PartsLayout, redirectSegments } from './parts-layout.js';
import { PieceDigests } from './piece-digests.js';
import {
  HASH_CHUNK_BYTES,
  type HashJobSpec,
  hashMatches,
  hashPieceAsync,
  pieceSegments,
} from './piece-hasher.js';
import { readAt, writeRunAt } from './positional-io.js';
import { PREALLOCATE_MIN_BYTES, type PreallocationReport, preallocateFiles } from './preallocate.js';
import type { FileStamp } from './resume-file.js';
import { StorageError } from './storage-error.js';
import { type FoundAtOpen, StoreFiles } from './store-files.js';
import type { WriteBacklog } from './write-backlog.js';
import { WriteCoalescer } from './write-coalescer.js';
import { WriteMode, type WriteModeSetting } from './write-mode.js';

/** Default cap on idle open files (descriptors) held by the main thread. */
export const DEFAULT_MAX_OPEN_FILES = 256;
/**
 * Writeback threshold (fd-cache.ts). Measured on 1 GiB from one local libtorrent seeder, eight
 * interleaved rounds: wall 2.15 s (median) with 16 MiB against 2.68 s without writeback, CPU the
 * same (2.15 against 2.14 s); from four seeders 2.68 against 2.85 s, and 8 or 32 MiB the same
 * within noise. A sync costs the disk's time, not the CPU's (1 GiB: 0.5 s, of which ~30 ms CPU).
 */
export const DEFAULT_WRITEBACK_BYTES = 16 * 1024 * 1024;
/** Default hash workers: 1 on a machine of 2 cores or fewer (one core stays for sockets), else 2. */
export const DEFAULT_HASH_WORKERS = availableParallelism() > 2 ? 2 : 1;
/** What padding (BEP 47) hashes as when a piece is read back: never written, so shared. */
const PADDING_ZEROS = new Uint8Array(64 * 1024);

/** `hash`, then `zeros` zero bytes at its digest: a piece's tail padding, which is never received. */
function zeroTailed(hash: PieceHash, zeros: number): PieceHash {
  return {
    update: (bytes) => hash.update(bytes),
    digest: () => {
      for (let left = zeros; left > 0; left -= PADDING_ZEROS.length)
        hash.update(left >= PADDING_ZEROS.length ? PADDING_ZEROS : PADDING_ZEROS.subarray(0, left));
      return hash.digest();
    },
  };
}
/** Largest block `readBlock` serves: more than any peer may ask (BEP 3 clients use 16 KiB). */
export const MAX_READ_BLOCK_BYTES = 1 << 20;

export interface PieceStoreOptions {
  /**
   * Hash worker threads for pieces read back from disk (`checkPieces`: resume, seeding), started on
   * first use; 0 hashes on the calling thread.
   */
  readonly hashWorkers?: number;
  /** Verify written pieces from the SHA-1 of their writes (default true); false reads every piece back. */
  readonly hashOnWrite?: boolean;
  /**
   * Where runs of blocks are written: 'auto' (default) on the calling thread until a write is slow,
   * then on libuv's thread pool for a while; 'sync' or 'pool' always (write-mode.ts).
   */
  readonly writeMode?: WriteModeSetting;
  /** The clock that times synchronous writes (default performance.now; tests freeze it). */
  readonly now?: () => number;
  readonly maxOpenFiles?: number;
  /**
   * Unsynced bytes after which the store syncs a file in the background (fd-cache.ts, "Writeback");
   * default DEFAULT_WRITEBACK_BYTES, 0 never: then only flush() and close() sync.
   */
  readonly writebackBytes?: number;
  /** Counts bytes queued for the disk, so sockets pause while it is behind (write-backlog.ts). */
  readonly backlog?: WriteBacklog;
  /** Selective download: per file, stored or not (default: every file). See parts-layout.ts. */
  readonly selected?: readonly boolean[];
  /**
   * The stamps the resume file records: per file, then the parts file (selective download). A file
   * that has its recorded stamp at open is bitstate's own: only such a file may be cut to its
   * torrent length; a longer one that is not is refused (store-files.ts). Default: none.
   */
  readonly recorded?: readonly FileStamp[];
  /**
   * Reserve the disk space of each file not on disk or empty at open (fallocate, preallocate.ts;
   * default false), creating it then rather than at its first write: fewer CPU seconds per write on
   * ext4, and a full disk found at once.
   */
  readonly preallocate?: boolean;
  /** Told what became of the preallocation, once it has run (not called when nothing qualified). */
  readonly onPreallocation?: (report: PreallocationReport) => void;
  /** Called with each block given to `writeBlock` once it is written (or failed): its memory is free. */
  readonly releaseBlock?: (block: Uint8Array) => void;
  /**
   * True for a block whose memory waits for `releaseBlock` (a block pool slab): the piece digests
   * may then hold it as it is, where any other block they hold is copied (default: none).
   */
  readonly pooledBlock?: (block: Uint8Array) => boolean;
}

export class PieceStore {
  readonly torrent: Torrent;
  /** Absolute path of each file (null for BEP 47 padding files, which are never created). */
  readonly paths: readonly (string | null)[];
  /** Selective download only: the layout and the parts file (null when no piece is shared). */
  readonly layout: PartsLayout | undefined;
  readonly partsPath: string | null;
  /** Which files are on disk, and creating the others at their first write. */
  readonly #files: StoreFiles;
  readonly #map: FileMap;
  readonly #fds: FdCache;
  readonly #spec: HashJobSpec;
  readonly #workers: number;
  #pool: HashPool | undefined;
  /** SHA-1 of pieces as they are written (undefined: every piece is read back to be verified). */
  readonly #digests: PieceDigests | undefined;
  /**
   * Blocks the digests hold (came ahead of their turn), each with whether its write has finished:
   * such a block goes back to `releaseBlock` only once both are done with it.
   */
  readonly #pinned = new Map<Uint8Array, boolean>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #backlog: WriteBacklog | undefined;
  /** The payload is one file, stored whole: no segments to look up per block. */
  readonly #singleFile: boolean;
  /** Padding is hashed (as zeros): v1 and hybrid, not v2. */
  readonly #v1Padding: boolean;
  readonly #releaseBlock: ((block: Uint8Array) => void) | undefined;
  readonly #pooledBlock: (block: Uint8Array) => boolean;
  readonly #writeMode: WriteMode;
  /** A write failed: the digests hashed bytes that may not be on disk, so pieces are read back. */
  #writeFailed = false;
  readonly #coalescer = new WriteCoalescer((file, buffers, position) =>
    this.#writeRun(file, buffers, position),
  );
  #closed = false;

  private constructor(torrent: Torrent, files: StoreFiles, map: FileMap, opts: PieceStoreOptions) {
    const { paths, layout, partsPath } = files;
    this.torrent = torrent;
    this.paths = paths;
    this.layout = layout;
    this.partsPath = partsPath;
    this.#files = files;
    this.#map = map;
    // With a layout, the parts file is one more target, at index files.length.
    const targets = layout === undefined ? paths : [...paths, partsPath];
    // The cache's own syncs (writeback, a file it evicts) leave writes where they are: they cover
    // at most ~writebackBytes, and no write waited for one (write-mode.ts, "Syncs"). A file is
    // opened through the store's files: created there if it is not on disk yet.
    this.#fds = new FdCache(
      targets,
      opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES,
      undefined,
      opts.writebackBytes ?? DEFAULT_WRITEBACK_BYTES,
      (target) => files.openFile(target),
    );
    this.#backlog = opts.backlog;
    this.#singleFile = layout === undefined && torrent.files.length === 1 && !torrent.files[0]!.padding;
    this.#v1Padding = torrent.version !== 'v2';
    this.#releaseBlock = opts.releaseBlock;
    this.#pooledBlock = opts.pooledBlock ?? (() => false);
    this.#writeMode = new WriteMode(opts.writeMode, opts.now);
    this.#spec = {
      version: torrent.version,
      paths: targets,
      onDisk: files.onDisk,
      ...(layout === undefined ? {} : { layout }),
      files: torrent.files.map((f) => ({ length: f.length, offset: f.offset, padding: f.padding })),
      totalLength: torrent.totalLength,
      pieceLength: torrent.pieceLength,
      pieceCount: torrent.pieceCount,
      pieces: torrent.pieces,
    };
    this.#workers = opts.hashWorkers ?? DEFAULT_HASH_WORKERS;
    this.#digests = opts.hashOnWrite === false ? undefined : this.#hashedAsWritten(torrent);
  }

  /**
   * Hashing pieces as their blocks are written. A piece that ends in padding is written only up to
   * the padding (piece-data-length.ts: the padding is never requested); a v1 piece's SHA-1 then takes
   * the padding as zeros at its end, a v2 piece's merkle root never covers it.
   */
  #hashedAsWritten(torrent: Torrent): PieceDigests {
    const dataLengths = pieceDataLengths(torrent);
    return new PieceDigests(
      (index) => dataLengths.get(index) ?? pieceLengthAt(torrent, index),
      (block) => this.#unpin(block),
      undefined,
      (index) => {
        const hash = createPieceHash(torrent, index);
        const data = dataLengths.get(index);
        return data === undefined || torrent.version === 'v2'
          ? hash
          : zeroTailed(hash, pieceLengthAt(torrent, index) - data);
      },
    );
  }

  /** The hash workers, started on first use: a download that reads nothing back never boots one. */
  #hashPool(): HashPool | undefined {
    if (this.#pool === undefined && this.#workers > 0 && !this.#closed)
      this.#pool = new HashPool(this.#spec, this.#workers);
    return this.#pool;
  }

  /** Runs written on this thread and on the pool, and synchronous ones that were slow (write-mode.ts). */
  get writeStats(): { readonly sync: number; readonly pool: number; readonly slow: number } {
    const m = this.#writeMode;
    return { sync: m.syncWrites, pool: m.poolWrites, slow: m.slowWrites };
  }

  /** What hashing on write did so far (blocks hashed, held, pieces abandoned); undefined when off. */
  get digestStats() {
    return this.#digests?.stats;
  }

  /**
   * Lays out the torrent's files under `outDir` (store-files.ts): existing files are kept, extended
   * when shorter, and refused when longer unless `recorded` as they are; the others are created at
   * their first write (or now, in the background, to be preallocated).
   */
  static async open(torrent: Torrent, outDir: string, opts: PieceStoreOptions = {}): Promise<PieceStore> {
    const map = FileMap.of(torrent);
    const files = await StoreFiles.open(torrent, outDir, opts.selected, opts.recorded);
    const store = new PieceStore(torrent, files, map, opts);
    if (opts.preallocate === true)
      store.#preallocate(files.freshFiles(PREALLOCATE_MIN_BYTES), opts.onPreallocation);
    return store;
  }

  /**
   * Reserves the disk space of the files not on disk or empty at open (preallocate.ts), in the
   * background so the download starts at once, on the fd cache's handles (opened O_NOFOLLOW, never
   * closed under them; a file not on disk is created by that open, unless a write created it
   * first), only if the file system has room to spare for all of them, giving back the blocks of a
   * failed one that no write has touched. Writes may land meanwhile: fallocate and a write into the
   * same file take the inode's lock in turn, and fallocate's mode 0 never changes a byte written.
   * close() waits for the running ones and starts no more. Only files of PREALLOCATE_MIN_BYTES or
   * more are preallocated, so the files created ahead of their writes are few (at most 64 per GiB).
   */
  #preallocate(
    big: readonly { readonly target: number; readonly length: number }[],
    report: ((r: PreallocationReport) => void) | undefined,
  ): void {
    if (big.length === 0) return;
    this.#track(() =>
      preallocateFiles(big, this.#files.root, {
        withFd: (target, fn) => this.#files.changing(target, () => this.#fds.use(target, 0, (h) => fn(h.fd))),
        written: (target) => this.#fds.hasWrites(target),
        closed: () => this.#closed,
      }),
    ).then(
      (r) => {
        if (r !== undefined) report?.(r);
      },
      () => {},
    );
  }

  /** The segments of payload range (at, length) as stored: unselected bytes go to the parts file. */
  #segments(at: number, length: number) {
    const segments = this.#map.segments(at, length);
    return this.layout === undefined ? segments : redirectSegments(this.torrent, this.layout, segments);
  }

  /**
   * True once file `target` is on disk (it was there at open, or the store created it since); the
   * parts file is target `torrent.files.length`. A file not on disk reads as zeros.
   */
  isOnDisk(target: number): boolean {
    return this.#files.isOnDisk(target);
  }

  /**
   * Creates every file the store keeps that is not on disk yet, sparse at its length: the files no
   * block was written to (zero-length files; a file whose pieces all verified as zeros). Called
   * when the download completes, so that it has every selected file the torrent lists, as when
   * every file was created at open. Through the fd cache (bounded), FILE_LANES at a time; resolves
   * with the number created.
   */
  createMissing(): Promise<number> {
    return this.#track(async () => {
      const missing = this.#files.missing();
      await inLanes(missing.length, FILE_LANES, (k) => this.#fds.use(missing[k]!, 0, async () => {}));
      return missing.length;
    });
  }

  /** Makes every write that has finished durable (fdatasync). See docs/resume.md. */
  flush(): Promise<void> {
    // Meanwhile runs are written on the pool: a synchronous write into a file being synced waits.
    return this.#track(() => this.#writeMode.during(this.#fds.flush()));
  }

  /** True once the hash workers were started (only when a piece needs them: none for a fresh download's open). */
  get hashWorkersStarted(): boolean {
    return this.#pool !== undefined;
  }

  /**
   * Settles once a hash worker has loaded (at once with hashWorkers 0): pieces verified before that
   * are hashed on this thread. For tests that must exercise the worker.
   */
  hashWorkersReady(): Promise<void> {
    return this.#hashPool()?.whenReady ?? Promise.resolve();
  }

  /** What was at file `target`'s path when the store opened (the parts file: `torrent.files.length`). */
  foundAtOpen(target: number): FoundAtOpen {
    return this.#files.foundAtOpen(target);
  }

  /**
   * The stamp of every file (null: padding, unselected, not on disk), then the parts file's when
   * there is a layout, for a resume file. Throws `fileRemoved` / `fileTruncated` when a file on disk
   * it looks at was deleted or cut short under us (writes to a deleted file still succeed, into an
   * inode nobody can reach: only a look at the path tells). It looks (one lstat each) at the files
   * this store changed since its last look at them, or with `everyFile` at every file on disk;
   * files not created yet are not looked at (store-files.ts, file-looks.ts).
   */
  stampFiles(opts: { readonly everyFile?: boolean } = {}): Promise<FileStamp[]> {
    return this.#track(() => this.#files.stamps(opts.everyFile === true));
  }

  /** Runs `op` unless closed, remembering it until it settles so `close()` can wait for it. */
  #track<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError('closed', 'the piece store is closed'));
    const p = op();
    this.#inFlight.add(p);
    const done = () => this.#inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Writes `block` at (index, begin) with positional writes; the block is not copied (it must not
   * change until the promise settles). Blocks that continue each other are written together
   * (write-coalescer.ts): blocks of one run share one promise, so a caller that waits on many
   * blocks may keep only the distinct ones.
   */
  writeBlock(index: number, begin: number, block: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError('closed', 'the piece store is closed'));
    let at: number;
    let segments: FileSegment[] | undefined;
    try {
      at = blockOffset(this.torrent, index, begin, block.length);
      if (!this.#singleFile) segments = this.#segments(at, block.length);
    } catch (e) {
      return Promise.reject(e);
    }
    // Hashed (or held) only once the block is known to go somewhere.
    if (this.#digests?.add(index, begin, block, this.#pooledBlock) === true) this.#pinned.set(block, false);
    // One stored file (the common case): the block's place in the payload is its place in the file.
    if (segments === undefined) {
      this.#backlog?.add(block.length);
      return this.#coalescer.write(0, at, block);
    }
    if (segments.length === 1 && !segments[0]!.padding) {
      const s = segments[0]!;
      this.#backlog?.add(s.length);
      return this.#coalescer.write(s.fileIndex, s.fileOffset, block);
    }
    const writes: Promise<void>[] = [];
    let blockPos = 0;
    // Padding bytes hash as zeros whatever the peer sent (BEP 47): such a piece is read back to be
    // verified. A v2 piece's hash ends with its file's bytes (piece-hash.ts): the implicit padding
    // after them is never hashed, so what a peer sent there changes nothing.
    if (this.#v1Padding && segments.some((s) => s.padding)) this.#digests?.abandon(index);
    for (const s of segments) {
      // BEP 47: padding bytes are never stored; verification hashes them as zeros.
      if (!s.padding) {
        this.#backlog?.add(s.length);
        writes.push(
          this.#coalescer.write(s.fileIndex, s.fileOffset, block.subarray(blockPos, blockPos + s.length)),
        );
      }
      blockPos += s.length;
    }
    return Promise.all(writes).then(() => undefined);
  }

  /** Starts now the writes still gathered for piece `index` (it is about to be verified). */
  flushPiece(index: number): void {
    const at = blockOffset(this.torrent, index, 0, 0);
    for (const s of this.#segments(at, pieceLengthAt(this.torrent, index)))
      if (!s.padding) this.#coalescer.flushRange(s.fileIndex, s.fileOffset, s.fileOffset + s.length);
  }

  /** One positional writev of a run of blocks, looping over short writes (positional-io.ts). */
  #writeRun(fileIndex: number, buffers: Uint8Array[], position: number): Promise<void> {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    const path = this.paths[fileIndex] ?? undefined;
    const p = this.#track(() =>
      this.#files.changing(fileIndex, () =>
        this.#fds.use(fileIndex, bytes, (h) => writeRunAt(h, buffers, position, path, this.#writeMode)),
      ),
    );
    const backlog = this.#backlog;
    const release = this.#releaseBlock;
    const done = () => {
      backlog?.done(bytes);
      if (release !== undefined)
        for (const b of buffers)
          if (this.#pinned.has(b)) this.#pinned.set(b, true);
          else release(b);
    };
    p.then(done, () => {
      this.#writeFailed = true;
      done();
    });
    return p;
  }

  /** The digests are done with a block they held: free it if its write is done too. */
  #unpin(block: Uint8Array): void {
    const written = this.#pinned.get(block);
    this.#pinned.delete(block);
    if (written === true) this.#releaseBlock?.(block);
  }

  /** Reads block (index, begin, length) back; padding bytes read as zeros. */
  readBlock(index: number, begin: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return this.#track(async () => {
      if (length > MAX_READ_BLOCK_BYTES)
        throw new StorageError('badRange', `block of ${length} bytes (limit ${MAX_READ_BLOCK_BYTES})`);
      const at = blockOffset(this.torrent, index, begin, length);
      // `into` (at least `length` bytes, the read cache's reused buffer) saves an allocation.
      const out = into === undefined ? new Uint8Array(length) : into.subarray(0, length);
      let blockPos = 0;
      for (const s of this.#segments(at, length)) {
        if (!s.padding) {
          const n = await this.#readAt(
            s.fileIndex,
            out.subarray(blockPos, blockPos + s.length),
            s.length,
            s.fileOffset,
          );
          if (n < s.length)
            throw new StorageError('io', `file ${this.paths[s.fileIndex]} is shorter than the torrent says`);
        } else if (into !== undefined) out.fill(0, blockPos, blockPos + s.length); // a reused buffer
        blockPos += s.length;
      }
      return out;
    });
  }

  /**
   * Reads up to `length` bytes into `buf` at file position `position`; returns the bytes read. A
   * file not on disk yet holds no data: zeros, as the sparse file created at open used to (its
   * pieces do not verify), and it is not created for a read.
   */
  #readAt(fileIndex: number, buf: Uint8Array, length: number, position: number): Promise<number> {
    if (!this.#files.isOnDisk(fileIndex)) {
      buf.fill(0, 0, length);
      return Promise.resolve(length);
    }
    const path = this.paths[fileIndex] ?? undefined;
    return this.#fds.use(fileIndex, 0, (h) => readAt(h, buf, length, position, path));
  }

  /**
   * True when piece `index` matches its SHA-1. Call it once the piece's writes have settled (the
   * storage actor does): a piece written whole through `writeBlock` is checked against the SHA-1 of
   * those writes, with no read; any other is read back and hashed — on a worker once one has loaded
   * (`checkPieces` starts them), else on this thread.
   */
  verifyPiece(index: number): Promise<boolean> {
    return this.#track(async () => {
      blockOffset(this.torrent, index, 0, 0);
      const written = this.#digests?.take(index);
      // After a failed write the bytes hashed may not be the bytes on disk: read back.
      if (written !== undefined && !this.#writeFailed) return hashMatches(this.#spec, index, written);
      return this.#hashFromDisk(index);
    });
  }

  /** Reads piece `index` back and compares its hash: on a worker once one has loaded, else here. */
  async #hashFromDisk(index: number): Promise<boolean> {
    // Until a worker has loaded, hash here (the first pieces need not wait for its boot); a pool
    // whose workers all died answers with why.
    if (this.#pool !== undefined && (this.#pool.ready || this.#pool.dead)) return this.#pool.hash(index);
    const digest = await hashPieceAsync(
      this.#spec,
      index,
      pieceSegments(this.#spec, this.#map, index),
      (fileIndex, buf, length, position) => this.#readAt(fileIndex, buf, length, position),
      new Uint8Array(HASH_CHUNK_BYTES), // one per read back: several may run at once
      PADDING_ZEROS,
    );
    return digest !== undefined && hashMatches(this.#spec, index, digest);
  }

  /**
   * Hashes the pieces already on disk (resume, seeding) — every piece, or only `indexes` — and
   * returns the ones that match: always read back, whatever was hashed on write. Keeps each worker
   * busy with two pieces at a time; `onProgress(checked, total)` after each.
   */
  async checkPieces(
    onProgress?: (checked: number, total: number) => void,
    indexes?: readonly number[],
  ): Promise<Bitfield> {
    const have = new Bitfield(this.torrent.pieceCount);
    const total = indexes?.length ?? this.torrent.pieceCount;
    let checked = 0;
    // Nothing to check (a fresh download): the hash workers are not started for it. They cost ~12 MiB
    // of RSS and their start-up, and a download whose blocks arrive in order may never need them.
    if (total === 0) return have;
    const lanes = Math.max(1, this.#hashPool()?.size ?? 1) * 2;
    await inLanes(total, lanes, async (k) => {
      const index = indexes === undefined ? k : indexes[k]!;
      const ok = await this.#track(async () => {
        blockOffset(this.torrent, index, 0, 0);
        return this.#hashFromDisk(index);
      });
      if (ok) have.set(index);
      onProgress?.(++checked, total);
    });
    // Whole (a seed, or a download found complete), the torrent reads nothing back unless a piece
    // is checked again: its workers (a thread and ~12 MiB of RSS each) go, and start again on first
    // use. A process seeding several torrents (seedMany) then holds none once their checks are done.
    const pool = this.#pool;
    if (have.count === this.torrent.pieceCount && pool !== undefined && !pool.busy) {
      this.#pool = undefined;
      await pool.close();
    }
    return have;
  }

  /** Waits for pending reads and writes, flushes written files (fdatasync), closes them, stops the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#coalescer.flushAll();
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    try {
      await this.#fds.closeAll();
    } finally {
      await this.#pool?.close();
    }
  }
}
