/**
 * How one piece is hashed, whatever the torrent's version: everything that verifies a piece (as its
 * blocks are written, read back from disk, on a hash worker, in the probe) asks `createPieceHash`
 * for a hash to feed the piece's bytes, padding included, and compares its digest with
 * `pieceHash()`.
 *
 * - v1 and hybrid: SHA-1 over the piece's bytes (BEP 3; BEP 47 padding hashes as zeros).
 * - v2 (BEP 52): the merkle root of the piece's file bytes (src/metainfo/merkle-tree.ts). A v2
 *   piece holds the bytes of one file only, then, for a file's last piece, the implicit padding up
 *   to the next piece: the padding is not hashed. A piece of a file longer than a piece has
 *   `piece length / 16 KiB` leaves; the one piece of a shorter file has as many as the file's blocks,
 *   rounded up to a power of two (its `pieces root`).
 */
import { createHash } from 'node:crypto';
import { MERKLE_BLOCK_BYTES, nextPowerOfTwo, PieceMerkle } from './merkle-tree.js';
import type { TorrentVersion } from './torrent.js';

/** What hashing a piece needs to know of the torrent (the hash workers get it as plain data). */
export interface PieceHashSpec {
  readonly version: TorrentVersion;
  readonly files: readonly { readonly length: number; readonly offset: number; readonly padding: boolean }[];
  readonly pieceLength: number;
}

/** The part of node:crypto's Hash a piece's hash is used through. */
export interface PieceHash {
  update(bytes: Uint8Array): unknown;
  digest(): Uint8Array;
}

/** A v2 piece: its file's bytes in it, and the leaves of the subtree its hash is the root of. */
export interface V2PieceShape {
  readonly dataLength: number;
  readonly leaves: number;
}

export function createPieceHash(spec: PieceHashSpec, index: number): PieceHash {
  if (spec.version !== 'v2') return createHash('sha1');
  const shape = v2PieceShape(spec, index);
  return new PieceMerkle(shape.dataLength, shape.leaves);
}

/** The shape of piece `index` of a v2 torrent: found by a binary search of the files' offsets. */
export function v2PieceShape(spec: PieceHashSpec, index: number): V2PieceShape {
  const start = index * spec.pieceLength;
  const files = spec.files;
  let lo = 0;
  let hi = files.length - 1;
  // The last file that starts at or before `start`: the one whose bytes the piece holds (an empty
  // file or padding before it starts earlier or at the same offset; any after it, later).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (files[mid]!.offset <= start) lo = mid;
    else hi = mid - 1;
  }
  const file = files[lo]!;
  if (file.padding || start < file.offset || start >= file.offset + file.length)
    throw new RangeError(`piece ${index} does not start in a file's bytes`);
  const dataLength = Math.min(spec.pieceLength, file.offset + file.length - start);
  const leaves =
    file.length <= spec.pieceLength
      ? nextPowerOfTwo(Math.ceil(file.length / MERKLE_BLOCK_BYTES))
      : spec.pieceLength / MERKLE_BLOCK_BYTES;
  return { dataLength, leaves };
}
