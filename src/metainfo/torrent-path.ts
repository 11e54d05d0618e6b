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

/** Checks every component, the depth and the total length of one file's path. */
export function checkPath(path: readonly string[], field: string): void {
  if (path.length === 0) throw new MetainfoError('unsafe-path', `${field}: empty path`, { field });
  if (path.length > MAX_PATH_DEPTH)
    throw new MetainfoError(
      'limit-exceeded',
      `${field}: path of ${path.length} components (limit ${MAX_PATH_DEPTH})`,
      {
        field,
        limit: MAX_PATH_DEPTH,
        actual: path.length,
      },
    );
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
}

/** Remembers the paths seen so far; throws 'duplicate-path' on a second file at one place. */
export class PathSet {
  readonly #files = new Set<string>();
  readonly #folders = new Set<string>();

  add(path: readonly string[], field: string): void {
    // Components hold no '/', so joining with it is unambiguous.
    const key = path.join('/');
    if (this.#files.has(key))
      throw new MetainfoError('duplicate-path', `${field}: two files at "${key}"`, { field });
    if (this.#folders.has(key))
      throw new MetainfoError('duplicate-path', `${field}: "${key}" is both a file and a folder`, { field });
    for (let i = 1; i < path.length; i++) {
      const folder = path.slice(0, i).join('/');
      if (this.#files.has(folder))
        throw new MetainfoError('duplicate-path', `${field}: "${folder}" is both a file and a folder`, {
          field,
        });
      this.#folders.add(folder);
    }
    this.#files.add(key);
  }
}
