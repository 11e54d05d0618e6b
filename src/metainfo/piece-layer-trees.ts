/**
 * A v2 torrent's merkle trees from the piece layers up (BEP 52), built once per torrent so that a
 * peer's hash requests are answered by reading nodes (merkle-proof.ts), never by hashing: each file
 * longer than one piece gets its piece layer (its pieces' hashes in `torrent.pieces`, or a hybrid's
 * `torrent.pieceLayers`, a view, no copy), the layers above it up to its root, and the pad hashes of each layer, under its `pieces
 * root`. A file of one piece or less has no layer at or above the piece layer but its root, so no
 * request can be answered from it and it gets no tree.
 *
 * Cost: one SHA-256 of 64 bytes per node above the piece layers, about one per piece (the roots
 * alone cost as much: the parser checks the same piece layers against the same roots); memory
 * about the piece layers' size again (32 bytes per piece).
 */
import type { FileHashTree, PieceLayerTrees } from './merkle-proof.js';
import { rootKey } from './merkle-proof.js';
import { hashPair, log2, MERKLE_BLOCK_BYTES, MERKLE_HASH_BYTES, padHash } from './merkle-tree.js';
import { PIECE_LAYER_REQUEST_LENGTH } from './piece-layer-requests.js';
import type { Torrent } from './torrent.js';

export { PIECE_LAYER_REQUEST_LENGTH };

/**
 * The trees of a v2 torrent's files, from its `pieces`, or of a hybrid's, from its `pieceLayers`;
 * undefined for a v1 torrent and a hybrid whose .torrent had no piece layers.
 */
export function pieceLayerTrees(
  t: Pick<Torrent, 'version' | 'files' | 'pieces' | 'pieceLength' | 'pieceLayers'>,
): PieceLayerTrees | undefined {
  const pieces = t.version === 'v2' ? t.pieces : t.version === 'hybrid' ? t.pieceLayers : undefined;
  if (pieces === undefined) return undefined;
  const layered = t.files.flatMap((f) => {
    if (f.padding || f.length <= t.pieceLength) return [];
    const first = f.offset / t.pieceLength;
    const count = Math.ceil(f.length / t.pieceLength);
    const layer = pieces.subarray(first * MERKLE_HASH_BYTES, (first + count) * MERKLE_HASH_BYTES);
    return [{ layer, firstPiece: first, length: f.length }];
  });
  return layerTrees(layered, t.pieceLength);
}

/** One file's piece layer (32 bytes a piece), the torrent's piece it starts and its length. */
export interface FileLayer {
  readonly layer: Uint8Array;
  readonly firstPiece: number;
  readonly length: number;
}

/**
 * The trees over `layered` files' piece layers (each longer than one piece): all of a torrent's
 * (pieceLayerTrees), or those of a hybrid's files whose layers it hashed from its own data so far
 * (src/session/computed-piece-layers.ts).
 */
export function layerTrees(layered: readonly FileLayer[], pieceLength: number): PieceLayerTrees {
  const pieceLayer = log2(pieceLength / MERKLE_BLOCK_BYTES);
  const files = new Map<string, FileHashTree>();
  let pieceLayerRequests = 0;
  for (const f of layered) {
    const tree = fileTree(f.layer, pieceLayer, f.firstPiece, f.length);
    files.set(rootKey(tree.root), tree);
    pieceLayerRequests += Math.ceil(f.layer.length / MERKLE_HASH_BYTES / PIECE_LAYER_REQUEST_LENGTH);
  }
  return { files, pieceLayerRequests };
}

/**
 * The tree over a piece layer (two hashes or more): each layer hashed in pairs from the one below.
 * The file starts piece `firstPiece` and is `length` bytes (by default: whole pieces).
 */
export function fileTree(
  pieceLayerHashes: Uint8Array,
  pieceLayer: number,
  firstPiece = 0,
  length = (pieceLayerHashes.length / MERKLE_HASH_BYTES) * MERKLE_BLOCK_BYTES * 2 ** pieceLayer,
): FileHashTree {
  const layers: Uint8Array[] = [pieceLayerHashes];
  const pads: Uint8Array[] = [padHash(pieceLayer)];
  let below = pieceLayerHashes;
  while (below.length > MERKLE_HASH_BYTES) {
    const count = below.length / MERKLE_HASH_BYTES;
    const pad = pads[pads.length - 1]!;
    const layer = new Uint8Array(Math.ceil(count / 2) * MERKLE_HASH_BYTES);
    for (let j = 0; 2 * j < count; j++) {
      const left = below.subarray(2 * j * MERKLE_HASH_BYTES, (2 * j + 1) * MERKLE_HASH_BYTES);
      const right =
        2 * j + 1 < count
          ? below.subarray((2 * j + 1) * MERKLE_HASH_BYTES, (2 * j + 2) * MERKLE_HASH_BYTES)
          : pad;
      layer.set(hashPair(left, right), j * MERKLE_HASH_BYTES);
    }
    layers.push(layer);
    pads.push(padHash(pieceLayer + pads.length));
    below = layer;
  }
  return { root: below, pieceLayer, layers, pads, firstPiece, length };
}
