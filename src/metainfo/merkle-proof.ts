/**
 * BEP 52 hash requests answered from a v2 torrent's piece layers: whether a request can be answered,
 * and the hashes that answer it — the run of the base layer asked for, then the uncle hashes that
 * prove it up to `proof layers`, the one closest to the base first (BEP 52: "hashes starts with the
 * base layer and ends with the uncle hash closest to the root"), exactly as libtorrent 2.0 builds
 * them (merkle_tree::get_hashes) and counts them (on_hashes: length + proof layers − log2(length) + 1).
 *
 *   height above the base            layer
 *     3    ·················R·················    the root: no uncle
 *     2    ·······x·················u2·······    u2: sent when proof layers ≥ 2
 *     1    ···x·······u1······x·········x····    u1: sent when proof layers ≥ 1
 *     0    ·[a···b]···c···d···e···f···g···h··    base layer, index 0, length 2: a b, then u1, u2
 *
 * The uncle at height h is the sibling of the run's ancestor at height h. Those below the run's own
 * root (height log2(length)) are hashes of the run itself and are left out, though counted in
 * `proof layers` (BEP 52: "the first log2(length)-1 proof layers are omitted"); a run of one hash
 * starts with its own sibling.
 *
 * A request is answered when it is valid for the file's tree (as libtorrent's validate_hash_request
 * has it: base layer below the root, the run inside its layer, proof layers below the root; and as
 * BEP 52 requires: a length that is a power of two, an index that is a multiple of it) and its base
 * is the piece layer or above, or the block layer (0) itself. Only files longer than one piece
 * have a tree here: a shorter file's `pieces root` is its one piece's hash, and no layer of its tree
 * is at or above the piece layer but the root, which no request may ask for.
 *
 * The block layer (the 16 KiB leaves, asked by libtorrent after a piece fails its check, to find the
 * bad block: hash_picker::verify_block_hashes asks base 0, the piece's blocks, proof up to the
 * layers it lacks) is not kept: the pieces the run lies in are read back and hashed
 * (src/storage/block-layer-hashes.ts), at most MAX_BLOCK_HASH_PIECES of them a request
 * (`blockRunPieces`); the uncles above those pieces come from the tree. Layers between the blocks
 * and the pieces are not answered (libtorrent asks neither for them nor takes them).
 *
 * Pure: the nodes above the piece layer were hashed once per torrent (piece-layer-trees.ts); here
 * they are only read, so the peer machine can answer without hashing.
 */
import { HASH_LENGTH, MAX_HASH_REQUEST_LENGTH } from '../wire/limits.js';
import type { HashRange } from '../wire/messages.js';

/** One file's merkle tree from its piece layer up (BEP 52: a file longer than one piece). */
export interface FileHashTree {
  /** The file's `pieces root`: the tree's root. */
  readonly root: Uint8Array;
  /** The piece layer's height above the 16 KiB leaves: log2(piece length / 16 KiB). */
  readonly pieceLayer: number;
  /**
   * `layers[k]`: the nodes k layers above the piece layer that cover some of the file, 32 bytes
   * each, left to right; `layers[0]` is the piece layer (one hash per piece of the file), the last
   * is the root alone. A node past a layer's end covers only padding: `pads[k]`.
   */
  readonly layers: readonly Uint8Array[];
  /** `pads[k]`: a node k layers above the piece layer over zero leaves only (padHash(pieceLayer + k)). */
  readonly pads: readonly Uint8Array[];
  /** The torrent's piece the file starts (each file of a v2 torrent or a hybrid starts one). */
  readonly firstPiece: number;
  /** The file's length in bytes: its last piece's leaves past it are zeros. */
  readonly length: number;
}

/**
 * A block-layer request the peer machine accepted, for the effect that reads its pieces back and
 * hashes them (src/storage/block-layer-hashes.ts): the request (its root a copy), the file's tree
 * (by reference) and the torrent's piece length.
 */
export interface BlockLayerRead {
  readonly range: HashRange;
  readonly tree: FileHashTree;
  readonly pieceLength: number;
}

/** What that effect gives back: the request, and its answer's hashes (undefined: reject it). */
export interface BlockLayerAnswer {
  readonly range: HashRange;
  readonly hashes: Uint8Array | undefined;
}

/**
 * Pieces one block-layer request may make us read back and hash: libtorrent asks for one piece's
 * blocks at a time; a longer run is a peer making us read.
 */
export const MAX_BLOCK_HASH_PIECES = 4;

/** A v2 torrent's file trees, by `pieces root` (rootKey), built once per torrent. */
export interface PieceLayerTrees {
  readonly files: ReadonlyMap<string, FileHashTree>;
  /**
   * Requests of 512 piece hashes that fetch every file's piece layer: what a peer starting from a
   * magnet link needs to ask (libtorrent asks 512 at a time, each run once); bounds a connection's
   * hash requests (machines/peer-hashes.ts).
   */
  readonly pieceLayerRequests: number;
}

