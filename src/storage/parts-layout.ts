/**
 * Selective download (`--select`, `--only`): which pieces are wanted and where the bytes of
 * unselected files go. A piece is wanted when it overlaps a selected file. A wanted piece may also
 * hold bytes of an unselected neighbour (pieces ignore file boundaries, BEP 3): those bytes must be
 * stored somewhere to hash the piece, yet the unselected file must not appear on disk. They go to a
 * parts file, `<out>/.bitstate/<infohash>.parts` (as libtorrent's partfile), one slot of
 * `pieceLength` bytes per such "shared" piece, at the bytes' offset within the piece:
 *
 *   payload   |--- a (selected) ---|--- b (unselected) ---|--- c (selected) ---|
 *   pieces    |  p0  |  p1  |  p2  |  p3  |  p4  |  p5  |  p6  |  p7  |  p8  |
 *   shared        p2 (a+b) → slot 0            p5 (b+c) → slot 1
 *
 * Slots are numbered in piece order, so the same selection always gives the same layout.
 */
import type { Torrent } from '../metainfo/torrent.js';
import { Bitfield } from '../picker/bitfield.js';
import type { FileSegment } from './file-map.js';
import { StorageError } from './storage-error.js';

export interface PartsLayout {
  /** Per torrent file: stored in its own file. Unselected files are never created. */
  readonly selected: readonly boolean[];
  /** Wanted pieces that overlap an unselected non-padding file, ascending: piece of slot k. */
  readonly sharedPieces: readonly number[];
}

type Geometry = Pick<Torrent, 'pieceLength' | 'pieceCount'> & {
  readonly files: readonly { readonly length: number; readonly offset: number; readonly padding: boolean }[];
};

/** First and last piece a non-empty file overlaps; undefined for an empty file. */
export function pieceRangeOf(t: Geometry, fileIndex: number): [number, number] | undefined {
  const f = t.files[fileIndex]!;
  if (f.length === 0) return undefined;
  return [Math.floor(f.offset / t.pieceLength), Math.floor((f.offset + f.length - 1) / t.pieceLength)];
}

/** Pieces that overlap a selected, non-padding file: what a selective download fetches. */
export function wantedPieces(t: Geometry, selected: readonly boolean[]): Bitfield {
  const wanted = new Bitfield(t.pieceCount);
  t.files.forEach((f, i) => {
    const range = pieceRangeOf(t, i);
    if (!selected[i] || f.padding || range === undefined) return;
    for (let p = range[0]; p <= range[1]; p++) wanted.set(p);
  });
  return wanted;
}

export function partsLayout(t: Geometry, selected: readonly boolean[]): PartsLayout {
  const wanted = wantedPieces(t, selected);
  const shared = new Set<number>();
  t.files.forEach((f, i) => {
    const range = pieceRangeOf(t, i);
    if (selected[i] || f.padding || range === undefined) return;
    // Only the first and last piece of an unselected file can also hold a selected file's bytes.
    for (const p of range) if (wanted.has(p)) shared.add(p);
  });
  return { selected, sharedPieces: [...shared].sort((a, b) => a - b) };
}

/** Slot of `piece` in the parts file, or -1. O(log shared pieces). */
export function slotOf(layout: Pick<PartsLayout, 'sharedPieces'>, piece: number): number {
  const s = layout.sharedPieces;
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = s[mid]!;
    if (v === piece) return mid;
    if (v < piece) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Segments of one piece with those of unselected files moved into the parts file, whose file index
 * is `t.files.length`. Throws `badRange` for an unselected file's bytes in a piece with no slot (a
 * piece that is not wanted: nothing may read or write it).
 */
export function redirectSegments(
  t: Geometry,
  layout: Pick<PartsLayout, 'selected' | 'sharedPieces'>,
  segments: FileSegment[],
): FileSegment[] {
  const out: FileSegment[] = [];
  for (const s of segments) {
    if (s.padding || layout.selected[s.fileIndex]) {
      out.push(s);
      continue;
    }
    const pos = t.files[s.fileIndex]!.offset + s.fileOffset;
    const piece = Math.floor(pos / t.pieceLength);
    const slot = slotOf(layout, piece);
    if (slot < 0)
      throw new StorageError('badRange', `piece ${piece} is not part of the selected files`, {
        badInput: false,
      });
    out.push({
      fileIndex: t.files.length,
      fileOffset: slot * t.pieceLength + (pos - piece * t.pieceLength),
      length: s.length,
      padding: false,
    });
  }
  return out;
}
