/**
 * Open file handles, at most `max` of them idle at once (least recently used closed first), so a
 * torrent of 100,000 files does not run out of descriptors. A handle in use (refs > 0) is never
 * closed under a pending read or write; the cache may then briefly exceed `max`.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { StorageError } from './storage-error.js';

interface Entry {
  readonly handle: Promise<FileHandle>;
  refs: number;
  /** Writes finished on this handle, and how many of them the last fdatasync covered. */
  writes: number;
  synced: number;
}

/** Read-write, and never through a symlink at the last component (see layout.ts). */
export const OPEN_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW;

export class FdCache {
  readonly #entries = new Map<number, Entry>();
  readonly #paths: readonly (string | null)[];
  readonly #max: number;
  /** Evicted dirty handles still being flushed and closed; flush() waits for them. */
  readonly #closing = new Set<Promise<void>>();
  /** A flush of an evicted handle that failed: reported by the next flush(). */
  #evictError: unknown;

  readonly #onSync: (sync: Promise<unknown>) => unknown;

  /**
   * `onSync(sync)`: told of each fdatasync this cache starts itself (evicting a written file); a
   * failure of it is this cache's to report (the next flush()).
   */
  constructor(
    paths: readonly (string | null)[],
    max: number,
    onSync: (sync: Promise<unknown>) => unknown = () => {},
  ) {
    this.#paths = paths;
    this.#max = Math.max(1, max);
    this.#onSync = onSync;
  }

  /** Runs `fn` with the handle of file `fileIndex`, opening it if needed. */
  async use<T>(fileIndex: number, write: boolean, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(fileIndex);
    if (entry === undefined) {
      const path = this.#paths[fileIndex];
      if (path === null || path === undefined)
        throw new StorageError('badRange', `file ${fileIndex} has no path`);
      const handle = open(path, OPEN_FLAGS).catch((e) => {
        this.#entries.delete(fileIndex);
        // Every file was created at open: one missing now was deleted under us.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new StorageError('fileRemoved', `${path} was removed while downloading`, { path });
        throw StorageError.fromSystem(e, 'cannot open', path);
      });
      entry = { handle, refs: 0, writes: 0, synced: 0 };
    } else {
      this.#entries.delete(fileIndex); // re-inserted below as most recently used
    }
    this.#entries.set(fileIndex, entry);
    entry.refs++;
    try {
      return await fn(await entry.handle);
    } finally {
      // Counted when the write has finished (or failed): a flush that starts later covers it.
      if (write) entry.writes++;
      entry.refs--;
      this.#evict();
    }
  }

  #evict(): void {
    if (this.#entries.size <= this.#max) return;
    for (const [i, e] of this.#entries) {
      if (this.#entries.size <= this.#max) break;
      if (e.refs > 0) continue;
      this.#entries.delete(i);
      const closing = e.handle
        .then((h) =>
          e.writes > e.synced
            ? this.#synced(h.datasync()).then(
                () => h.close(),
                (err) => {
                  this.#evictError ??= StorageError.fromSystem(
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
    const jobs: Promise<void>[] = [...this.#closing];
    for (const [i, e] of this.#entries) {
      const upTo = e.writes;
      if (upTo === e.synced) continue;
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
    if (this.#evictError !== undefined) throw this.#evictError;
  }

  /** Flushes written files to disk (fdatasync) and closes every handle. */
  async closeAll(): Promise<void> {
    const entries = [...this.#entries.entries()];
    this.#entries.clear();
    await Promise.all([...this.#closing]);
    const errors: unknown[] = this.#evictError === undefined ? [] : [this.#evictError];
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
