/**
 * Where each file of a torrent lands, laid out as other clients lay it out:
 *
 *   single-file torrent → <out>/<name>
 *   multi-file torrent  → <out>/<name>/<path…>
 *
 * Nothing may land outside <out>. parseTorrent already rejects unsafe paths, but storage checks
 * again, because a Torrent object can be built by hand (or by a future metadata path, BEP 9):
 * every component must be a plain name (not '', '.', '..', no '/', '\', NUL), the resolved path
 * must be inside <out>, directories are created one component at a time refusing any that is a
 * symlink, and files are opened with O_NOFOLLOW (see piece-store.ts) so a symlink planted at the
 * last component is refused too.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import { FILE_LANES, inLanes } from './in-lanes.js';
import { StorageError } from './storage-error.js';

export interface FileLocation {
  /** Absolute path on disk. */
  readonly path: string;
  /** Directory components between <out> and the file (e.g. ['name', 'sub']). */
  readonly dirs: readonly string[];
}

function checkComponent(c: string, where: string): void {
  if (c === '' || c === '.' || c === '..' || /[/\\\0]/.test(c))
    throw new StorageError('pathEscape', `unsafe path component ${JSON.stringify(c)} in ${where}`, {
      badInput: true,
    });
}

/** The on-disk location of every file of `torrent` under `outDir` (padding files included, never created). */
export function fileLocations(
  torrent: Pick<Torrent, 'name' | 'multiFile' | 'files'>,
  outDir: string,
): FileLocation[] {
  const root = resolve(outDir);
  // What every path must start with: the root and a separator — the root alone when it already
  // ends with one (`/`, `C:\`), else `-o /` would require `//` and refuse every file.
  const inside = root.endsWith(sep) ? root : root + sep;
  checkComponent(torrent.name, 'the torrent name');
  return torrent.files.map((f, i) => {
    const where = `file ${i}`;
    if (f.path.length === 0)
      throw new StorageError('pathEscape', `empty path for ${where}`, { badInput: true });
    for (const c of f.path) checkComponent(c, where);
    const components = torrent.multiFile ? [torrent.name, ...f.path] : [torrent.name];
    const path = resolve(root, ...components);
    if (!(path.startsWith(inside) && path.length > inside.length))
      throw new StorageError('pathEscape', `${where} resolves outside the output folder: ${path}`, {
        path,
        badInput: true,
      });
    return { path, dirs: components.slice(0, -1) };
  });
}

/**
 * Creates `dirs` under `root`, one component at a time, refusing a component that exists as a
 * symlink (it could point anywhere). Every component is looked at on every call: nothing is
 * remembered from an earlier one (a folder may have been swapped since: store-files.ts).
 */
export async function makeDirectories(root: string, dirs: readonly string[]): Promise<void> {
  let current = resolve(root);
  for (const d of dirs) {
    current = resolve(current, d);
    let info = await lstat(current).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw StorageError.fromSystem(e, 'cannot inspect', current);
    });
    if (info === undefined) {
      await mkdir(current).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw StorageError.fromSystem(e, 'cannot create folder', current);
      });
      info = await lstat(current).catch((e) => {
        throw StorageError.fromSystem(e, 'cannot inspect', current);
      });
    }
    refuseNonFolder(current, info);
  }
}

/** Throws unless what `lstat` found at `path` is a folder: a symlink could point anywhere. */
function refuseNonFolder(path: string, st: Stats): void {
  if (st.isSymbolicLink())
    throw new StorageError('pathEscape', `refusing to follow the symlink ${path}`, { path, badInput: true });
  if (!st.isDirectory())
    throw new StorageError('io', `${path} exists and is not a folder`, { path, badInput: true });
}

/**
 * Per entry of `dirLists` (folder components under `root`; null: none to look at), whether that
 * folder exists. Each component is looked at once (lstat, FILE_LANES at a time, as the files are:
 * the same libuv pool kept busy) however many files share it; a component that is a symlink (it
 * could point anywhere: see the top of this file) or not a folder throws. Files in a folder that is not there need no look of their own.
 */
export async function existingFolders(
  root: string,
  dirLists: readonly (readonly string[] | null)[],
): Promise<boolean[]> {
  const componentsOf = new Map<string, string[]>(); // a folder's key → its components' paths
  const exists = new Map<string, boolean>();
  const keys = dirLists.map((dirs) => {
    if (dirs === null) return null;
    const key = dirs.join('/');
    if (!componentsOf.has(key)) {
      let at = root;
      componentsOf.set(
        key,
        dirs.map((d) => {
          at = join(at, d);
          exists.set(at, false);
          return at;
        }),
      );
    }
    return key;
  });
  const unique = [...exists.keys()];
  await inLanes(unique.length, FILE_LANES, async (k) => {
    exists.set(unique[k]!, await existingFolder(unique[k]!));
  });
  const folderExists = new Map<string, boolean>();
  for (const [key, components] of componentsOf)
    folderExists.set(
      key,
      components.every((c) => exists.get(c) === true),
    );
  return keys.map((key) => key !== null && folderExists.get(key) === true);
}

/**
 * True when `path` is a folder, false when nothing is there; throws when it is a symlink (it could
 * point anywhere: layout.ts) or something else.
 */
async function existingFolder(path: string): Promise<boolean> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw StorageError.fromSystem(e, 'cannot inspect', path);
  });
  if (st === undefined) return false;
  refuseNonFolder(path, st);
  return true;
}