/** Why a hash request is not answered (a `hash reject`). */
export type HashRequestProblem =
  /** No file of the torrent longer than one piece has this `pieces root`. */
  | 'unknownRoot'
  /** The base layer is between the block layer and the piece layer: not answered. */
  | 'belowPieceLayer'
  /** A block-layer run over more than MAX_BLOCK_HASH_PIECES pieces. */
  | 'tooManyBlocks'
  /** The base layer is the root's or above. */
  | 'baseAboveTree'
  /** Length 0, above MAX_HASH_REQUEST_LENGTH, or not a power of two. */
  | 'badLength'
  /** The index is not a multiple of the length. */
  | 'misaligned'
  /** The run ends past its layer (padding included). */
  | 'pastLayerEnd'
  /** Proof layers reach the root or above: the root has no uncle. */
  | 'tooManyProofLayers';

/** The key of a `pieces root` in PieceLayerTrees.files: its 32 bytes as char codes. */
export function rootKey(root: Uint8Array): string {
  return String.fromCharCode(...root);
}

/** The tree's height: layers from the 16 KiB leaves up to the root. */
export function treeHeight(tree: FileHashTree): number {
  return tree.pieceLayer + tree.layers.length - 1;
}

/** Why `req` is not answered from `tree`, or undefined when it is (merkleHashes then answers it). */
export function hashRequestProblem(
  tree: FileHashTree | undefined,
  req: Omit<HashRange, 'piecesRoot'>,
): HashRequestProblem | undefined {
  if (tree === undefined) return 'unknownRoot';
  const { baseLayer, index, length, proofLayers } = req;
  const height = treeHeight(tree);
  if (baseLayer !== 0 && baseLayer < tree.pieceLayer) return 'belowPieceLayer';
  if (baseLayer >= height) return 'baseAboveTree';
  if (length < 1 || length > MAX_HASH_REQUEST_LENGTH || (length & (length - 1)) !== 0) return 'badLength';
  if (index % length !== 0) return 'misaligned';
  // The layer's width, padding included: 2^(height − base).
  if (index + length > 2 ** (height - baseLayer)) return 'pastLayerEnd';
  if (proofLayers >= height - baseLayer) return 'tooManyProofLayers';
  if (baseLayer < tree.pieceLayer && length > MAX_BLOCK_HASH_PIECES * 2 ** tree.pieceLayer)
    return 'tooManyBlocks';
  return undefined;
}

/** A request below the piece layer (answered by reading the blocks back: `blockRunPieces`). */
export function isBlockLayerRequest(tree: FileHashTree, req: Pick<HashRange, 'baseLayer'>): boolean {
  return req.baseLayer < tree.pieceLayer;
}

/**
 * The pieces a valid block-layer request (hashRequestProblem gave undefined) is answered from: the
 * whole pieces its run lies in (a run inside one piece needs that piece's other leaves for its
 * uncles), `from` to `to` (exclusive) counted in the file's pieces — those past the file's last are
 * padding, all zero leaves, never read — and the torrent's pieces to read, `first` … `first + count − 1`.
 */
export function blockRunPieces(
  tree: FileHashTree,
  req: Pick<HashRange, 'index' | 'length'>,
): { from: number; to: number; first: number; count: number } {
  const perPiece = 2 ** tree.pieceLayer;
  const from = Math.floor(req.index / perPiece);
  const to = Math.max(from + 1, (req.index + req.length) / perPiece);
  const filePieces = tree.layers[0]!.length / HASH_LENGTH;
  return { from, to, first: tree.firstPiece + from, count: Math.max(0, Math.min(to, filePieces) - from) };
}

/** How many uncle hashes follow the run: proof layers − log2(length) + 1, at least none. */
export function uncleCount(length: number, proofLayers: number): number {
  return Math.max(0, proofLayers - Math.log2(length) + 1);
}

/**
 * The hashes answering `req` (for which hashRequestProblem gave undefined): `length` hashes of the
 * base layer from `index`, then the uncles from the run's root's sibling up to height
 * `proof layers`, 32 bytes each, in a buffer of their own.
 */
export function merkleHashes(tree: FileHashTree, req: Omit<HashRange, 'piecesRoot'>): Uint8Array {
  const { baseLayer, index, length, proofLayers } = req;
  const base = baseLayer - tree.pieceLayer;
  const uncles = uncleCount(length, proofLayers);
  const out = new Uint8Array((length + uncles) * HASH_LENGTH);
  for (let j = 0; j < length; j++) out.set(node(tree, base, index + j), j * HASH_LENGTH);
  const first = proofLayers + 1 - uncles; // log2(length), or 0 for a run of one
  for (let u = 0; u < uncles; u++) {
    const h = first + u;
    const ancestor = Math.floor(index / 2 ** h);
    const sibling = ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1;
    out.set(node(tree, base + h, sibling), (length + u) * HASH_LENGTH);
  }
  return out;
}

/** Node `j` of the layer `k` above the piece layer: a view into the layer, or the pad hash. */
export function node(tree: FileHashTree, k: number, j: number): Uint8Array {
  const layer = tree.layers[k]!;
  return j * HASH_LENGTH < layer.length
    ? layer.subarray(j * HASH_LENGTH, (j + 1) * HASH_LENGTH)
    : tree.pads[k]!;
}
