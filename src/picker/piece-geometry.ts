import { BLOCK_LENGTH, type BlockRef } from './blocks.js';
import { PickerError } from './picker-error.js';

/**
 * Where the blocks of each piece lie. Every piece but the last is `pieceLength` long; the last holds
 * the rest of `totalLength`. Blocks are `blockLength` long except the last of a piece. A block has a
 * numeric id `index * maxBlocksPerPiece + block` so per-peer request sets hold numbers, not objects.
 * A piece that ends in padding (`dataLengths`: src/metainfo/piece-data-length.ts) has blocks only
 * up to its data's end: padding is never requested.
 */
export class PieceGeometry {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly blockLength: number;
  /** Blocks in a full-length piece; the last piece may have fewer. */
  readonly maxBlocksPerPiece: number;
  readonly #lastPieceLength: number;
  readonly #dataLengths: ReadonlyMap<number, number> | undefined;
  readonly totalBlocks: number;

  constructor(
    pieceCount: number,
    pieceLength: number,
    totalLength: number,
    blockLength = BLOCK_LENGTH,
    dataLengths?: ReadonlyMap<number, number>,
  ) {
    const numbers = { pieceCount, pieceLength, totalLength, blockLength };
    const ok =
      Number.isSafeInteger(pieceCount) &&
      pieceCount >= 0 &&
      Number.isSafeInteger(pieceLength) &&
      pieceLength > 0 &&
      Number.isSafeInteger(totalLength) &&
      Number.isSafeInteger(blockLength) &&
      blockLength > 0 &&
      (pieceCount === 0
        ? totalLength === 0
        : totalLength > (pieceCount - 1) * pieceLength && totalLength <= pieceCount * pieceLength);
    if (!ok) throw new PickerError('invalidOptions', 'piece geometry does not add up', numbers);
    this.pieceCount = pieceCount;
    this.pieceLength = pieceLength;
    this.totalLength = totalLength;
    this.blockLength = blockLength;
    this.maxBlocksPerPiece = Math.ceil(pieceLength / blockLength);
    if (!Number.isSafeInteger(pieceCount * this.maxBlocksPerPiece))
      throw new PickerError('invalidOptions', 'too many blocks to number', numbers);
    this.#lastPieceLength = pieceCount === 0 ? 0 : totalLength - (pieceCount - 1) * pieceLength;
    let totalBlocks =
      pieceCount === 0
        ? 0
        : (pieceCount - 1) * this.maxBlocksPerPiece + Math.ceil(this.#lastPieceLength / blockLength);
    if (dataLengths !== undefined && dataLengths.size > 0) {
      for (const [index, length] of dataLengths) {
        const full = index === pieceCount - 1 ? this.#lastPieceLength : pieceLength;
        if (!Number.isInteger(index) || index < 0 || index >= pieceCount || !(length > 0 && length <= full))
          throw new PickerError('invalidOptions', 'a piece data length does not fit its piece', {
            index,
            length,
          });
        totalBlocks -= Math.ceil(full / blockLength) - Math.ceil(length / blockLength);
      }
      this.#dataLengths = dataLengths;
    }
    this.totalBlocks = totalBlocks;
  }

  pieceLengthOf(index: number): number {
    return index === this.pieceCount - 1 ? this.#lastPieceLength : this.pieceLength;
  }

  /** The bytes of piece `index` that are requested: all of it, or those before its tail padding. */
  dataLengthOf(index: number): number {
    return this.#dataLengths?.get(index) ?? this.pieceLengthOf(index);
  }

  blockCount(index: number): number {
    if (this.#dataLengths !== undefined) return Math.ceil(this.dataLengthOf(index) / this.blockLength);
    return index === this.pieceCount - 1
      ? Math.ceil(this.#lastPieceLength / this.blockLength)
      : this.maxBlocksPerPiece;
  }

  blockRef(index: number, block: number): BlockRef {
    const begin = block * this.blockLength;
    return { index, begin, length: Math.min(this.blockLength, this.dataLengthOf(index) - begin) };
  }

  /** The block number of `ref` within its piece, or -1 when `ref` is not exactly one of our blocks. */
  blockOf(ref: BlockRef): number {
    const { index, begin, length } = ref;
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return -1;
    if (!Number.isInteger(begin) || begin < 0 || begin % this.blockLength !== 0) return -1;
    const block = begin / this.blockLength;
    if (block >= this.blockCount(index)) return -1;
    return length === Math.min(this.blockLength, this.dataLengthOf(index) - begin) ? block : -1;
  }

  blockId(index: number, block: number): number {
    return index * this.maxBlocksPerPiece + block;
  }

  pieceOfId(id: number): number {
    return Math.floor(id / this.maxBlocksPerPiece);
  }

  blockOfId(id: number): number {
    return id - this.pieceOfId(id) * this.maxBlocksPerPiece;
  }
}
