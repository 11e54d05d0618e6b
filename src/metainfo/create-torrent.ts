/**
 * `createTorrent(path, options)`: a v1 .torrent (BEP 3) for a file or a folder. The payload is
 * hashed streaming, CHUNK_BYTES at a time, so memory stays flat whatever its size. Files are
 * ordered by their path components in byte order, so the same folder always gives the same
 * info-hash. Symbolic links and special files inside a folder are skipped (reported through
 * `onSkip`): following links could leave the folder or loop. Empty folders cannot be expressed in
 * a torrent and are left out. Keys are written sorted (BEP 3).
 *
 * A name that is not valid UTF-8 is refused (`bad-source`, the bytes shown as `\xNN`): BEP 3 paths are
 * UTF-8, and libtorrent and bitstate rewrite invalid sequences when they load a torrent (U+FFFD), so a
 * torrent written with the raw bytes (as mktorrent writes them) names a file that is not in the
 * folder it was made from: nobody could seed it from there. Renaming the file is the user's call.
 * Every file-system error names the path (`sourceError`).
 */
import { createHash, type Hash } from 'node:crypto';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { bencode } from './bencode.js';
import { MAX_CREATED_TORRENT_BYTES, MAX_FILES, MAX_PIECE_LENGTH, MAX_PIECES } from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import { escapeName, sourceError } from './source-error.js';
import { checkPath, checkPathComponent } from './torrent-path.js';

export const CREATED_BY = 'bitstate/0.1.0';
/** Bytes read from disk at a time while hashing. */
export const CHUNK_BYTES = 1024 * 1024;
export const MIN_CREATE_PIECE_LENGTH = 16 * 1024;
/** Upper end of the automatic choice (a larger one can still be asked for). */
export const MAX_DEFAULT_PIECE_LENGTH = 16 * 1024 * 1024;
/** The automatic piece length keeps the piece count at or below this (so, unclamped, in 1001..2000). */
export const TARGET_MAX_PIECES = 2000;

export interface CreateTorrentOptions {
  /** The first tracker, written as `announce`. */
  readonly announce?: string;
  /** BEP 12 tiers; written as `announce-list` when it names more than one tracker. */
  readonly announceList?: readonly (readonly string[])[];
  /** Bytes, a power of two from 16 KiB to MAX_PIECE_LENGTH; chosen from the payload size when absent. */
  readonly pieceLength?: number;
  /** BEP 27. */
  readonly private?: boolean;
  /** BEP 19 web seeds, written as `url-list` (each once) when there is one. */
  readonly urlList?: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the epoch; now when absent. */
  readonly creationDate?: number;
  /** Called after each chunk is hashed. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  /** Called for each entry left out of a folder (a symbolic link, a socket, a device…). */
  readonly onSkip?: (path: string, reason: 'symlink' | 'not-a-file') => void;
}

interface SourceFile {
  readonly path: string[];
  readonly absolute: string;
  readonly length: number;
}

/** Smallest power of two ≥ 16 KiB giving at most TARGET_MAX_PIECES pieces, capped at 16 MiB. */
export function defaultPieceLength(totalLength: number): number {
  let p = MIN_CREATE_PIECE_LENGTH;
  while (p < MAX_DEFAULT_PIECE_LENGTH && Math.ceil(totalLength / p) > TARGET_MAX_PIECES) p *= 2;
  return p;
}

