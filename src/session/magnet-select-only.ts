/**
 * A magnet link's select-only files (BEP 53, `so=0,2,4-6`) once its metadata is known: the
 * selection a download of it fetches when the caller chose none (`--select` / `--only` win). The
 * indexes are `--select`'s: positions in the info dictionary's file list, padding files counted
 * (magnet.ts says why). An index past the files, or a choice of nothing but padding and empty
 * files, is refused as `--select` refuses it (SelectionError, bad input).
 */
import { type FileIndexRange, markFileIndexes } from '../metainfo/file-index-ranges.js';
import type { Torrent } from '../metainfo/torrent.js';
import { SelectionError } from './file-selection.js';

/** The files `so=` names, or undefined when the link has none (every file). */
export function selectOnlyFiles(
  torrent: Pick<Torrent, 'files'>,
  selectOnly: readonly FileIndexRange[] | undefined,
): boolean[] | undefined {
  if (selectOnly === undefined) return undefined;
  const count = torrent.files.length;
  const selected = torrent.files.map(() => false);
  const past = markFileIndexes(selectOnly, selected);
  if (past !== undefined)
    throw new SelectionError(
      'outOfRange',
      `the magnet link's so=: file ${past} does not exist (the torrent has ${count} files, 0-${count - 1}, padding counted as bitstate info lists them)`,
    );
  if (!torrent.files.some((f, i) => selected[i] && !f.padding && f.length > 0))
    throw new SelectionError('nothingSelected', "the magnet link's so= names no file with data");
  return selected;
}
