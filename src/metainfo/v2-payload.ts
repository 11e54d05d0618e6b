/**
 * The payload of a v2-only torrent (BEP 52: `meta version` 2, a `file tree`, `piece layers` beside
 * `info`, no v1 `pieces`), laid out as libtorrent 2.0.8 lays it out, so that the rest of bitstate
 * sees one payload cut into pieces as in v1:
 *
 * - the files in the order of the `file tree`'s keys (v2-file-tree.ts);
 * - after each file whose length is not a multiple of the piece length, an implicit padding file
 *   (`padding: true`, path `.pad/<length>`) up to the next piece boundary — after the last file
 *   too, as libtorrent 2.0.8 pads it (its last piece is a whole piece on the wire) — so that every
 *   file starts a piece; an empty file or a symbolic link takes no room and gets none;
 * - one entry in the tree that is a file: a single-file torrent, named as that file (libtorrent
 *   takes the file's name, not `name`, for it); otherwise the files are under a folder `name`;
 * - `pieces`: one 32-byte hash a piece, from `piece layers` or a short file's `pieces root`
 *   (piece-layers.ts).
 *
 * A v2 file's `attr` may hold `x` (executable) and `h` (hidden), ignored as in v1, and `l`: a
 * symbolic link, which has no length and no pieces root, taken as an empty file as v1 takes one;
 * `p` (padding) is refused, as libtorrent refuses it: v2 padding is implicit.
 */
import { type BencodeIndex, bdecodeIndex, latin1 } from './bencode-index.js';
import { resolveCaseCollisions } from './case-collisions.js';
import {
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_TORRENT_TOKENS,
  MAX_V2_FILE_LENGTH,
  MAX_V2_PATHS_BYTES,
} from './limits.js';
import { MERKLE_BLOCK_BYTES, MERKLE_HASH_BYTES } from './merkle-tree.js';
import { MetainfoError } from './metainfo-error.js';
import { hybridPieceLayers, v2PieceHashes } from './piece-layers.js';
import type { Torrent, TorrentFile } from './torrent.js';
import { asBytes, asDict, asLength, isString, required, wrongType } from './torrent-fields.js';
import { checkPath, PathSet } from './torrent-path.js';
import { FILE_TREE_FIELD, isSingleFileTree, quotedPath, walkFileTree } from './v2-file-tree.js';

/** BEP 52: "meta version … currently 2". */
const META_VERSION = 2n;
const ATTR_PADDING = 0x70; // 'p'
const ATTR_SYMLINK = 0x6c; // 'l'

/** What parseTorrent takes from the info dictionary's payload keys, v1 or v2. */
export type Payload = Pick<
  Torrent,
  'name' | 'pieceLength' | 'pieceCount' | 'pieces' | 'multiFile' | 'files' | 'totalLength'
>;

/** A v2-only info dictionary: no v1 `pieces`, and a `file tree` or a `meta version`. */
export function isV2Only(ix: BencodeIndex, info: number): boolean {
  if (ix.get(info, 'pieces') !== undefined) return false;
  return ix.get(info, 'file tree') !== undefined || ix.get(info, 'meta version') !== undefined;
}

/** The payload of v2-only `info` (`name` read and checked), `root` the .torrent's root dictionary. */
export function v2Payload(ix: BencodeIndex, root: number, info: number, name: string): Payload {
  const version = required(ix, info, 'meta version', 'info.meta version');
  if (ix.kind(version) !== 'integer') throw wrongType(ix, 'info.meta version', 'an integer', version);
  if (ix.integer(version) !== META_VERSION)
    throw new MetainfoError(
      'unsupported',
      `info.meta version: ${ix.integer(version)}, not ${META_VERSION} (BitTorrent v2, BEP 52)`,
      { field: 'info.meta version' },
    );
  const pieceLength = v2PieceLength(ix, info);
  const tree = required(ix, info, 'file tree', FILE_TREE_FIELD);
  const single = ix.kind(tree) === 'dictionary' && isSingleFileTree(ix, tree);
  const { files: named, roots } = v2Files(ix, tree, pieceLength);
  if (named.length === 0)
    throw new MetainfoError('invalid-value', `${FILE_TREE_FIELD}: no files`, { field: FILE_TREE_FIELD });
  const last = named[named.length - 1]!;
  const totalLength = last.offset + last.length;
  if (totalLength === 0)
    throw new MetainfoError('invalid-value', `${FILE_TREE_FIELD}: the payload is empty (total length 0)`, {
      field: FILE_TREE_FIELD,
    });
  const pieceCount = boundedPieceCount(totalLength, pieceLength);
  const pieces = v2PieceHashes(ix, root, named, roots, pieceLength, pieceCount);
  return {
    name: single ? named[0]!.path[0]! : name,
    pieceLength,
    pieceCount,
    pieces,
    multiFile: !single,
    files: resolveCaseCollisions(named),
    totalLength,
  };
}