function badSource(message: string, field?: string): MetainfoError {
  return new MetainfoError('bad-source', message, field === undefined ? {} : { field });
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Component by component, byte order: `a/z` sorts before `a.txt` (as "a" < "a.txt"). */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareBytes(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `given` is the folder as the user named it, for messages; `root` the same, resolved. */
async function listFolder(
  root: string,
  given: string,
  onSkip: CreateTorrentOptions['onSkip'],
): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const pending: string[][] = [[]];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const folder = join(root, ...rel);
    // Names as bytes: decoded by readdir, an invalid one would come back as U+FFFD, a name that
    // exists nowhere (lstat: ENOENT on a mangled path).
    const entries = await readdir(folder, { withFileTypes: true, encoding: 'buffer' }).catch(
      (err: unknown) => {
        throw sourceError(join(given, ...rel), err);
      },
    );
    for (const entry of entries) {
      let name: string;
      try {
        name = strictUtf8.decode(entry.name);
      } catch {
        const shown = join(given, ...rel, escapeName(entry.name));
        throw badSource(`${shown}: the name is not valid UTF-8 (BEP 3 paths are UTF-8: rename it)`);
      }
      const path = [...rel, name];
      const absolute = join(root, ...path);
      checkPath(path, path.join('/'));
      if (entry.isSymbolicLink()) onSkip?.(path.join('/'), 'symlink');
      else if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) {
        if (files.length >= MAX_FILES) throw badSource(`more than ${MAX_FILES} files`);
        const stats = await lstat(absolute).catch((err: unknown) => {
          throw sourceError(join(given, ...path), err);
        });
        files.push({ path, absolute, length: stats.size });
      } else onSkip?.(path.join('/'), 'not-a-file');
    }
  }
  return files.sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * Feeds bytes into consecutive piece hashes, splitting at piece boundaries. The hashes go into one
 * array of pieceCount × 20 bytes (a Buffer per hash cost ~120 bytes of heap: 190 MB RSS for 9 GiB
 * at 32 KiB pieces).
 */
