/**
 * Open file handles, at most `max` of them idle at once (least recently used closed first), so a
 * torrent of 100,000 files does not run out of descriptors. A handle in use (refs > 0) is never
 * closed under a pending read or write; the cache may then briefly exceed `max`.
 *
 * Writeback: once the bytes written since their file's last sync add up to `writebackBytes`, the
 * file with the most of them is synced (fdatasync) in the background, one file at a time. The
 * disk then writes while the download goes on, instead of all at once in the sync a resume save or
 * `closeAll()` waits for (issue #8: on 1 GiB from one local seeder that sync took 0.13–0.5 s
 * between the last verified piece and the exit; with writeback, ~10 ms). Each sync covers the
 * writes finished when it started, like `flush()`, and a failed one is reported by the next
 * `flush()` or `closeAll()`.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { removedFile } from './file-looks.js';
import { StorageError } from './storage-error.js';

interface Entry {
  readonly handle: Promise<FileHandle>;
  refs: number;
  /** Writes finished on this handle, and how many of them the last fdatasync covered. */
  writes: number;
  synced: number;
  /** Bytes of finished writes since this file's last sync (flush or writeback) started. */
  dirtyBytes: number;
}

/** Read-write, and never through a symlink at the last component (see layout.ts). */
export const OPEN_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW;

/**
 * Opens a file of the store that is on disk (OPEN_FLAGS): one missing now was deleted under us
 * (`fileRemoved`).
 */
export function openStoreFile(path: string): Promise<FileHandle> {
  return open(path, OPEN_FLAGS).catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw removedFile(path);
    throw StorageError.fromSystem(e, 'cannot open', path);
  });
}

export class FdCache {
  readonly #entries = new Map<number, Entry>();
  readonly #paths: readonly (string | null)[];
  readonly #max: number;
  /** Evicted dirty handles still being flushed and closed; flush() waits for them. */
  readonly #closing = new Set<Promise<void>>();
  /** A sync this cache started itself (eviction, writeback) that failed: reported by the next flush(). */
  #backgroundError: unknown;

  readonly #onSync: (sync: Promise<unknown>) => unknown;
  readonly #writebackBytes: number;
  readonly #openFile: (fileIndex: number, path: string) => Promise<FileHandle>;
  /** The sum of every open file's dirtyBytes. */
  #dirtyBytes = 0;
  /** The background sync running (at most one); closeAll() waits for it. */
  #writeback: Promise<void> | undefined;
  #closedAll = false;
  /** Files a write has started on, ever (a preallocation may give back the blocks of no other). */
  readonly #written = new Set<number>();

  /**
   * `onSync(sync)`: told of each fdatasync this cache starts itself (evicting a written file,
   * writeback); a failure of it is this cache's to report (the next flush()). `writebackBytes`:
   * see above; 0 turns writeback off. `openFile`: how a file is opened (default `openStoreFile`;
   * the store's creates a file not on disk yet, store-files.ts).
   */
  constructor(
    paths: readonly (string | null)[],
    max: number,
    onSync: (sync: Promise<unknown>) => unknown = () => {},
    writebackBytes = 0,
    openFile: (fileIndex: number, path: string) => Promise<FileHandle> = (_, path) => openStoreFile(path),
  ) {
    this.#paths = paths;
    this.#max = Math.max(1, max);
    this.#onSync = onSync;
    this.#writebackBytes = writebackBytes;
    this.#openFile = openFile;
  }

