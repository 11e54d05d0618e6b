/**
 * The hash requests (BEP 52) that fetch a v2 file's piece layer, as libtorrent asks them
 * (hash_picker::pick_hashes): base layer = the piece layer (log2(piece length / 16 KiB)), runs of
 * PIECE_LAYER_REQUEST_LENGTH (512) hashes at multiples of 512, a file's last run the next power of
 * two of what is left (padding included), and proof layers up to just below the file's root, so
 * that every answer is checked on its own against the `pieces root` (verify-hashes.ts). Pure
 * arithmetic, no hashing: the metadata machine's bookkeeping uses it.
 */
import type { HashRange } from '../wire/messages.js';

/** The hashes one request of libtorrent's asks for at the piece layer (its hash_picker's 512). */
export const PIECE_LAYER_REQUEST_LENGTH = 512;

/** A file whose piece layer is fetched: longer than one piece, known by its `pieces root`. */
export interface LayeredFile {
  readonly piecesRoot: Uint8Array;
  /** Its pieces (more than one). */
  readonly pieces: number;
}

/** The smallest power of two ≥ n (1 for n ≤ 1). */
function ceilPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The piece layer's height above the 16 KiB leaves for `pieceLength` (a power of two ≥ 16 KiB). */
export function pieceLayerOf(pieceLength: number): number {
  return Math.round(Math.log2(pieceLength / (16 * 1024)));
}

/** The height of a file's tree of `pieces` pieces, in layers above the leaves. */
export function fileTreeHeight(pieceLayer: number, pieces: number): number {
  return pieceLayer + Math.round(Math.log2(ceilPow2(pieces)));
}

/** How many requests fetch a file's piece layer: one per 512 pieces. */
export function pieceLayerRunCount(pieces: number): number {
  return Math.ceil(pieces / PIECE_LAYER_REQUEST_LENGTH);
}

/** The request for run `run` of `file`'s piece layer. */
export function pieceLayerRequest(file: LayeredFile, pieceLayer: number, run: number): HashRange {
  const index = run * PIECE_LAYER_REQUEST_LENGTH;
  const length = Math.min(PIECE_LAYER_REQUEST_LENGTH, ceilPow2(file.pieces - index));
  const height = fileTreeHeight(pieceLayer, file.pieces);
  return {
    piecesRoot: file.piecesRoot,
    baseLayer: pieceLayer,
    index,
    length,
    proofLayers: height - pieceLayer - 1,
  };
}
