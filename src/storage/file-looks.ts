/**
 * What the store last saw at each of its files' paths — the size and mtime a resume file records
 * (its stamp, resume-file.ts) — and whether the store has changed the file since, so that a resume
 * save looks only at the files it changed (docs/resume.md, "Why the resume file never claims a piece
 * that is not on disk"): a 131,072-file torrent's save stat'ed every file twice, 2.4–4.5 s, every
 * 2 s of the download.
 *
 * The rule: the stamp a resume file records for a file is the one seen at the last look *after
 * the store's last change of it*. Each change (a write, a create, a preallocation) counts once when
 * it starts and once when it ends, and a look remembers the count it was taken at, read before its
 * lstat was issued; so a change that had not ended before a look started leaves the count moved, and
 * the next save looks again. While the count has not moved, every byte the store put in the file
 * was there at the last look: a later stamp equal to that one means the file is as it was then
 * (a claimed piece's bytes are in it), a different one that someone else changed it — the pieces
 * are then hashed at the next start, the safe side, even when the save looked again (the last save
 * of a run looks at every file for removal) and saw the other program's stamp.
 */
import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { FILE_LANES, inLanes } from './in-lanes.js';
import type { FileStamp } from './resume-file.js';
import { StorageError } from './storage-error.js';

/** What is at `path` (lstat: never following a symlink; bigint: its stamp), undefined for nothing. */
export function lstatOf(path: string): Promise<BigIntStats | undefined> {
  return lstat(path, { bigint: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw StorageError.fromSystem(e, 'cannot inspect', path);
  });
}

export class FileLooks {
  /** Per file: changes of the store's started plus changes ended. */
  readonly #changes: Float64Array;
  /** Per file: #changes when its last look was taken; -1: never looked at (or changed since open). */
  readonly #lookedAt: Float64Array;
  readonly #size: Float64Array;
  readonly #mtimeNs: BigInt64Array;

  constructor(count: number) {
    this.#changes = new Float64Array(count);
    this.#lookedAt = new Float64Array(count).fill(-1);
    this.#size = new Float64Array(count);
    this.#mtimeNs = new BigInt64Array(count);
  }

  /** Runs `op`, a change of file `target` by the store, counted when it starts and when it settles. */
  async changing<T>(target: number, op: () => Promise<T>): Promise<T> {
    this.#changes[target]!++;
    try {
      return await op();
    } finally {
      this.#changes[target]!++;
    }
  }

  /** The count a look at `target` is taken at: read it before the lstat is issued. */
  count(target: number): number {
    return this.#changes[target]!;
  }

  /** True when a look at `target` taken at `count` is still current (no change of ours since). */
  current(target: number, count = this.#changes[target]!): boolean {
    return this.#lookedAt[target] === count;
  }

  /** Records a look at `target` taken at `count`. */
  seen(target: number, count: number, st: BigIntStats): void {
    this.#lookedAt[target] = count;
    this.#size[target] = Number(st.size);
    this.#mtimeNs[target] = st.mtimeNs;
  }

  /** The stamp of `target`'s last look (call only when it has one). */
  stamp(target: number): FileStamp {
    return [this.#size[target]!, this.#mtimeNs[target]!.toString()];
  }

  /**
   * The stamp of each of `files` (null: no file, or not on disk), after checking the files on disk
   * it looks at: `fileRemoved` when one is gone (or something other than a regular file is at its
   * path), `fileTruncated` when one is shorter than its torrent length — writes to a deleted file
   * still succeed, into an inode nobody can reach: only a look at the path tells. One lstat per file
   * looked at, FILE_LANES at a time: those the store changed since their last look, or with
   * `everyFile` every file on disk. A file not changed since its last look keeps that look's stamp,
   * even when looked at again (see the top of this file).
   */
  async stamps(
    files: readonly ({ readonly path: string; readonly length: number } | null)[],
    onDisk: (file: number) => boolean,
    everyFile: boolean,
  ): Promise<FileStamp[]> {
    const stamps: FileStamp[] = new Array(files.length).fill(null);
    const look: number[] = [];
    files.forEach((f, i) => {
      if (f == null || !onDisk(i)) return;
      if (everyFile || !this.current(i)) look.push(i);
      else stamps[i] = this.stamp(i);
    });
    await inLanes(look.length, FILE_LANES, async (k) => {
      const i = look[k]!;
      const { path, length } = files[i]!;
      const count = this.count(i);
      const st = await lstatOf(path);
      if (st === undefined)
        throw new StorageError('fileRemoved', `${path} was removed while downloading`, { path });
      if (!st.isFile())
        throw new StorageError(
          'fileRemoved',
          `${path} was replaced while downloading by something that is not a regular file`,
          { path },
        );
      if (st.size < BigInt(length))
        throw new StorageError(
          'fileTruncated',
          `${path} was truncated while downloading (${st.size} bytes, expected ${length})`,
          { path },
        );
      if (!this.current(i, count)) this.seen(i, count, st);
      stamps[i] = this.stamp(i);
    });
    return stamps;
  }
}
