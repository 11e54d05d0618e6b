/**
 * Piece ↔ file mapping. BEP 3 hashes the payload as if every file were laid end to end in the
 * order of the info dictionary; a piece (and a block inside it) can therefore start in one file and
 * end in another, and a tiny file can sit entirely inside one piece:
 *
 *   payload  |--- a.bin (10) ---|-b-|------------ c.bin (40) ------------|
 *   pieces   |---- piece 0 (16) ----|---- piece 1 (16) ----|-- piece 2 --|...
 *
 * `FileMap.segments()` turns a range of the payload into the (file, offset in file, length) pieces
 * of it, in payload order. Zero-length files occupy no bytes and never appear in a segment;
 * BEP 47 padding files do appear (flagged `padding`) so that readers substitute zeros and writers
 * skip them. Lookup is a binary search over the file offsets: O(log files + segments).
 */
import { pieceLengthAt, type Torrent, type TorrentFile } from '../metainfo/torrent.js';
import { StorageError } from './storage-error.js';

export interface FileSegment {
  /** Index into `torrent.files`. */
  readonly fileIndex: number;
  /** Where the segment starts inside that file. */
  readonly fileOffset: number;
  readonly length: number;
  /** A BEP 47 padding file: never on disk, its bytes are zeros. */
  readonly padding: boolean;
}

export class FileMap {
  readonly totalLength: number;
  /** Indexes (into `files`) of the files with at least one byte, in payload order. */
  readonly #nonEmpty: number[] = [];
  /** `#starts[k]` = payload offset of file `#nonEmpty[k]`, ascending. */
  readonly #starts: number[] = [];
  readonly #files: readonly Pick<TorrentFile, 'length' | 'offset' | 'padding'>[];

  constructor(files: readonly Pick<TorrentFile, 'length' | 'offset' | 'padding'>[], totalLength: number) {
    let expected = 0;
    files.forEach((f, i) => {
      // parseTorrent guarantees contiguity; storage double-checks because a wrong offset here
      // would write one file's bytes into another.
      if (f.offset !== expected || !Number.isSafeInteger(f.length) || f.length < 0)
        throw new StorageError(
          'badRange',
          `file ${i} at offset ${f.offset} (length ${f.length}), expected offset ${expected}`,
          { badInput: true },
        );
      expected += f.length;
      if (f.length > 0) {
        this.#nonEmpty.push(i);
        this.#starts.push(f.offset);
      }
    });
    if (expected !== totalLength)
      throw new StorageError('badRange', `files add up to ${expected} bytes, torrent says ${totalLength}`, {
        badInput: true,
      });
    this.#files = files;
    this.totalLength = totalLength;
  }

  static of(torrent: Pick<Torrent, 'files' | 'totalLength'>): FileMap {
    return new FileMap(torrent.files, torrent.totalLength);
  }

  /** The segments covering payload bytes [offset, offset + length), in order. */
  segments(offset: number, length: number): FileSegment[] {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
      throw new StorageError('badRange', `payload range ${offset}+${length}`);
    if (offset + length > this.totalLength)
      throw new StorageError(
        'badRange',
        `payload range ${offset}+${length} past the end (${this.totalLength})`,
      );
    const out: FileSegment[] = [];
    if (length === 0) return out;
    // Last non-empty file whose start is <= offset.
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    let pos = offset;
    let left = length;
    for (let k = lo; left > 0; k++) {
      const fileIndex = this.#nonEmpty[k]!;
      const f = this.#files[fileIndex]!;
      const fileOffset = pos - f.offset;
      const n = Math.min(left, f.length - fileOffset);
      out.push({ fileIndex, fileOffset, length: n, padding: f.padding });
      pos += n;
      left -= n;
    }
    return out;
  }
}

/**
 * Payload offset of block (index, begin, length), checking that the block lies inside its piece.
 * Throws StorageError 'badRange' otherwise.
 */
export function blockOffset(
  t: Pick<Torrent, 'pieceLength' | 'pieceCount' | 'totalLength'>,
  index: number,
  begin: number,
  length: number,
): number {
  if (!Number.isInteger(index) || index < 0 || index >= t.pieceCount)
    throw new StorageError('badRange', `piece ${index} of ${t.pieceCount}`);
  const pieceLength = pieceLengthAt(t, index);
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0)
    throw new StorageError('badRange', `block ${index}:${begin}+${length}`);
  if (begin + length > pieceLength)
    throw new StorageError(
      'badRange',
      `block ${index}:${begin}+${length} past the piece (${pieceLength} bytes)`,
    );
  return index * t.pieceLength + begin;
}
