/**
 * The asking side of BEP 52's hash requests: which requests fetch a file's piece layer, and whether
 * a peer's `hashes` answer proves itself against the file's `pieces root` — the one hash we trust,
 * from the info dictionary whose SHA-256 is the magnet's v2 info-hash.
 *
 * Requests are libtorrent's (hash_picker::pick_hashes): base layer = the piece layer
 * (log2(piece length / 16 KiB)), runs of PIECE_LAYER_REQUEST_LENGTH (512) hashes at multiples of 512,
 * the last run of a file the next power of two of what is left; proof layers up to just below the
 * root (height − base − 1), so every answer is checked on its own against the root, with no
 * other node of the tree kept.
 *
 * An answer (merkle-proof.ts has the layout) verifies when its length is the run plus the uncles the
 * request asked for, and folding the run (a power of two of hashes, padding included as the peer
 * sends it) then each uncle on the side the run's index says gives the `pieces root`. Pure; one
 * SHA-256 of 64 bytes per node folded, nothing kept but the run.
 */
import { HASH_LENGTH } from '../wire/limits.js';
import type { HashRange } from '../wire/messages.js';
import { uncleCount } from './merkle-proof.js';
import { hashPair, log2, MERKLE_BLOCK_BYTES, MerkleRoot, nextPowerOfTwo } from './merkle-tree.js';
import { PIECE_LAYER_REQUEST_LENGTH } from './piece-layer-trees.js';

/** A file whose piece layer is fetched: longer than one piece, known by its `pieces root`. */
export interface LayeredFile {
  readonly piecesRoot: Uint8Array;
  /** Its pieces (more than one). */
  readonly pieces: number;
}

/** The piece layer's height above the 16 KiB leaves for `pieceLength`. */
export function pieceLayerOf(pieceLength: number): number {
  return log2(pieceLength / MERKLE_BLOCK_BYTES);
}

/** The height of a file's tree of `pieces` pieces, in layers above the leaves. */
export function fileTreeHeight(pieceLayer: number, pieces: number): number {
  return pieceLayer + log2(nextPowerOfTwo(pieces));
}

/** How many requests fetch a file's piece layer: one per 512 pieces. */
export function pieceLayerRunCount(pieces: number): number {
  return Math.ceil(pieces / PIECE_LAYER_REQUEST_LENGTH);
}

/** The request for run `run` of `file`'s piece layer (as libtorrent asks it). */
export function pieceLayerRequest(file: LayeredFile, pieceLayer: number, run: number): HashRange {
  const index = run * PIECE_LAYER_REQUEST_LENGTH;
  const length = Math.min(PIECE_LAYER_REQUEST_LENGTH, nextPowerOfTwo(file.pieces - index));
  const height = fileTreeHeight(pieceLayer, file.pieces);
  return {
    piecesRoot: file.piecesRoot,
    baseLayer: pieceLayer,
    index,
    length,
    proofLayers: height - pieceLayer - 1,
  };
}

/**
 * The run of `req`'s base layer (`length` hashes, a view into `hashes`) when `hashes` answers `req`
 * and proves it up to `root` in a tree of height `height`; undefined when it does not (a wrong count,
 * a proof that stops below the root, or hashes that fold to another root).
 */
export function verifyHashes(
  root: Uint8Array,
  height: number,
  req: Omit<HashRange, 'piecesRoot'>,
  hashes: Uint8Array,
): Uint8Array | undefined {
  const { baseLayer, index, length, proofLayers } = req;
  if (length < 1 || (length & (length - 1)) !== 0 || index % length !== 0) return undefined;
  if (baseLayer < 0 || baseLayer >= height || proofLayers < 0) return undefined;
  const uncles = uncleCount(length, proofLayers);
  if (hashes.length !== (length + uncles) * HASH_LENGTH) return undefined;
  // Only a proof that reaches the root can be checked against it.
  if (log2(length) + uncles !== height - baseLayer) return undefined;
  if (index + length > 2 ** (height - baseLayer)) return undefined;
  const run = hashes.subarray(0, length * HASH_LENGTH);
  const tree = new MerkleRoot();
  for (let j = 0; j < length; j++) tree.push(run.subarray(j * HASH_LENGTH, (j + 1) * HASH_LENGTH));
  let node = tree.root(length);
  let position = index / length;
  for (let u = 0; u < uncles; u++) {
    const uncle = hashes.subarray((length + u) * HASH_LENGTH, (length + u + 1) * HASH_LENGTH);
    node = position % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node);
    position = Math.floor(position / 2);
  }
  return Buffer.from(node).equals(Buffer.from(root)) ? run : undefined;
}
