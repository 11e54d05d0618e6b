/**
 * Padding and the figures that leave it out. Padding — BEP 47 padding files of v1 and hybrid
 * torrents, a v2 torrent's implicit padding (src/metainfo/torrent.ts) — is never stored, never
 * wanted and known to be zeros:
 *
 * - `pieceDataLengths`: the pieces that end in padding, and how many bytes of each come before it.
 *   That padding is never asked of a peer: libtorrent's picker leaves such blocks out as well.
 *   Without this, a v2 torrent of small files with 1 MiB pieces transferred ~1 MiB of zeros per
 *   file. Only padding at a piece's end counts here (where every client puts it: it aligns the next
 *   file to a piece), and only when some of the piece's bytes are data: a piece of nothing but
 *   padding stays as it is.
 * - `DataBytes`: the torrent's bytes without padding, wherever in a piece it is — the one place
 *   that says how much data a set of pieces holds: the size, progress and ETA a user is shown, the
 *   `left` a tracker is told, what `--seed-ratio` is counted against. As libtorrent's
 *   `total_wanted` / `total_wanted_done`, which leave pad files out, and Transmission's size.
 */
import type { Torrent } from './torrent.js';

type Layout = Pick<Torrent, 'files' | 'pieceLength' | 'pieceCount' | 'totalLength'>;

/** A set of piece indexes (the picker's Bitfield). */
export interface PieceSet {
  readonly count: number;
  has(index: number): boolean;
}

/** Piece index → bytes before its tail padding, for every piece that ends in padding. */
export function pieceDataLengths(
  t: Pick<Torrent, 'files' | 'pieceLength' | 'totalLength'>,
): ReadonlyMap<number, number> {
  const out = new Map<number, number>();
  for (const f of t.files) {
    if (!f.padding || f.length === 0) continue;
    const piece = Math.floor(f.offset / t.pieceLength);
    const pieceStart = piece * t.pieceLength;
    const pieceEnd = Math.min(pieceStart + t.pieceLength, t.totalLength);
    if (f.offset > pieceStart && f.offset + f.length === pieceEnd) out.set(piece, f.offset - pieceStart);
  }
  return out;
}

/** The torrent's bytes without padding: its files' (what `bitstate info` calls its size). */
export function dataLength(t: Pick<Torrent, 'files' | 'totalLength'>): number {
  let padding = 0;
  for (const f of t.files) if (f.padding) padding += f.length;
  return t.totalLength - padding;
}

/**
 * The data (padding left out) in a torrent's pieces. Built once per torrent (one pass over its
 * files); `of(pieces)` costs one bit test per piece that holds padding, nothing for a torrent
 * without any — it runs on the 1 s progress tick and at each announce, never per block.
 */
export class DataBytes {
  /** Every piece's data: the torrent's length without its padding. */
  readonly all: number;
  readonly #t: Layout;
  /** The pieces that hold padding, ascending, and how many bytes of it each holds. */
  readonly #paddedPieces: Uint32Array;
  readonly #paddingBytes: Float64Array;

  constructor(t: Layout) {
    this.#t = t;
    const padding = new Map<number, number>();
    for (const f of t.files) {
      if (!f.padding || f.length === 0) continue;
      // Wherever it is, across piece boundaries too: each piece it overlaps holds part of it.
      const end = f.offset + f.length;
      for (let p = Math.floor(f.offset / t.pieceLength); p * t.pieceLength < end; p++) {
        const from = Math.max(f.offset, p * t.pieceLength);
        const to = Math.min(end, (p + 1) * t.pieceLength);
        padding.set(p, (padding.get(p) ?? 0) + (to - from));
      }
    }
    this.all = dataLength(t);
    const pieces = [...padding.keys()].sort((a, b) => a - b);
    this.#paddedPieces = Uint32Array.from(pieces);
    this.#paddingBytes = Float64Array.from(pieces, (p) => padding.get(p) ?? 0);
  }

  /** Bytes of data in `pieces` (the last piece may be short; padding not counted). */
  of(pieces: PieceSet): number {
    const t = this.#t;
    if (t.pieceCount === 0) return 0;
    let bytes = pieces.count * t.pieceLength;
    if (pieces.has(t.pieceCount - 1)) bytes -= t.pieceCount * t.pieceLength - t.totalLength;
    const padded = this.#paddedPieces;
    for (let i = 0; i < padded.length; i++) if (pieces.has(padded[i]!)) bytes -= this.#paddingBytes[i]!;
    return bytes;
  }

  /** The data of the wanted pieces (a selective download's), or `all`. */
  wanted(wanted: PieceSet | undefined): number {
    return wanted === undefined ? this.all : this.of(wanted);
  }
}
