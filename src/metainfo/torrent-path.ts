/**
 * Path safety for the files of a torrent. A torrent's paths become file names under the download
 * folder, so every component is checked here, and rejected rather than rewritten (libtorrent
 * rewrites them; a rewritten path is a different file than the author meant, and a torrent that
 * needs it is broken or hostile). Two files on one path, or a file that is also another file's
 * folder, are rejected too: no layout on disk can hold both.
 */
import { MAX_PATH_BYTES, MAX_PATH_COMPONENT_BYTES, MAX_PATH_DEPTH } from './limits.js';
import { MetainfoError } from './metainfo-error.js';

// A drive prefix (`C:`), which Windows reads as a path of its own.
const DRIVE = /^[A-Za-z]:/;

/** Throws MetainfoError('unsafe-path' | 'limit-exceeded') unless `component` is one plain file name. */
export function checkPathComponent(component: string, field: string): void {
  if (component.length === 0)
    throw new MetainfoError('unsafe-path', `${field}: empty path component`, { field });
  if (component === '.' || component === '..')
    throw new MetainfoError('unsafe-path', `${field}: path component "${component}" is not allowed`, {
      field,
    });
  if (/[/\\\0]/.test(component))
    throw new MetainfoError('unsafe-path', `${field}: path component contains "/", "\\" or NUL`, { field });
  if (DRIVE.test(component))
    throw new MetainfoError('unsafe-path', `${field}: path component starts with a drive letter`, { field });
  const bytes = Buffer.byteLength(component, 'utf8');
  if (bytes > MAX_PATH_COMPONENT_BYTES)
    throw new MetainfoError(
      'limit-exceeded',
      `${field}: path component of ${bytes} bytes (limit ${MAX_PATH_COMPONENT_BYTES})`,
      { field, limit: MAX_PATH_COMPONENT_BYTES, actual: bytes },
    );
}

/**
 * Throws `limit-exceeded` for a path of more than MAX_PATH_DEPTH components; the parser asks
 * before it builds the path (a list of millions of components is a few bytes each in the input).
 */
export function checkPathDepth(depth: number, field: string): void {
  if (depth > MAX_PATH_DEPTH)
    throw new MetainfoError(
      'limit-exceeded',
      `${field}: path of ${depth} components (limit ${MAX_PATH_DEPTH})`,
      {
        field,
        limit: MAX_PATH_DEPTH,
        actual: depth,
      },
    );
}

/**
 * Checks every component, the depth and the total length of one file's path; returns that length
 * (UTF-8 bytes, components joined by `/`).
 */
export function checkPath(path: readonly string[], field: string): number {
  if (path.length === 0) throw new MetainfoError('unsafe-path', `${field}: empty path`, { field });
  checkPathDepth(path.length, field);
  path.forEach((c, i) => {
    checkPathComponent(c, `${field}[${i}]`);
  });
  const bytes = Buffer.byteLength(path.join('/'), 'utf8');
  if (bytes > MAX_PATH_BYTES)
    throw new MetainfoError('limit-exceeded', `${field}: path of ${bytes} bytes (limit ${MAX_PATH_BYTES})`, {
      field,
      limit: MAX_PATH_BYTES,
      actual: bytes,
    });
  return bytes;
}

/**
 * Remembers the paths seen so far; throws 'duplicate-path' on a second file at one place. Every
 * folder and file is one entry of one Map, keyed by its parent's number and its name (`7/docs`):
 * one lookup per component (joining every folder prefix of a 64-deep path cost O(depth²) per file:
 * 2.3 s for 40,000 such files), and one entry per folder (a node with a Map of its own per folder
 * cost ~300 bytes: a torrent of distinct 64-deep paths is millions of folders).
 */
export class PathSet {
  /** `${parent}/${component}` → that folder's number (positive) or the file's (negative); the root is 0. */
  readonly #nodes = new Map<string, number>();
  #count = 0;

  add(path: readonly string[], field: string): void {
    let parent = 0;
    for (let i = 0; i < path.length; i++) {
      const key = `${parent}/${path[i]!}`;
      const node = this.#nodes.get(key);
      const last = i === path.length - 1;
      if (node === undefined) {
        const created = last ? -++this.#count : ++this.#count;
        this.#nodes.set(key, created);
        parent = created;
        continue;
      }
      if (last) {
        const joined = path.join('/');
        if (node < 0)
          throw new MetainfoError('duplicate-path', `${field}: two files at "${joined}"`, { field });
        throw new MetainfoError('duplicate-path', `${field}: "${joined}" is both a file and a folder`, {
          field,
        });
      }
      if (node < 0) {
        const folder = path.slice(0, i + 1).join('/');
        throw new MetainfoError('duplicate-path', `${field}: "${folder}" is both a file and a folder`, {
          field,
        });
      }
      parent = node;
    }
  }
}
