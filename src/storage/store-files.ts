/**
 * The files a PieceStore writes, on disk: looked at when the store opens, created when first
 * written (as libtorrent does), and checked later for removal or truncation.
 *
 * Why not create them at open: on this VM's ext4 a create costs ~0.47 ms and creates in one folder
 * do not overlap, so a 131,072-file torrent spent 20–60 s creating files before its first
 * connection (docs/robustness.md). At open a file is only looked at (`lstat`); one that is not
 * there is created — its folders too, then the file sparse at its full length — by the fd cache
 * the first time the store opens it, which is for a write (a read of a file not on disk reads
 * zeros, what the sparse file created at open used to hold, without creating it). The files
 * never written (zero-length files, a file whose pieces all verified as zeros) are created when
 * the download completes (`PieceStore.createMissing`).
 *
 * Never lost data (docs/storage.md, "Files already there"): a file is never made shorter unless
 * bitstate vouches for it (its resume file records it as it is now: same size and mtime). A file
 * longer than the torrent's cannot be this torrent's data, whole or partial — no client leaves one
 * so — so it is someone else's and the open is refused (`foreignFile`, bad input) before anything
 * is created; so is anything at a file's path that is not a regular file, and a symlink at a file's
 * path or in its folders (`pathEscape`). A shorter file is extended (its bytes stay) and hashed.
 */
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { constants, mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { foldName } from '../metainfo/case-collisions.js';
import type { Torrent } from '../metainfo/torrent.js';
import { openStoreFile } from './fd-cache.js';
import { FileLooks, inodesStable, lstatOf } from './file-looks.js';
import { FILE_LANES, inLanes } from './in-lanes.js';
import { existingFolders, fileLocations, makeDirectories } from './layout.js';
import { type PartsLayout, partsLayout } from './parts-layout.js';
import { type FileStamp, sameStamp, stampOfStats } from './resume-file.js';
import { StorageError } from './storage-error.js';

/** Our own folder under `--out`: resume files and parts files (docs/resume.md). */
export const STATE_DIR = '.bitstate';

/** bitstate's own folder under the output folder `out` (resume files, parts files, a magnet's metadata). */
export function stateDirOf(out: string): string {
  return join(resolve(out), STATE_DIR);
}

/**
 * `<dir>/.bitstate/dht.dat`: the DHT's node id and nodes between runs (src/dht/dht-state.ts), of
 * the download or seed that uses `dir` (docs/dht.md).
 */
export function dhtStatePathOf(dir: string): string {
  return join(stateDirOf(dir), 'dht.dat');
}

/** `<out>/.bitstate/<infohash>.parts`: unselected files' bytes of shared pieces. */
export function partsFilePath(torrent: Pick<Torrent, 'infoHashHex'>, outDir: string): string {
  return join(stateDirOf(outDir), `${torrent.infoHashHex}.parts`);
}

/** One file the store writes: a torrent file it stores, or the parts file. */
interface Target {
  readonly path: string;
  /** Folder components between the output folder and the file. */
  readonly dirs: readonly string[];
  readonly length: number;
  /** The parts file: ours whatever its stamp (it is under our own folder). */
  readonly parts: boolean;
}

/** What was at a target's path when the store opened. */
export type FoundAtOpen =
  /** Nothing (or the file's folder was not there). */
  | 'absent'
  /** A file with the stamp the resume file records: bitstate's own, as it left it. */
  | 'asRecorded'
  /** A file with another stamp, or none recorded. */
  | 'changed';

/**
 * The store's files: where each lives, which are on disk, and creating the others. Targets are the
 * torrent's files by index, then the parts file at `torrent.files.length` (selective download).
 */
export class StoreFiles {
  readonly root: string;
  /** Absolute path of each torrent file (null for padding files and unselected files). */
  readonly paths: readonly (string | null)[];
  /** Selective download only: the layout and the parts file (null when no piece is shared). */
  readonly layout: PartsLayout | undefined;
  readonly partsPath: string | null;
  /**
   * Per target, 1 once its file is on disk (there at open, or created by the store since), on a
   * SharedArrayBuffer: the hash workers read it too, so a file not created yet reads as zeros there
   * as well, while one that was on disk and is gone is still `fileRemoved`.
   */
  readonly onDisk: Uint8Array;
  readonly #targets: readonly (Target | null)[];
  /** Per target, its size at open (-1: not on disk). */
  readonly #sizeAtOpen: Float64Array;
  /** Per target, 1 when it had the stamp the resume file records at open. */
  readonly #asRecorded: Uint8Array;
  /** What the store last saw at each path, and its changes since (file-looks.ts). */
  readonly #looks: FileLooks;

  private constructor(
    root: string,
    paths: (string | null)[],
    layout: PartsLayout | undefined,
    partsPath: string | null,
    targets: (Target | null)[],
    onDisk: Uint8Array,
    sizeAtOpen: Float64Array,
    asRecorded: Uint8Array,
    looks: FileLooks,
  ) {
    this.root = root;
    this.paths = paths;
    this.layout = layout;
    this.partsPath = partsPath;
    this.#targets = targets;
    this.onDisk = onDisk;
    this.#sizeAtOpen = sizeAtOpen;
    this.#asRecorded = asRecorded;
    this.#looks = looks;
  }

  /**
   * Looks at every path the store will write under `outDir` (see layout.ts) — each folder once,
   * each file in a folder that is there once (one lstat: its check and its stamp) — creating only
   * the output folder. An existing file is kept: extended to its torrent length when shorter,
   * refused (`foreignFile`) when longer unless it has the stamp `recorded[i]` (the resume file's:
   * then it is bitstate's own) or is the parts file, and then cut to its length. Every path is
   * checked before any file is changed. `recorded`: per target, the torrent files then the parts
   * file.
   */
  static async open(
    torrent: Torrent,
    outDir: string,
    selected: readonly boolean[] | undefined,
    recorded: readonly FileStamp[] = [],
  ): Promise<StoreFiles> {
    const root = resolve(outDir);
    const locations = fileLocations(torrent, root);
    // Compared as a case-insensitive file system compares names (`.BITSTATE` is `.bitstate` there).
    if (foldName(torrent.name) === STATE_DIR)
      throw new StorageError(
        'pathEscape',
        `a torrent named ${torrent.name} would mix with bitstate's own folder ${STATE_DIR}`,
        { badInput: true },
      );
    const layout =
      selected === undefined || selected.every((s, i) => s || torrent.files[i]!.padding)
        ? undefined
        : partsLayout(torrent, selected);
    await makeOutputFolder(root);
    const paths = locations.map((loc, i) => {
      const f = torrent.files[i]!;
      return f.padding || (layout !== undefined && !layout.selected[i]) ? null : loc.path;
    });
    const partsPath =
      layout !== undefined && layout.sharedPieces.length > 0 ? partsFilePath(torrent, root) : null;
    const targets: (Target | null)[] = paths.map((path, i) =>
      path === null
        ? null
        : { path, dirs: locations[i]!.dirs, length: torrent.files[i]!.length, parts: false },
    );
    if (layout !== undefined)
      targets.push(
        partsPath === null
          ? null
          : {
              path: partsPath,
              dirs: [STATE_DIR],
              length: layout.sharedPieces.length * torrent.pieceLength,
              parts: true,
            },
      );
    // First every check, so a refusal leaves nothing changed. Files in a folder that is not there
    // are not looked at: a fresh download of 100,000 files costs a few lstats.
    const inFolder = await existingFolders(
      root,
      targets.map((t) => t?.dirs ?? null),
    );
    const look = targets.flatMap((t, i) => (t != null && inFolder[i] ? [i] : []));
    const sizes = new Float64Array(targets.length).fill(-1); // -1: not there
    const asRecorded = new Uint8Array(targets.length);
    const looks = new FileLooks(targets.length, await inodesStable(root));
    const mayShrink = new Uint8Array(targets.length);
    await inLanes(look.length, FILE_LANES, async (k) => {
      const i = look[k]!;
      const t = targets[i]!;
      const st = await lstatOf(t.path);
      if (st === undefined) return;
      if (sameStamp(recorded[i], stampOfStats(st))) asRecorded[i] = 1;
      if (t.parts || asRecorded[i] === 1) mayShrink[i] = 1;
      checkExisting(t, st, mayShrink[i] === 1);
      looks.identify(i, st, t.path);
      sizes[i] = Number(st.size);
      // The first look of a file left as it is: a resume save need not look again until the store
      // changes it. One resized below is looked at by the first save.
      if (sizes[i] === t.length) looks.seen(i, looks.count(i), st);
    });
    const onDisk = new Uint8Array(new SharedArrayBuffer(targets.length));
    const resize: number[] = [];
    targets.forEach((t, i) => {
      const size = sizes[i]!;
      if (t == null || size < 0) return;
      onDisk[i] = 1;
      if (size !== t.length) resize.push(i);
    });
    // Rare (another client's partial file, ours grown before a crash): most files are right.
    await inLanes(resize.length, FILE_LANES, async (k) => {
      const i = resize[k]!;
      const t = targets[i]!;
      const { handle, stats } = await sizedFile(t, mayShrink[i] === 1);
      try {
        looks.identify(i, stats, t.path);
      } finally {
        await handle.close();
      }
    });
    return new StoreFiles(root, paths, layout, partsPath, targets, onDisk, sizes, asRecorded, looks);
  }

  /**
   * Opens `target`'s file for the fd cache (read-write, never through a symlink). One not on disk
   * yet is created first — its folders, then the file sparse at its length — and counts as on disk
   * from then on; one on disk that is gone was deleted under us, and one that is another file than
   * the store's (its device and inode: one fstat of the handle) was replaced (both `fileRemoved`).
   */
  async openFile(target: number): Promise<FileHandle> {
    const t = this.#targets[target];
    if (t == null) throw new StorageError('badRange', `file ${target} has no path`);
    if (this.isOnDisk(target)) {
      const h = await openStoreFile(t.path);
      if (!this.#looks.checksInodes) return h;
      try {
        this.#looks.identify(target, await statOf(h, t.path), t.path);
        return h;
      } catch (e) {
        await h.close().catch(() => {});
        throw e;
      }
    }
    // Every folder looked at again, right before the create, not remembered from an earlier one: a
    // folder swapped for a symlink since would have the create land wherever it points (O_NOFOLLOW
    // covers only the last component). One lstat per component per file created.
    return this.changing(target, async () => {
      await makeDirectories(this.root, t.dirs);
      const { handle, stats } = await sizedFile(t, t.parts);
      try {
        this.#looks.identify(target, stats, t.path);
      } catch (e) {
        await handle.close().catch(() => {});
        throw e;
      }
      Atomics.store(this.onDisk, target, 1);
      return handle;
    });
  }

  /**
   * Runs `op`, which changes `target`'s file (a write, a preallocation), so that the next resume
   * save looks at the file again (file-looks.ts).
   */
  changing<T>(target: number, op: () => Promise<T>): Promise<T> {
    return this.#looks.changing(target, op);
  }

  /** What was at `target`'s path when the store opened. */
  foundAtOpen(target: number): FoundAtOpen {
    if (!(this.#sizeAtOpen[target]! >= 0)) return 'absent';
    return this.#asRecorded[target] === 1 ? 'asRecorded' : 'changed';
  }

  /**
   * The stamp of every target for a resume file (null: none, or not on disk), each file on disk the
   * store changed since its last look (or, `everyFile`, every one) looked at and checked for removal
   * and truncation: FileLooks.stamps.
   */
  stamps(everyFile = false): Promise<FileStamp[]> {
    return this.#looks.stamps(this.#targets, (i) => this.isOnDisk(i), everyFile);
  }

  /**
   * The targets of `minLength` bytes or more that were not on disk or were empty at open: the only
   * ones that may be preallocated (preallocate.ts). A file that had data keeps its mtime, which the
   * resume file checks.
   */
  freshFiles(minLength: number): { target: number; length: number }[] {
    const out: { target: number; length: number }[] = [];
    this.#targets.forEach((t, i) => {
      if (t != null && t.length >= minLength && this.#sizeAtOpen[i]! <= 0)
        out.push({ target: i, length: t.length });
    });
    return out;
  }

  /** True once `target`'s file is on disk (there at open, or created since). */
  isOnDisk(target: number): boolean {
    return target >= 0 && target < this.onDisk.length && Atomics.load(this.onDisk, target) === 1;
  }

  /** The torrent files the store keeps that are not on disk (never written, zero-length ones). */
  missing(): number[] {
    const out: number[] = [];
    this.paths.forEach((p, i) => {
      if (p !== null && !this.isOnDisk(i)) out.push(i);
    });
    return out;
  }
}

/** The refusal of a file that is not ours to resize (see the top of this file). */
function foreignFile(path: string, size: number, length: number): StorageError {
  return new StorageError(
    'foreignFile',
    `${path} already exists with ${size} bytes, more than the torrent's ${length}: it is not this torrent's data and bitstate will not cut it; move it away or download to another folder`,
    { path, badInput: true },
  );
}

/**
 * Throws unless what is at the target's path may become the store's file: a regular file no longer
 * than its length (or any when `mayShrink`). A symlink is refused: the store's open would refuse it
 * (O_NOFOLLOW), only later.
 */
function checkExisting({ path, length }: Target, st: BigIntStats, mayShrink: boolean): void {
  if (st.isSymbolicLink())
    throw new StorageError('pathEscape', `refusing to follow the symlink ${path}`, { path, badInput: true });
  if (!st.isFile())
    throw new StorageError(
      'foreignFile',
      `${path} already exists and is not a regular file; move it away or download to another folder`,
      { path, badInput: true },
    );
  if (st.size > BigInt(length) && !mayShrink) throw foreignFile(path, Number(st.size), length);
}

/** The handle's file (fstat; bigint, as lstatOf: its device and inode). */
function statOf(h: FileHandle, path: string): Promise<BigIntStats> {
  return h.stat({ bigint: true }).catch((e) => {
    throw StorageError.fromSystem(e, 'cannot inspect', path);
  });
}

/**
 * Opens the target's file read-write, creating it if needed, at its length (sparse): never through
 * a symlink, never blocking on a FIFO swapped in since the check (O_NONBLOCK), never shorter unless
 * `mayShrink`. With the handle, the file it opened (its fstat, before the resize).
 */
async function sizedFile(
  { path, length }: Target,
  mayShrink: boolean,
): Promise<{ handle: FileHandle; stats: BigIntStats }> {
  let h: FileHandle | undefined;
  try {
    h = await open(
      path,
      constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o666,
    );
    const st = await h.stat({ bigint: true });
    if (!st.isFile())
      throw new StorageError('foreignFile', `${path} already exists and is not a regular file`, {
        path,
        badInput: true,
      });
    const size = Number(st.size);
    if (size > length && !mayShrink) throw foreignFile(path, size, length);
    if (size !== length) await h.truncate(length);
    return { handle: h, stats: st };
  } catch (e) {
    await h?.close().catch(() => {});
    throw StorageError.fromSystem(e, 'cannot create', path);
  }
}

/** The output folder `root`, made with its parents when missing (`-o` may name a new folder). */
export async function makeOutputFolder(root: string): Promise<void> {
  await mkdir(root, { recursive: true }).catch((e) => {
    throw StorageError.fromSystem(e, 'cannot create the output folder', root);
  });
}