/**
 * A hybrid's piece layers laid on its v1 pieces (`payload`, read from its v1 keys and checked to
 * list the files of its `file tree`), or undefined when its .torrent has none (piece-layers.ts).
 * With layers, its piece length and each non-empty file's `pieces root` are checked as a v2
 * torrent's are.
 */
export function hybridLayers(
  ix: BencodeIndex,
  root: number,
  info: number,
  payload: Pick<Payload, 'files' | 'pieceLength' | 'pieceCount'>,
): Uint8Array | undefined {
  if (ix.get(root, 'piece layers') === undefined) return undefined;
  const pieceLength = v2PieceLength(ix, info);
  const roots = rootsOfHybridFiles(ix, info, payload.files);
  return hybridPieceLayers(ix, root, payload.files, roots, pieceLength, payload.pieceCount);
}

/** `roots[i]`: file i's `pieces root` from the `file tree` of a hybrid's `info` (undefined: padding, empty). */
function rootsOfHybridFiles(
  ix: BencodeIndex,
  info: number,
  files: readonly TorrentFile[],
): (Uint8Array | undefined)[] {
  const tree = required(ix, info, 'file tree', FILE_TREE_FIELD);
  // The tree's files are the v1 files but padding, in order (checkHybridFileTree).
  const data = files.flatMap((f, i) => (f.padding ? [] : [i]));
  const roots: (Uint8Array | undefined)[] = files.map(() => undefined);
  let next = 0;
  walkFileTree(ix, tree, (path, leaf) => {
    const i = data[next++]!;
    if (files[i]!.length > 0) roots[i] = piecesRoot(ix, leaf, `${FILE_TREE_FIELD}[${quotedPath(path)}]`);
  });
  return roots;
}

/**
 * Each file's `pieces root` (undefined for padding and empty files) of a hybrid, read from its info
 * dictionary (`torrent.infoBytes`, parsed already, so checked): what a hybrid without its `piece
 * layers` checks layers hashed from its own data against (src/session/computed-piece-layers.ts).
 */
export function hybridPiecesRoots(
  torrent: Pick<Torrent, 'infoBytes' | 'files'>,
): readonly (Uint8Array | undefined)[] {
  const ix = bdecodeIndex(torrent.infoBytes, { maxTokens: MAX_TORRENT_TOKENS, wideIntegers: true });
  return rootsOfHybridFiles(ix, asDict(ix, 0, 'info'), torrent.files);
}

/** The pieces of a payload of `totalLength`, at most MAX_PIECES (what the piece hashes are allocated from). */
function boundedPieceCount(totalLength: number, pieceLength: number): number {
  const pieceCount = Math.ceil(totalLength / pieceLength);
  if (pieceCount > MAX_PIECES)
    throw new MetainfoError(
      'limit-exceeded',
      `${FILE_TREE_FIELD}: ${pieceCount} pieces (limit ${MAX_PIECES})`,
      {
        field: FILE_TREE_FIELD,
        limit: MAX_PIECES,
        actual: pieceCount,
      },
    );
  return pieceCount;
}

/** BEP 52: "It must be a power of two and at least 16KiB" (libtorrent refuses anything else). */
function v2PieceLength(ix: BencodeIndex, info: number): number {
  const field = 'info.piece length';
  const value = required(ix, info, 'piece length', field);
  if (ix.kind(value) !== 'integer') throw wrongType(ix, field, 'an integer', value);
  const n = ix.integer(value);
  if (n < BigInt(MERKLE_BLOCK_BYTES) || n > BigInt(MAX_PIECE_LENGTH) || (n & (n - 1n)) !== 0n)
    throw new MetainfoError(
      'invalid-value',
      `${field}: ${n} is not a power of two from ${MERKLE_BLOCK_BYTES} to ${MAX_PIECE_LENGTH} (BEP 52)`,
      { field, limit: MAX_PIECE_LENGTH },
    );
  return Number(n);
}

/**
 * The files of `tree` with their implicit padding, before case collisions are resolved, and each
 * one's `pieces root` (undefined for padding, empty files and links).
 */
