/**
 * The files a PieceStore writes, on disk: created at open (folders, files sparse at their full
 * size, the parts file of a selective download) and checked later for removal or truncation.
 *
 * Never lost data (docs/storage.md, "Files already there"): a file is never made shorter unless
 * bitstate vouches for it (its resume file records it as it is now: same size and mtime). A file
 * longer than the torrent's cannot be this torrent's data, whole or partial — no client leaves one
 * so — so it is someone else's and the open is refused (`foreignFile`, bad input) before anything
 * is created; so is anything at a file's path that is not a regular file. A shorter file is
 * extended (its bytes stay) and hashed.
 */
import type { FileHandle } from 'node:fs/promises';
import { constants, lstat, mkdir, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import { inLanes } from './in-lanes.js';
import { fileLocations, makeDirectories } from './layout.js';
import { type PartsLayout, partsLayout } from './parts-layout.js';
import { StorageError } from './storage-error.js';

/** Our own folder under `--out`: resume files and parts files (docs/resume.md). */
export const STATE_DIR = '.bitstate';

/** `<out>/.bitstate/<infohash>.parts`: unselected files' bytes of shared pieces. */
export function partsFilePath(torrent: Pick<Torrent, 'infoHashHex'>, outDir: string): string {
  return join(resolve(outDir), STATE_DIR, `${torrent.infoHashHex}.parts`);
}

/** What `createStoreFiles` laid out. */
export interface StoreFiles {
  /** Absolute path of each file (null for padding files and unselected files). */
  readonly paths: (string | null)[];
  /** Selective download only: the layout and the parts file (null when no piece is shared). */
  readonly layout: PartsLayout | undefined;
  readonly partsPath: string | null;
  /**
   * The files created now, or empty before: their target index (the parts file is
   * `torrent.files.length`) and length. Only these may be preallocated (preallocate.ts): a file
   * that had data keeps its mtime, which the resume file checks.
   */
  readonly created: readonly { readonly target: number; readonly length: number }[];
}

/**
 * File-system calls in flight at once while the store's files are checked and created (in-lanes.ts):
 * enough to keep libuv's four pool threads busy; 131,072 one-byte files took 56 s one at a time.
 */
export const FILE_LANES = 16;

/**
 * Lays out the torrent's files under `outDir` (see layout.ts), creating folders, and files at
 * their full size without writing them (ftruncate: sparse where the file system allows).
 * Zero-length files are created too, as libtorrent does. An existing file is kept: extended to its
 * torrent length when shorter, refused (`foreignFile`) when longer unless `owned[i]` — the resume
 * file vouches that it is bitstate's — and then cut to its length. The parts file, in our own
 * folder, is always ours. Every path is checked before anything is created.
 */
export async function createStoreFiles(
  torrent: Torrent,
  outDir: string,
  selected: readonly boolean[] | undefined,
  owned: readonly boolean[] = [],
): Promise<StoreFiles> {
  const root = resolve(outDir);
  const locations = fileLocations(torrent, root);
  if (torrent.name === STATE_DIR)
    throw new StorageError(
      'pathEscape',
      `a torrent named ${STATE_DIR} would mix with bitstate's own folder`,
      {
        badInput: true,
      },
    );
  const layout =
    selected === undefined || selected.every((s, i) => s || torrent.files[i]!.padding)
      ? undefined
      : partsLayout(torrent, selected);
  const made = new Set<string>();
  await mkdir(root, { recursive: true }).catch((e) => {
    throw StorageError.fromSystem(e, 'cannot create the output folder', root);
  });
  const stored = locations.map((loc, i) => {
    const f = torrent.files[i]!;
    return f.padding || (layout !== undefined && !layout.selected[i]) ? null : loc.path;
  });
  const partsPath =
    layout !== undefined && layout.sharedPieces.length > 0 ? partsFilePath(torrent, root) : null;
  const partsLength = (layout?.sharedPieces.length ?? 0) * torrent.pieceLength;
  // First every check, so a refusal leaves nothing behind (no folder, no empty file). Files in a
  // folder that is not there are not looked at: a fresh download of 100,000 files costs one lstat.
  const folders = new Map<string, boolean>();
  const folderExists = async (dirs: readonly string[]): Promise<boolean> => {
    let at = root;
    for (const d of dirs) {
      at = join(at, d);
      let known = folders.get(at);
      if (known === undefined) {
        known = (await lstat(at).catch(() => undefined)) !== undefined;
        folders.set(at, known);
      }
      if (!known) return false;
    }
    return true;
  };
  await inLanes(stored.length, FILE_LANES, async (i) => {
    const path = stored[i]!;
    if (path !== null && (await folderExists(locations[i]!.dirs)))
      await checkExisting(path, torrent.files[i]!.length, owned[i] === true);
  });
  if (partsPath !== null) await checkExisting(partsPath, partsLength, true);
  const fresh = new Uint8Array(stored.length); // 1: the file was empty or new (sizeFile)
  await inLanes(stored.length, FILE_LANES, async (i) => {
    const path = stored[i]!;
    if (path === null) return;
    await makeDirectories(root, locations[i]!.dirs, made);
    if (await sizeFile(path, torrent.files[i]!.length, owned[i] === true)) fresh[i] = 1;
  });
  const paths: (string | null)[] = stored;
  const created: { target: number; length: number }[] = [];
  for (let i = 0; i < stored.length; i++)
    if (fresh[i] === 1) created.push({ target: i, length: torrent.files[i]!.length });
  if (partsPath !== null) {
    await makeDirectories(root, [STATE_DIR], made);
    if (await sizeFile(partsPath, partsLength, true))
      created.push({ target: torrent.files.length, length: partsLength });
  }
  return { paths, layout, partsPath, created };
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
 * Throws unless whatever is at `path` may become a store file of `length` bytes: nothing, or a
 * regular file no longer than `length` (or any regular file when `mayShrink`). Never follows a
 * symlink (lstat: the open refuses one anyway, with `pathEscape`).
 */
async function checkExisting(path: string, length: number, mayShrink: boolean): Promise<void> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw StorageError.fromSystem(e, 'cannot inspect', path);
  });
  if (st === undefined || st.isSymbolicLink()) return;
  if (!st.isFile())
    throw new StorageError(
      'foreignFile',
      `${path} already exists and is not a regular file; move it away or download to another folder`,
      { path, badInput: true },
    );
  if (st.size > length && !mayShrink) throw foreignFile(path, st.size, length);
}

