/**
 * One file's BitTorrent v2 (BEP 52) hashes, from its bytes fed once, in order, in any slicing: its
 * `pieces root` and, for a file longer than one piece, its *piece layer* (the torrent's `piece
 * layers` entry: one 32-byte subtree root per piece). What `createTorrent` writes for each non-empty
 * file of a v2 or hybrid torrent.
 *
 * Each piece is a PieceMerkle of `piece length / 16 KiB` leaves, the last one padded with zero
 * leaves past the file's end; the root is the piece layer's root, padded with the roots of whole
 * zero pieces (layerRoot). A file of one piece or less is one subtree of its blocks rounded up to a
 * power of two, and that subtree's root is the `pieces root` (no layer). As libtorrent computes them
 * (create_torrent.cpp); src/metainfo/piece-hash.ts checks pieces against the same shapes.
 *
 * Memory: the piece layer (32 bytes a piece) and one piece's stack of hashes, never the bytes.
 */
import {
  layerRoot,
  log2,
  MERKLE_BLOCK_BYTES,
  MERKLE_HASH_BYTES,
  nextPowerOfTwo,
  PieceMerkle,
} from './merkle-tree.js';

export interface FileHashes {
  readonly piecesRoot: Uint8Array;
  /** The piece layer: pieceCount × 32 bytes; absent for a file of one piece or less. */
  readonly pieceLayer?: Uint8Array;
}

export class FileMerkleTree {
  readonly #length: number;
  readonly #pieceLength: number;
  /** Leaves under each piece's hash. */
  readonly #leaves: number;
  readonly #layer: Uint8Array;
  #piece: PieceMerkle;
  /** Pieces finished so far. */
  #done = 0;
  /** Bytes of the current piece taken so far. */
  #filled = 0;

  /** `length` > 0; `pieceLength` a power of two ≥ 16 KiB. */
  constructor(length: number, pieceLength: number) {
    if (length <= 0 || pieceLength < MERKLE_BLOCK_BYTES || (pieceLength & (pieceLength - 1)) !== 0)
      throw new RangeError(`no merkle tree for ${length} bytes in pieces of ${pieceLength}`);
    this.#length = length;
    this.#pieceLength = pieceLength;
    this.#leaves =
      length <= pieceLength
        ? nextPowerOfTwo(Math.ceil(length / MERKLE_BLOCK_BYTES))
        : pieceLength / MERKLE_BLOCK_BYTES;
    this.#layer = new Uint8Array(Math.ceil(length / pieceLength) * MERKLE_HASH_BYTES);
    this.#piece = this.#nextPiece();
  }

  #nextPiece(): PieceMerkle {
    const left = this.#length - this.#done * this.#pieceLength;
    return new PieceMerkle(Math.min(this.#pieceLength, left), this.#leaves);
  }

  /** The file's next bytes; more than its length is a RangeError. */
  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#done * MERKLE_HASH_BYTES >= this.#layer.length)
        throw new RangeError(`more than ${this.#length} bytes fed`);
      const pieceBytes = Math.min(this.#pieceLength, this.#length - this.#done * this.#pieceLength);
      const take = Math.min(pieceBytes - this.#filled, bytes.length - at);
      this.#piece.update(bytes.subarray(at, at + take));
      this.#filled += take;
      at += take;
      if (this.#filled === pieceBytes) {
        this.#layer.set(this.#piece.digest(), this.#done * MERKLE_HASH_BYTES);
        this.#done++;
        this.#filled = 0;
        if (this.#done * MERKLE_HASH_BYTES < this.#layer.length) this.#piece = this.#nextPiece();
      }
    }
  }

  /** The hashes, once every byte was fed (fewer is a RangeError). */
  digest(): FileHashes {
    if (this.#done * MERKLE_HASH_BYTES !== this.#layer.length)
      throw new RangeError(`${this.#length} bytes expected, fewer fed`);
    if (this.#done === 1) return { piecesRoot: this.#layer };
    return {
      piecesRoot: layerRoot(this.#layer, log2(this.#pieceLength / MERKLE_BLOCK_BYTES)),
      pieceLayer: this.#layer,
    };
  }
}
