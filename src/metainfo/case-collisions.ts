/**
 * Paths that name one file on a case-insensitive file system (macOS, Windows, FAT/exFAT disks on
 * Linux too) get distinct names, as libtorrent gives them (resolve_duplicate_filenames): `README`
 * and `readme` are two files on ext4, one on those. Two paths collide when their components are
 * equal after NFC normalisation and `toLowerCase()` (macOS also ignores the difference between
 * composed and decomposed accents); a collision with a folder counts too (`Docs` the file and
 * `docs/` the folder). The first file in the info dictionary keeps its name; each later one gets
 * `.N` before its extension (`readme.1`, `Notes.1.txt`, N from 1 up), the first N whose name
 * collides with no folder, no file of the torrent as named, and no name given before (libtorrent
 * checks only the files before it, and renames a later `readme.1` instead). Always, on
 * every file system, as libtorrent does: the same torrent lands the same way everywhere, and
 * `bitstate info` can say where. Exact duplicates never get here: PathSet rejects them
 * (docs/metainfo.md). Padding files are never written, so they take part in nothing.
 *
 * Linear: the folders as one Map of folded components keyed by their parent's number (`7/docs`;
 * a Map and three Sets per folder cost ~1 KB, and a torrent of distinct 64-deep paths is millions
 * of folders), and per colliding name the next N to try, so 262,144 spellings of one name cost no
 * more than 262,144 names.
 */
import { MAX_PATH_COMPONENT_BYTES } from './limits.js';
import type { TorrentFile } from './torrent.js';
import { checkPathComponent } from './torrent-path.js';

/** How paths are compared: what a case-insensitive, normalisation-insensitive file system sees. */
export function foldName(component: string): string {
  return component.normalize('NFC').toLowerCase();
}

/** The torrent's folders and names, each keyed by its folder's number and its folded name (`7/readme`). */
interface Names {
  /** Folders → their number (the root is 0). */
  readonly folders: Map<string, number>;
  /** Files as the torrent names them. */
  readonly named: Set<string>;
  /** Names given to files so far. */
  readonly given: Set<string>;
  /** Per name that collided: the next N to try. */
  readonly next: Map<string, number>;
}

/** The files with distinct on-disk paths; a renamed file keeps the torrent's own in `renamedFrom`. */
export function resolveCaseCollisions(
  files: readonly TorrentFile[],
  /** Counts the candidate names tried (a test's proof that the work is linear). */
  stats?: { probes: number },
): TorrentFile[] {
  const names: Names = { folders: new Map(), named: new Set(), given: new Set(), next: new Map() };
  // Each file's folder's number (-1: a padding file, which takes part in nothing).
  const parents = new Int32Array(files.length);
  files.forEach((f, i) => {
    if (f.padding) {
      parents[i] = -1;
      return;
    }
    let at = 0;
    for (let k = 0; k < f.path.length - 1; k++) {
      const key = `${at}/${foldName(f.path[k]!)}`;
      let child = names.folders.get(key);
      if (child === undefined) {
        child = names.folders.size + 1;
        names.folders.set(key, child);
      }
      at = child;
    }
    parents[i] = at;
    names.named.add(`${at}/${foldName(f.path[f.path.length - 1]!)}`);
  });
  return files.map((f, i) => {
    const parent = parents[i]!;
    if (parent < 0) return f;
    const name = f.path[f.path.length - 1]!;
    const key = `${parent}/${foldName(name)}`;
    if (!names.given.has(key) && !names.folders.has(key)) {
      names.given.add(key);
      return f;
    }
    const renamed = distinctName(names, parent, name, key, stats);
    return { ...f, path: [...f.path.slice(0, -1), renamed], renamedFrom: f.path };
  });
}

/** `name` with `.N` before its extension: the first N (from where this name left off) that is free. */
function distinctName(
  names: Names,
  parent: number,
  name: string,
  key: string,
  stats?: { probes: number },
): string {
  // The extension from the last dot, as libtorrent's extension() takes it (`.BASHRC` → `.1.BASHRC`,
  // `X.` → `X.1.`): the same names as libtorrent gives, so its clients' downloads seed as they are.
  const dot = name.lastIndexOf('.');
  const base = dot === -1 ? name : name.slice(0, dot);
  const extension = dot === -1 ? '' : name.slice(dot);
  for (let n = names.next.get(key) ?? 1; ; n++) {
    if (stats !== undefined) stats.probes++;
    const suffix = `.${n}${extension}`;
    const candidate = fitted(base, MAX_PATH_COMPONENT_BYTES - Buffer.byteLength(suffix, 'utf8')) + suffix;
    const folded = `${parent}/${foldName(candidate)}`;
    if (names.folders.has(folded) || names.named.has(folded) || names.given.has(folded)) continue;
    names.next.set(key, n + 1);
    names.given.add(folded);
    checkPathComponent(candidate, 'a renamed path'); // built from a checked name: a bug if it throws
    return candidate;
  }
}

/** `s` cut to at most `bytes` UTF-8 bytes, never inside a character (a name at NAME_MAX stays one). */
function fitted(s: string, bytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= bytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (used + b > bytes) break;
    out += ch;
    used += b;
  }
  return out;
}