function v2Files(
  ix: BencodeIndex,
  tree: number,
  pieceLength: number,
): { files: TorrentFile[]; roots: (Uint8Array | undefined)[] } {
  const files: TorrentFile[] = [];
  const roots: (Uint8Array | undefined)[] = [];
  const seen = new PathSet();
  let offset = 0;
  // The paths spelled out so far: bounded before the files' paths are kept (limits.ts).
  let pathBytes = 0;
  const add = (file: TorrentFile, root: Uint8Array | undefined): void => {
    if (files.length >= MAX_FILES)
      throw new MetainfoError(
        'limit-exceeded',
        `${FILE_TREE_FIELD}: more than ${MAX_FILES} files, padding included`,
        {
          field: FILE_TREE_FIELD,
          limit: MAX_FILES,
        },
      );
    files.push(file);
    roots.push(root);
  };
  walkFileTree(ix, tree, (treePath, leaf) => {
    const path = [...treePath];
    const field = `${FILE_TREE_FIELD}[${quotedPath(path)}]`;
    if (ix.kind(leaf) !== 'dictionary') throw wrongType(ix, field, 'a dictionary', leaf);
    pathBytes += checkPath(path, field);
    if (pathBytes > MAX_V2_PATHS_BYTES)
      throw new MetainfoError(
        'limit-exceeded',
        `${FILE_TREE_FIELD}: paths of more than ${MAX_V2_PATHS_BYTES} bytes spelled out (a v1 torrent could not hold them)`,
        { field: FILE_TREE_FIELD, limit: MAX_V2_PATHS_BYTES },
      );
    // Two keys that decode to one name (invalid UTF-8 becomes U+FFFD) would be one file on disk.
    seen.add(path, field);
    const attrValue = ix.get(leaf, 'attr');
    const attr = isString(ix, attrValue) ? ix.string(attrValue) : undefined;
    if (attr?.includes(ATTR_PADDING))
      throw new MetainfoError('invalid-value', `${field}.attr: a padding file ("p") in a v2 file tree`, {
        field: `${field}.attr`,
      });
    // A symbolic link has no length and no pieces root (libtorrent ignores them): an empty file.
    const symlink = attr?.includes(ATTR_SYMLINK) === true;
    const length = symlink ? 0 : fileLength(ix, leaf, field);
    const root = length === 0 ? undefined : piecesRoot(ix, leaf, field);
    if (offset + length > Number.MAX_SAFE_INTEGER)
      throw new MetainfoError('invalid-value', `${field}.length: total length past 2^53-1`, {
        field: `${field}.length`,
      });
    add({ path, length, offset, padding: false }, root);
    offset += length;
    const tail = length % pieceLength;
    if (tail === 0) return;
    const pad = pieceLength - tail;
    add({ path: ['.pad', String(pad)], length: pad, offset, padding: true }, undefined);
    offset += pad;
  });
  return { files, roots };
}

function fileLength(ix: BencodeIndex, leaf: number, field: string): number {
  const length = asLength(ix, required(ix, leaf, 'length', `${field}.length`), `${field}.length`);
  if (length > MAX_V2_FILE_LENGTH)
    throw new MetainfoError(
      'limit-exceeded',
      `${field}.length: ${length} bytes (limit ${MAX_V2_FILE_LENGTH}, libtorrent's for a v2 file)`,
      { field: `${field}.length`, limit: MAX_V2_FILE_LENGTH, actual: length },
    );
  return length;
}

/** A non-empty file's `pieces root`: 32 bytes, not all zeros (libtorrent 2.0.8 refuses those). */
function piecesRoot(ix: BencodeIndex, leaf: number, field: string): Uint8Array {
  const f = `${field}.pieces root`;
  const root = asBytes(ix, required(ix, leaf, 'pieces root', f), f);
  if (root.length !== MERKLE_HASH_BYTES)
    throw new MetainfoError('invalid-value', `${f}: ${root.length} bytes, not ${MERKLE_HASH_BYTES}`, {
      field: f,
    });
  if (root.every((b) => b === 0))
    throw new MetainfoError('invalid-value', `${f}: all zeros (the root of no data)`, { field: f });
  return root;
}

/**
 * A v2-only info dictionary's files whose piece layers must be fetched (BEP 52: each file longer
 * than one piece, once per `pieces root`; identical files share one), and the piece layer's height:
 * what a v2 magnet's fetch asks peers for (machines/piece-layer-fetch.ts). Undefined for a v1 info
 * dictionary, and for a hybrid one unless `hybrid` (a hybrid fetched by magnet fetches its layers
 * alongside its v1 download: machines/torrent-piece-layers.ts). Throws MetainfoError as parseTorrent would.
 */
export function pieceLayerPlan(
  infoBytes: Uint8Array,
  { hybrid = false }: { readonly hybrid?: boolean } = {},
): { pieceLength: number; files: { piecesRoot: Uint8Array; pieces: number }[] } | undefined {
  const ix = bdecodeIndex(infoBytes, { maxTokens: MAX_TORRENT_TOKENS, wideIntegers: true });
  const info = asDict(ix, 0, 'info');
  const isHybrid = ix.get(info, 'pieces') !== undefined && ix.get(info, 'file tree') !== undefined;
  if (!isV2Only(ix, info) && !(hybrid && isHybrid)) return undefined;
  const pieceLength = v2PieceLength(ix, info);
  const { files, roots } = v2Files(ix, required(ix, info, 'file tree', FILE_TREE_FIELD), pieceLength);
  // The layers are allocated from this: bounded as parseTorrent bounds the pieces.
  const last = files[files.length - 1];
  const _pieceCount = last === undefined ? 0 : boundedPieceCount(last.offset + last.length, pieceLength);
  const seen = new Set<string>();
  const layered: { piecesRoot: Uint8Array; pieces: number }[] = [];
  files.forEach((f, i) => {
    const root = roots[i];
    if (root === undefined || f.length <= pieceLength || seen.has(latin1(root))) return;
    seen.add(latin1(root));
    layered.push({ piecesRoot: root, pieces: Math.ceil(f.length / pieceLength) });
  });
  return { pieceLength, files: layered };
}