class PieceHasher {
  readonly #pieceLength: number;
  readonly #hashes: Uint8Array;
  #count = 0;
  #hash: Hash = createHash('sha1');
  #filled = 0;
  constructor(pieceLength: number, pieceCount: number) {
    this.#pieceLength = pieceLength;
    this.#hashes = new Uint8Array(pieceCount * 20);
  }
  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(this.#pieceLength - this.#filled, bytes.length - at);
      this.#hash.update(bytes.subarray(at, at + take));
      this.#filled += take;
      at += take;
      if (this.#filled === this.#pieceLength) this.#finishPiece();
    }
  }
  #finishPiece(): void {
    if (this.#count * 20 >= this.#hashes.length)
      throw badSource('the payload grew while it was being hashed');
    this.#hashes.set(this.#hash.digest(), this.#count * 20);
    this.#count++;
    this.#hash = createHash('sha1');
    this.#filled = 0;
  }
  digest(): Uint8Array {
    if (this.#filled > 0) this.#finishPiece();
    return this.#hashes.subarray(0, this.#count * 20);
  }
}

async function hashFiles(files: readonly SourceFile[], pieceLength: number, options: CreateTorrentOptions) {
  const total = files.reduce((sum, f) => sum + f.length, 0);
  const hasher = new PieceHasher(pieceLength, Math.ceil(total / pieceLength));
  const buffer = new Uint8Array(CHUNK_BYTES);
  let hashed = 0;
  for (const file of files) {
    const handle = await open(file.absolute, 'r').catch((err: unknown) => {
      throw sourceError(file.absolute, err);
    });
    try {
      let left = file.length;
      while (left > 0) {
        const { bytesRead } = await handle
          .read(buffer, 0, Math.min(left, buffer.length), null)
          .catch((err: unknown) => {
            throw sourceError(file.absolute, err);
          });
        if (bytesRead === 0) throw badSource(`${file.absolute} shrank while it was being hashed`);
        hasher.update(buffer.subarray(0, bytesRead));
        left -= bytesRead;
        hashed += bytesRead;
        options.onProgress?.(hashed, total);
      }
    } finally {
      await handle.close();
    }
  }
  return hasher.digest();
}

function checkPieceLength(pieceLength: number): void {
  const ok =
    Number.isSafeInteger(pieceLength) &&
    pieceLength >= MIN_CREATE_PIECE_LENGTH &&
    pieceLength <= MAX_PIECE_LENGTH &&
    (pieceLength & (pieceLength - 1)) === 0;
  if (!ok)
    throw new MetainfoError(
      'invalid-value',
      `piece length ${pieceLength} is not a power of two from ${MIN_CREATE_PIECE_LENGTH} to ${MAX_PIECE_LENGTH}`,
      { field: 'pieceLength', actual: pieceLength },
    );
}

/** Makes the bytes of a .torrent for the file or folder at `path`. */
export async function createTorrent(path: string, options: CreateTorrentOptions = {}): Promise<Uint8Array> {
  const root = resolve(path);
  const name = basename(root);
  checkPathComponent(name, 'name');
  const rootStat = await stat(root).catch((err: unknown) => {
    throw sourceError(path, err);
  });
  const multiFile = rootStat.isDirectory();
  if (!multiFile && !rootStat.isFile()) throw badSource(`${path} is neither a file nor a folder`);
  const files = multiFile
    ? await listFolder(root, path, options.onSkip)
    : [{ path: [name], absolute: root, length: rootStat.size }];
  const total = files.reduce((sum, f) => sum + f.length, 0);
  if (files.length === 0 || total === 0) throw badSource(`${path} holds no data (a torrent cannot be empty)`);

  const pieceLength = options.pieceLength ?? defaultPieceLength(total);
  checkPieceLength(pieceLength);
  const pieceCount = Math.ceil(total / pieceLength);
  if (pieceCount > MAX_PIECES)
    throw new MetainfoError(
      'limit-exceeded',
      `${pieceCount} pieces (limit ${MAX_PIECES}); use a larger piece length`,
      {
        field: 'pieceLength',
        limit: MAX_PIECES,
        actual: pieceCount,
      },
    );
  const creationDate = options.creationDate ?? Math.floor(Date.now() / 1000);
  const write = (pieceLength: number, pieces: Uint8Array) =>
    bencode(metainfo(files, multiFile, name, pieceLength, pieces, creationDate, options));
  // The size is known before hashing (the piece hashes are pieceCount × 20 bytes), so a torrent too
  // large to load is refused before minutes of hashing, and never written.
  const sizeFor = (pieceLength: number) => {
    const hashBytes = Math.ceil(total / pieceLength) * 20;
    return write(pieceLength, new Uint8Array(0)).length + hashBytes + String(hashBytes).length - 1;
  };
  const size = sizeFor(pieceLength);
  if (size > MAX_CREATED_TORRENT_BYTES) {
    let fits = pieceLength * 2;
    while (fits <= MAX_PIECE_LENGTH && sizeFor(fits) > MAX_CREATED_TORRENT_BYTES) fits *= 2;
    throw new MetainfoError(
      'limit-exceeded',
      `the torrent would be ${size} bytes (limit ${MAX_CREATED_TORRENT_BYTES}, libtorrent's too): ` +
        `${pieceCount} pieces of ${pieceLength} bytes` +
        (fits <= MAX_PIECE_LENGTH ? `; a piece length of ${fits} or more fits` : ', too many files to fit'),
      { field: 'pieceLength', limit: MAX_CREATED_TORRENT_BYTES, actual: size },
    );
  }
  const bytes = write(pieceLength, await hashFiles(files, pieceLength, options));
  if (bytes.length !== size) throw new Error(`bug: a torrent of ${bytes.length} bytes, ${size} predicted`);
  return bytes;
}

function metainfo(
  files: readonly SourceFile[],
  multiFile: boolean,
  name: string,
  pieceLength: number,
  pieces: Uint8Array,
  creationDate: number,
  options: CreateTorrentOptions,
) {
  const tiers = (options.announceList ?? []).map((t) => [...t]).filter((t) => t.length > 0);
  const announce = options.announce ?? tiers[0]?.[0];
  const trackerCount = tiers.reduce((n, t) => n + t.length, 0);
  const total = files.reduce((sum, f) => sum + f.length, 0);
  const info = {
    ...(multiFile ? { files: files.map((f) => ({ length: f.length, path: f.path })) } : { length: total }),
    name,
    'piece length': pieceLength,
    pieces,
    private: options.private === true ? 1 : undefined,
  };
  return {
    announce,
    'announce-list': trackerCount > 1 ? tiers : undefined,
    comment: options.comment,
    'created by': options.createdBy ?? CREATED_BY,
    'creation date': creationDate,
    info,
    'url-list':
      options.urlList === undefined || options.urlList.length === 0
        ? undefined
        : [...new Set(options.urlList)],
  };
}
