/**
 * Where BEP 47 padding files go in a torrent we create as v2 or hybrid (BEP 52), as libtorrent 2.0
 * lays them out (file_storage::canonicalize, libtorrent ≥ 2.0.4, and BEP 52's reference creator):
 * after every non-empty file that does not end on a piece boundary, the last file included ("tail
 * padding"), a padding file up to the next boundary; none after an empty file, and none at all in a
 * torrent of one file. So every non-empty file starts a piece, and piece i of the v1 view (`pieces`
 * over the files with their padding as zeros) is piece i of the v2 view: a hybrid's v1 and v2 piece
 * indexes coincide. libtorrent loads a hybrid by laying out its v2 `file tree` this way and
 * expecting the v1 `files` to match.
 *
 * A padding file is named `.pad/<length>` and marked `attr` "p" in the v1 `files` list; the v2
 * `file tree` never lists it (its alignment is implicit there).
 */

/** One entry of the laid-out payload: a file of the source, or padding after one. */
export type LaidOut<F> =
  | { readonly kind: 'file'; readonly file: F; readonly offset: number }
  | { readonly kind: 'padding'; readonly length: number; readonly offset: number };

/** `files` in order, with padding where libtorrent puts it when `padded` (v2, hybrid); none for v1. */
export function layOutFiles<F extends { readonly length: number }>(
  files: readonly F[],
  pieceLength: number,
  padded: boolean,
): LaidOut<F>[] {
  const out: LaidOut<F>[] = [];
  let offset = 0;
  for (const file of files) {
    out.push({ kind: 'file', file, offset });
    offset += file.length;
    const over = offset % pieceLength;
    if (padded && files.length > 1 && file.length > 0 && over !== 0) {
      out.push({ kind: 'padding', length: pieceLength - over, offset });
      offset += pieceLength - over;
    }
  }
  return out;
}

/** The payload's length, padding included. */
export function laidOutLength(entries: readonly LaidOut<{ readonly length: number }>[]): number {
  const last = entries.at(-1);
  if (last === undefined) return 0;
  return last.offset + (last.kind === 'file' ? last.file.length : last.length);
}

/** A padding file's path in the v1 `files` list, as libtorrent names it. */
export function paddingPath(length: number): string[] {
  return ['.pad', String(length)];
}