/**
 * Throws `fileRemoved` / `fileTruncated` when a file was deleted or cut short under us (writes
 * to a deleted file still succeed, into an inode nobody can reach: only a look at the path tells).
 */
export async function checkStoreFiles(
  targets: readonly { readonly path: string; readonly length: number }[],
): Promise<void> {
  await inLanes(targets.length, FILE_LANES, async (i) => {
    const { path, length } = targets[i]!;
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        throw new StorageError('fileRemoved', `${path} was removed while downloading`, { path });
      throw StorageError.fromSystem(e, 'cannot inspect', path);
    });
    if (st.size < length)
      throw new StorageError(
        'fileTruncated',
        `${path} was truncated while downloading (${st.size} bytes, expected ${length})`,
        { path },
      );
  });
}

/**
 * Creates `path` if needed and sets it to `length` bytes (sparse), never through a symlink, never
 * blocking on a FIFO swapped in since the check (O_NONBLOCK), and never shorter unless
 * `mayShrink`. True when the file was new or empty.
 */
async function sizeFile(path: string, length: number, mayShrink: boolean): Promise<boolean> {
  let h: FileHandle | undefined;
  try {
    h = await open(
      path,
      constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o666,
    );
    const st = await h.stat();
    if (!st.isFile())
      throw new StorageError('foreignFile', `${path} already exists and is not a regular file`, {
        path,
        badInput: true,
      });
    const before = st.size;
    if (before > length && !mayShrink) throw foreignFile(path, before, length);
    if (before !== length) await h.truncate(length);
    return before === 0;
  } catch (e) {
    throw StorageError.fromSystem(e, 'cannot create', path);
  } finally {
    await h?.close();
  }
}