  /**
   * Runs `fn` with the handle of file `fileIndex`, opening it if needed; `written`: the bytes `fn`
   * writes (0 for a read), counted once it has finished.
   */
  async use<T>(fileIndex: number, written: number, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    if (written > 0) this.#written.add(fileIndex);
    let entry = this.#entries.get(fileIndex);
    if (entry === undefined) {
      const path = this.#paths[fileIndex];
      if (path === null || path === undefined)
        throw new StorageError('badRange', `file ${fileIndex} has no path`);
      const handle = this.#openFile(fileIndex, path).catch((e) => {
        this.#entries.delete(fileIndex);
        throw e;
      });
      entry = { handle, refs: 0, writes: 0, synced: 0, dirtyBytes: 0 };
    } else {
      this.#entries.delete(fileIndex); // re-inserted below as most recently used
    }
    this.#entries.set(fileIndex, entry);
    entry.refs++;
    try {
      return await fn(await entry.handle);
    } finally {
      // Counted when the write has finished (or failed): a flush that starts later covers it.
      if (written > 0) {
        entry.writes++;
        // Unless the entry left the cache (its file failed to open): nothing would take them back.
        if (this.#entries.get(fileIndex) === entry) {
          entry.dirtyBytes += written;
          this.#dirtyBytes += written;
        }
      }
      entry.refs--;
      this.#evict();
      this.#writeBackIfDue();
    }
  }

  /** True once a write to `fileIndex` has started (whether or not it has finished). */
  hasWrites(fileIndex: number): boolean {
    return this.#written.has(fileIndex);
  }

  /** Starts a background sync of the file with the most unsynced bytes, when they add up to enough. */
  #writeBackIfDue(): void {
    if (
      this.#writebackBytes <= 0 ||
      this.#closedAll ||
      this.#writeback !== undefined ||
      this.#dirtyBytes < this.#writebackBytes
    )
      return;
    let fileIndex = -1;
    let e: Entry | undefined;
    for (const [i, candidate] of this.#entries)
      if (e === undefined || candidate.dirtyBytes > e.dirtyBytes) {
        fileIndex = i;
        e = candidate;
      }
    if (e === undefined || e.dirtyBytes === 0) return;
    const entry = e;
    const upTo = entry.writes;
    this.#clean(entry);
    entry.refs++; // not evicted (closed) under its sync
    const done = this.#synced(entry.handle.then((h) => h.datasync())).then(
      () => {
        entry.synced = Math.max(entry.synced, upTo);
      },
      (err) => {
        this.#backgroundError ??= StorageError.fromSystem(
          err,
          'cannot flush',
          this.#paths[fileIndex] ?? undefined,
        );
      },
    );
    this.#writeback = done;
    void done.then(() => {
      this.#writeback = undefined;
      entry.refs--;
      this.#evict();
      this.#writeBackIfDue();
    });
  }

  /** A sync of `e` starts: its bytes so far are no longer waiting for one. */
  #clean(e: Entry): void {
    this.#dirtyBytes -= e.dirtyBytes;
    e.dirtyBytes = 0;
  }

  #evict(): void {
    if (this.#entries.size <= this.#max) return;
    for (const [i, e] of this.#entries) {
      if (this.#entries.size <= this.#max) break;
      if (e.refs > 0) continue;
      this.#entries.delete(i);
      this.#clean(e);
      const closing = e.handle
        .then((h) =>
          e.writes > e.synced
            ? this.#synced(h.datasync()).then(
                () => h.close(),
                (err) => {
                  this.#backgroundError ??= StorageError.fromSystem(
                    err,
                    'cannot flush',
                    this.#paths[i] ?? undefined,
                  );
                  return h.close();
                },
              )
            : h.close(),
        )
        .catch(() => {});
      this.#closing.add(closing);
      void closing.finally(() => this.#closing.delete(closing));
    }
  }

  #synced(sync: Promise<void>): Promise<void> {
    this.#onSync(sync);
    return sync;
  }

  /**
   * Makes every write that had finished when flush() was called durable (fdatasync), including
   * those on handles evicted meanwhile. Writes still in flight stay dirty for the next flush.
   */
  async flush(): Promise<void> {
    // A running writeback too: Linux reports a writeback error to one of two overlapping syncs of a
    // file only, so its failure (kept in #backgroundError before it settles) must be seen here.
    const jobs: Promise<void>[] = [...this.#closing];
    if (this.#writeback !== undefined) jobs.push(this.#writeback);
    for (const [i, e] of this.#entries) {
      const upTo = e.writes;
      if (upTo === e.synced) continue;
      this.#clean(e);
      jobs.push(
        e.handle.then(async (h) => {
          try {
            await h.datasync();
          } catch (err) {
            throw StorageError.fromSystem(err, 'cannot flush', this.#paths[i] ?? undefined);
          }
          e.synced = Math.max(e.synced, upTo);
        }),
      );
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (this.#backgroundError !== undefined) throw this.#backgroundError;
  }

  /** Flushes written files to disk (fdatasync) and closes every handle. */
  async closeAll(): Promise<void> {
    this.#closedAll = true;
    await this.#writeback;
    const entries = [...this.#entries.entries()];
    this.#entries.clear();
    this.#dirtyBytes = 0;
    await Promise.all([...this.#closing]);
    const errors: unknown[] = this.#backgroundError === undefined ? [] : [this.#backgroundError];
    await Promise.all(
      entries.map(async ([i, e]) => {
        let h: FileHandle;
        try {
          h = await e.handle;
        } catch {
          return; // never opened: nothing to flush
        }
        try {
          if (e.writes > e.synced) await h.datasync();
        } catch (err) {
          errors.push(StorageError.fromSystem(err, 'cannot flush', this.#paths[i] ?? undefined));
        } finally {
          await h.close().catch(() => {});
        }
      }),
    );
    if (errors.length > 0) throw errors[0];
  }
}
