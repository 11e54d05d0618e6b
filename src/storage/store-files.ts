/**
 * The files a PieceStore writes, on disk: created at open (folders, files sparse at their full
 * size, the parts file of a selective download) and checked later for removal or truncation.
 */
import type { FileHandle } from 'node:fs/promises';
import { constants, mkdir, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
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
 * Lays out the torrent's files under `outDir` (see layout.ts), creating folders, and files at
 * their full size without writing them (ftruncate: sparse where the file system allows).
 * Zero-length files are created too, as libtorrent does. Existing files are kept and set to
 * their torrent length.
 */
export async function createStoreFiles(
  torrent: Torrent,
  outDir: string,
  selected: readonly boolean[] | undefined,
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
  const paths: (string | null)[] = [];
  const created: { target: number; length: number }[] = [];
  for (const [i, loc] of locations.entries()) {
    const f = torrent.files[i]!;
    if (f.padding || (layout !== undefined && !layout.selected[i])) {
      paths.push(null);
      continue;
    }
    await makeDirectories(root, loc.dirs, made);
    if (await sizeFile(loc.path, f.length)) created.push({ target: i, length: f.length });
    paths.push(loc.path);
  }
  let partsPath: string | null = null;
  if (layout !== undefined && layout.sharedPieces.length > 0) {
    partsPath = partsFilePath(torrent, root);
    await makeDirectories(root, [STATE_DIR], made);
    const length = layout.sharedPieces.length * torrent.pieceLength;
    if (await sizeFile(partsPath, length)) created.push({ target: torrent.files.length, length });
  }
  return { paths, layout, partsPath, created };
}

/**
 * Throws `fileRemoved` / `fileTruncated` when a file was deleted or cut short under us (writes
 * to a deleted file still succeed, into an inode nobody can reach: only a look at the path tells).
 */
export async function checkStoreFiles(
  targets: readonly { readonly path: string; readonly length: number }[],
): Promise<void> {
  for (const { path, length } of targets) {
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
  }
}

/**
 * Creates `path` if needed and sets it to `length` bytes (sparse), never through a symlink. True
 * when the file was new or empty.
 */
async function sizeFile(path: string, length: number): Promise<boolean> {
  let h: FileHandle | undefined;
  try {
    h = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o666);
    const before = (await h.stat()).size;
    if (before !== length) await h.truncate(length);
    return before === 0;
  } catch (e) {
    throw StorageError.fromSystem(e, 'cannot create', path);
  } finally {
    await h?.close();
  }
}
