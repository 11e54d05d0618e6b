/**
 * `createTorrent(path, options)`: a .torrent for a file or a folder, v1 (BEP 3, the default), v2 or
 * hybrid (BEP 52) as libtorrent 2.0 and qBittorrent write them (`format`). The payload is read once,
 * streaming, CHUNK_BYTES at a time, each chunk fed to every hash the format needs (v1 SHA-1 pieces,
 * each file's v2 merkle tree), so memory stays flat whatever its size: the hashes, never the bytes.
 *
 * v1 is the default because clients older than libtorrent 2.0 (Transmission 4, aria2, rTorrent,
 * libtorrent 1.x) cannot load a v2-only torrent; a hybrid loads in both, its v1 swarm and its v2
 * swarm sharing the same files (BEP 47 padding aligns each file to a piece: padding-layout.ts).
 *
 * v2 and hybrid: `meta version` 2, a `file tree` (the files in the same order as v1's: a folder's
 * keys sort as bencode sorts them), each non-empty file's `pieces root`, and `piece layers` for the
 * files longer than one piece (file-merkle-tree.ts); a hybrid adds v1's `pieces` and `files` (or
 * `length`) over the same files, padding included. Files are
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
import type { FileHandle } from 'node:fs/promises';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type BencodeInput, bencode } from './bencode.js';
import { type FileHashes, FileMerkleTree } from './file-merkle-tree.js';
import {
  MAX_CREATED_TORRENT_BYTES,
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_V2_PATHS_BYTES,
} from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import { type LaidOut, laidOutLength, layOutFiles, paddingPath } from './padding-layout.js';
import { escapeName, sourceError } from './source-error.js';
import type { TorrentVersion } from './torrent.js';
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
  /**
   * 'v1' (default: every client loads it), 'v2' (BEP 52 only: libtorrent ≥ 2.0, qBittorrent ≥ 4.4)
   * or 'hybrid' (both, in one info dictionary: two info-hashes, two swarms, one payload).
   */
  readonly format?: TorrentVersion;
  /** The first tracker, written as `announce`. */
  readonly announce?: string;
  /** BEP 12 tiers; written as `announce-list` when it names more than one tracker. */
  readonly announceList?: readonly (readonly string[])[];
  /**
   * Bytes, a power of two from 16 KiB to MAX_PIECE_LENGTH (as BEP 52 requires; v1 keeps the same
   * rule); chosen from the payload size when absent.
   */
  readonly pieceLength?: number;
  /** BEP 27. */
  readonly private?: boolean;
  /** BEP 19 web seeds, written as `url-list` (each once) when there is one. */
  readonly urlList?: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the epoch; now when absent. */
  readonly creationDate?: number;
  /** Called after each chunk is hashed; `totalBytes` counts the files' bytes (no padding). */
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
  /** `length` zero bytes: a BEP 47 padding file, hashed as zeros. */
  zeros(length: number): void {
    for (let left = length; left > 0; left -= ZEROS.length)
      this.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
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

const ZEROS = new Uint8Array(CHUNK_BYTES);

/** What hashing the payload gives: v1 `pieces` (v1, hybrid), each file's v2 hashes (v2, hybrid). */
interface PayloadHashes {
  readonly pieces?: Uint8Array;
  /** By index in `files`; undefined for an empty file. */
  readonly files?: readonly (FileHashes | undefined)[];
}

/** Reads each file once, feeding every chunk to the v1 piece hashes and to the file's merkle tree. */
async function hashPayload(
  layout: readonly LaidOut<SourceFile>[],
  pieceLength: number,
  format: TorrentVersion,
  options: CreateTorrentOptions,
): Promise<PayloadHashes> {
  const total = layout.reduce((sum, e) => sum + (e.kind === 'file' ? e.file.length : 0), 0);
  const v1 =
    format === 'v2'
      ? undefined
      : new PieceHasher(pieceLength, Math.ceil(laidOutLength(layout) / pieceLength));
  const files: (FileHashes | undefined)[] = [];
  const buffer = new Uint8Array(CHUNK_BYTES);
  let hashed = 0;
  for (const entry of layout) {
    if (entry.kind === 'padding') {
      v1?.zeros(entry.length);
      continue;
    }
    const file = entry.file;
    const tree =
      format === 'v1' || file.length === 0 ? undefined : new FileMerkleTree(file.length, pieceLength);
    const handle: FileHandle = await open(file.absolute, 'r').catch((err: unknown) => {
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
        const chunk = buffer.subarray(0, bytesRead);
        v1?.update(chunk);
        tree?.update(chunk);
        left -= bytesRead;
        hashed += bytesRead;
        options.onProgress?.(hashed, total);
      }
    } finally {
      await handle.close();
    }
    if (format !== 'v1') files.push(tree?.digest());
  }
  return { ...(v1 === undefined ? {} : { pieces: v1.digest() }), ...(format === 'v1' ? {} : { files }) };
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

function checkFormat(format: unknown): TorrentVersion {
  if (format === 'v1' || format === 'v2' || format === 'hybrid') return format;
  throw new MetainfoError('invalid-value', `format ${String(format)} is not v1, v2 or hybrid`, {
    field: 'format',
  });
}

/** A torrent `makeTorrent` wrote, and what a caller shows of it. */
export interface CreatedTorrent {
  /** The .torrent's bytes. */
  readonly bytes: Uint8Array;
  readonly format: TorrentVersion;
  /** SHA-1 of the info dictionary: the v1 info-hash (v1, hybrid). */
  readonly infoHashV1?: Uint8Array;
  /** SHA-256 of the info dictionary: the v2 info-hash (v2, hybrid; BEP 52). */
  readonly infoHashV2?: Uint8Array;
  /** Files of the payload, empty ones included, padding not. */
  readonly fileCount: number;
  /** Their bytes, padding not counted. */
  readonly totalLength: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
}

/** Makes the bytes of a .torrent for the file or folder at `path`. */
export async function createTorrent(path: string, options: CreateTorrentOptions = {}): Promise<Uint8Array> {
  return (await makeTorrent(path, options)).bytes;
}

/** `createTorrent`, with the torrent's info-hashes and sizes. */
export async function makeTorrent(path: string, options: CreateTorrentOptions = {}): Promise<CreatedTorrent> {
  const format = checkFormat(options.format ?? 'v1');
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
  const layout = layOutFiles(files, pieceLength, format !== 'v1');
  // A v2-only torrent lists no padding, but its files are aligned all the same, and parseTorrent
  // counts that implicit padding as libtorrent lays it out (v2-payload.ts): one more file after the
  // last too, which layOutFiles leaves out only for a single file.
  if (format !== 'v1' && layout.length > MAX_FILES)
    throw badSource(`more than ${MAX_FILES} files, the padding that aligns them included`);
  // A v2-only `file tree` names each folder once, so its size does not bound its paths spelled out,
  // which parseTorrent does (limits.ts); a hybrid's v1 `files` spells them, and its size is checked.
  if (format === 'v2') {
    const pathBytes = files.reduce((sum, f) => sum + Buffer.byteLength(f.path.join('/')), 0);
    if (pathBytes > MAX_V2_PATHS_BYTES)
      throw new MetainfoError(
        'limit-exceeded',
        `the files' paths are ${pathBytes} bytes spelled out (limit ${MAX_V2_PATHS_BYTES}: a v1 or hybrid torrent could not hold them either)`,
        { limit: MAX_V2_PATHS_BYTES, actual: pathBytes },
      );
  }
  const pieceCount = Math.ceil(laidOutLength(layout) / pieceLength);
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
  const write = (pieceLength: number, hashes: HashesToWrite) =>
    metainfo(
      layOutFiles(files, pieceLength, format !== 'v1'),
      multiFile,
      name,
      pieceLength,
      hashes,
      creationDate,
      options,
    );
  // The size is known before hashing (20 bytes a piece for v1, 32 a piece of each file longer than a
  // piece for v2, 32 a non-empty file's root), so a torrent too large to load is refused before
  // minutes of hashing, and never written.
  const sizeFor = (pieceLength: number) => predictedSize(files, format, pieceLength, write);
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
  const hashes = await hashPayload(layout, pieceLength, format, options);
  const { root: torrent, info } = write(pieceLength, {
    pieces: hashes.pieces,
    files: hashes.files?.map((h) =>
      h === undefined ? undefined : { root: h.piecesRoot, layer: h.pieceLayer },
    ),
  });
  const bytes = bencode(torrent);
  // Smaller only when files of the same content share one `piece layers` entry.
  const layers = hashes.files?.filter((h) => h?.pieceLayer !== undefined) ?? [];
  const shared = layers.length - new Set(layers.map((h) => Buffer.from(h!.piecesRoot).toString('hex'))).size;
  if (shared > 0 ? bytes.length >= size : bytes.length !== size)
    throw new Error(`bug: a torrent of ${bytes.length} bytes, ${size} predicted`);
  const infoBytes = bencode(info);
  return {
    bytes,
    format,
    ...(format === 'v2' ? {} : { infoHashV1: new Uint8Array(createHash('sha1').update(infoBytes).digest()) }),
    ...(format === 'v1'
      ? {}
      : { infoHashV2: new Uint8Array(createHash('sha256').update(infoBytes).digest()) }),
    fileCount: files.length,
    totalLength: total,
    pieceLength,
    pieceCount,
  };
}

/** The hashes a torrent is written with: real ones, or placeholders of their size (predictedSize). */
interface HashesToWrite {
  /** v1 `pieces` (v1, hybrid). */
  readonly pieces?: Uint8Array;
  /** Each file's `pieces root` and piece layer, by index in the files (v2, hybrid); undefined when empty. */
  readonly files?: readonly ({ readonly root: Uint8Array; readonly layer?: Uint8Array } | undefined)[];
}

/**
 * The torrent's size at `pieceLength`, from a copy whose hash strings are empty (hashes cost their
 * bytes plus the digits of their length, less the one of `0:`): nothing of pieceCount's size is
 * allocated. An upper bound: files of the same content share one `piece layers` entry.
 */
function predictedSize(
  files: readonly SourceFile[],
  format: TorrentVersion,
  pieceLength: number,
  write: (pieceLength: number, hashes: HashesToWrite) => { root: BencodeInput },
): number {
  const grown = (bytes: number) => bytes + String(bytes).length - 1;
  const empty = new Uint8Array(0);
  let extra = 0;
  let pieces: Uint8Array | undefined;
  if (format !== 'v2') {
    const padded = laidOutLength(layOutFiles(files, pieceLength, format !== 'v1'));
    pieces = empty;
    extra += grown(Math.ceil(padded / pieceLength) * 20);
  }
  let placeholders: HashesToWrite['files'];
  if (format !== 'v1')
    placeholders = files.map((f, i) => {
      if (f.length === 0) return undefined;
      // Distinct keys for `piece layers`: the file's index, in 32 bytes.
      const root = new Uint8Array(32);
      new DataView(root.buffer).setUint32(0, i);
      const filePieces = Math.ceil(f.length / pieceLength);
      if (filePieces < 2) return { root };
      extra += grown(filePieces * 32);
      return { root, layer: empty };
    });
  return bencode(write(pieceLength, { pieces, files: placeholders }).root).length + extra;
}

/** BEP 52 `file tree`: a dictionary per folder, the file's own under the key "" (Maps: keys are names). */
function fileTree(
  paths: readonly (readonly string[])[],
  hashes: NonNullable<HashesToWrite['files']>,
  lengths: readonly number[],
): Map<string, BencodeInput> {
  const tree = new Map<string, BencodeInput>();
  paths.forEach((path, i) => {
    let folder = tree;
    for (const component of path.slice(0, -1)) {
      let sub = folder.get(component) as Map<string, BencodeInput> | undefined;
      if (sub === undefined) folder.set(component, (sub = new Map()));
      folder = sub;
    }
    const h = hashes[i];
    folder.set(
      path.at(-1)!,
      new Map([['', { length: lengths[i]!, 'pieces root': h === undefined ? undefined : h.root }]]),
    );
  });
  return tree;
}

function metainfo(
  layout: readonly LaidOut<SourceFile>[],
  multiFile: boolean,
  name: string,
  pieceLength: number,
  hashes: HashesToWrite,
  creationDate: number,
  options: CreateTorrentOptions,
): { root: BencodeInput; info: BencodeInput } {
  const tiers = (options.announceList ?? []).map((t) => [...t]).filter((t) => t.length > 0);
  const announce = options.announce ?? tiers[0]?.[0];
  const trackerCount = tiers.reduce((n, t) => n + t.length, 0);
  const files = layout.flatMap((e) => (e.kind === 'file' ? [e.file] : []));
  const v1 = hashes.pieces !== undefined;
  const v2 = hashes.files !== undefined;
  let layers: Map<Uint8Array, BencodeInput> | undefined;
  if (v2) {
    // Keyed by `pieces root`: files of the same content have one entry (as libtorrent writes it).
    const byRoot = new Map<string, [Uint8Array, Uint8Array]>();
    for (const h of hashes.files!)
      if (h?.layer !== undefined) byRoot.set(Buffer.from(h.root).toString('hex'), [h.root, h.layer]);
    layers = new Map([...byRoot.values()]);
  }
  const info = {
    ...(v2
      ? {
          'file tree': fileTree(
            files.map((f) => (multiFile ? f.path : [name])),
            hashes.files!,
            files.map((f) => f.length),
          ),
          'meta version': 2,
        }
      : {}),
    ...(!v1
      ? {}
      : multiFile
        ? {
            files: layout.map((e) =>
              e.kind === 'file'
                ? { length: e.file.length, path: e.file.path }
                : { attr: 'p', length: e.length, path: paddingPath(e.length) },
            ),
          }
        : { length: files[0]!.length }),
    name,
    'piece length': pieceLength,
    pieces: hashes.pieces,
    private: options.private === true ? 1 : undefined,
  };
  const root = {
    announce,
    'announce-list': trackerCount > 1 ? tiers : undefined,
    comment: options.comment,
    'created by': options.createdBy ?? CREATED_BY,
    'creation date': creationDate,
    info,
    'piece layers': layers,
    'url-list':
      options.urlList === undefined || options.urlList.length === 0
        ? undefined
        : [...new Set(options.urlList)],
  };
  return { root, info };
}
