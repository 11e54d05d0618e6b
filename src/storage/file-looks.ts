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
 *
 * What that does not cover, and what does:
 * - Another file at the path (renamed over ours, or ours removed and a new one made): the store's
 *   writes went to the file it replaced, and the pieces verified there are not in this one. Each
 *   look, and each open of the file by the store, compares the device and inode with the file the
 *   store found or created (`identify`): another one is `fileRemoved`, as a removal is — found by
 *   the next save when the store changed the file since its last look, by the fd cache's next open
 *   of it, and by the last save of a run at the latest. The resume file keeps the stamps of the last
 *   save that succeeded. No extra call for a look (the lstat's own device and inode), one fstat per
 *   open of a file on disk (a create already had one), one statfs per store open; not on file
 *   systems whose inode numbers are made up at each load (inodesStable). Not seen: a replacement
 *   that gets the very inode number back (ours removed and its handle closed before the new file
 *   was made: the file system may reuse it).
 * - Another program's edit of the file itself (same inode) while the store changed it since its
 *   last look: the save that follows looks and records the edited file's stamp, and the restart
 *   trusts the pieces it claims there. Only an edit of a file the store did not change between its
 *   last look and the next save is hashed by the restart. Telling the rest apart would mean hashing
 *   every piece the store claims at each save; libtorrent and Transmission compare the size and
 *   mtime at start only, so do not either.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, statfs } from 'node:fs/promises';
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

/**
 * Linux file systems known to keep a file's inode number for as long as the file exists (statfs
 * magic numbers): ext2/3/4, xfs, btrfs, tmpfs, zfs, f2fs, bcachefs. Others are not trusted with the
 * identity check: vfat and exfat make inode numbers up when an inode is loaded (`iunique()`), FUSE
 * has whatever its daemon says, CIFS without server inode numbers and vboxsf allocate them, and an
 * overlayfs copy-up can change one; there a file whose handle was closed could look "replaced" and
 * fail a download that is fine (the final read of this change listed them).
 */
const STABLE_INODES = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0xf2f52010, 0xca451a4e,
]);

/**
 * True when the file system holding `root` is known to keep a file's inode number (one statfs):
 * then a file at a path with another device or inode than the store's is another file. Unknown (or
 * statfs failed): false, so the identity of files is not checked (as before it was).
 */
export async function inodesStable(root: string): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  try {
    return STABLE_INODES.has((await statfs(root)).type);
  } catch {
    return false;
  }
}

/** A file of the store gone from `path` (deleted under us while downloading). */
export function removedFile(path: string): StorageError {
  return new StorageError('fileRemoved', `${path} was removed while downloading`, { path });
}

/** Another file at `path` than the one the store has been writing (rename over it, rm + create). */
export function replacedFile(path: string): StorageError {
  return new StorageError('fileRemoved', `${path} was replaced by another file while downloading`, {
    path,
  });
}

export class FileLooks {
  /** Per file: changes of the store's started plus changes ended. */
  readonly #changes: Float64Array;
  /** Per file: #changes when its last look was taken; -1: never looked at (or resized at open). */
  readonly #lookedAt: Float64Array;
  readonly #size: Float64Array;
  readonly #mtimeNs: BigInt64Array;
  /** Per file: the device and inode of the store's file, once known (#known 1). */
  readonly #dev: BigUint64Array;
  readonly #ino: BigUint64Array;
  readonly #known: Uint8Array;
  /** False where inode numbers are not stable (inodesStable): identities are then not compared. */
  readonly checksInodes: boolean;

  constructor(count: number, checksInodes = true) {
    this.#changes = new Float64Array(count);
    this.#lookedAt = new Float64Array(count).fill(-1);
    this.#size = new Float64Array(count);
    this.#mtimeNs = new BigInt64Array(count);
    this.#dev = new BigUint64Array(count);
    this.#ino = new BigUint64Array(count);
    this.#known = new Uint8Array(count);
    this.checksInodes = checksInodes;
  }

  /**
   * `st` is `target`'s file as the store found it (at its open's look, or from the handle it
   * opened or created): the first one is recorded as the store's file; any later one with another
   * device or inode is another file at its path (`replacedFile`): the store's writes went to the
   * file it replaced, or the pieces verified in it are not in this one.
   */
  identify(target: number, st: BigIntStats, path: string): void {
    if (!this.checksInodes) return;
    const dev = BigInt.asUintN(64, st.dev);
    const ino = BigInt.asUintN(64, st.ino);
    if (this.#known[target] === 0) {
      this.#dev[target] = dev;
      this.#ino[target] = ino;
      this.#known[target] = 1;
    } else if (this.#dev[target] !== dev || this.#ino[target] !== ino) throw replacedFile(path);
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
   * path, or another file than the store's: `identify`), `fileTruncated` when one is shorter than
   * its torrent length — writes to a deleted or replaced file still succeed, into an inode nobody
   * can reach: only a look at the path tells. One lstat per file
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
      if (st === undefined) throw removedFile(path);
      if (!st.isFile())
        throw new StorageError(
          'fileRemoved',
          `${path} was replaced while downloading by something that is not a regular file`,
          { path },
        );
      this.identify(i, st, path);
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
