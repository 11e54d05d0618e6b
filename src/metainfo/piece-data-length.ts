/**
 * The pieces that end in padding (BEP 47 padding files of v1 and hybrid torrents, a v2 torrent's
 * implicit padding: src/metainfo/torrent.ts), and how many bytes of each come before the padding.
 * Padding is never stored and is known to be zeros, so it is never asked of a peer: libtorrent's
 * picker leaves such blocks out as well. Without this, a v2 torrent of small files with 1 MiB
 * pieces transferred ~1 MiB of zeros per file.
 *
 * Only padding at a piece's end counts (where every client puts it: it aligns the next file to a
 * piece), and only when some of the piece's bytes are data: a piece of nothing but padding stays as
 * it is.
 */
import type { Torrent } from './torrent.js';

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
