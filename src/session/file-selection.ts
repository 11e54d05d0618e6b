/**
 * Which files a selective download fetches: `--select 0,2-4` (indexes into the torrent's file list,
 * in info-dictionary order, padding files counted, as `bitstate info --json` lists them) and
 * `--only GLOB` (matched against the file's path inside the torrent, `/`-separated; `*` and `?`
 * stop at `/`, `**` crosses it; a glob without `/` matches the file name in any folder; matched by
 * glob-matcher.ts in time linear in the path, whatever the torrent names its files). Several of
 * either add up.
 */
import {
  type FileIndexRange,
  type FileIndexRangesProblem,
  MAX_FILE_INDEX_TERMS,
  markFileIndexes,
  parseFileIndexRanges,
} from '../metainfo/file-index-ranges.js';
import type { Torrent } from '../metainfo/torrent.js';
import { GlobMatcher } from './glob-matcher.js';

export class SelectionError extends Error {
  override readonly name = 'SelectionError';
  readonly badInput = true;
  constructor(
    readonly code: 'badSyntax' | 'outOfRange' | 'nothingSelected',
    message: string,
  ) {
    super(message);
  }
}

/** The ranges of a `--select` spec ("0,2-4"), checked for syntax only (file-index-ranges.ts). */
function selectRanges(spec: string): FileIndexRange[] {
  const ranges = parseFileIndexRanges(spec);
  if (Array.isArray(ranges)) return ranges;
  const bad = ranges as FileIndexRangesProblem;
  throw new SelectionError(
    'badSyntax',
    bad.problem === 'tooManyTerms'
      ? `--select: ${bad.terms} terms (limit ${MAX_FILE_INDEX_TERMS})`
      : bad.problem === 'badTerm'
        ? `--select takes indexes and ranges like 0,2-4, not '${bad.term}'`
        : `--select: empty range ${bad.term}`,
  );
}

/** Marks the files named by `spec` ("0,2-4") in `selected`. */
export function selectIndexes(spec: string, selected: boolean[]): void {
  const past = markFileIndexes(selectRanges(spec), selected);
  if (past !== undefined)
    throw new SelectionError(
      'outOfRange',
      `--select: file ${past} does not exist (the torrent has ${selected.length} files, 0-${selected.length - 1})`,
    );
}

/**
 * Refuses `--select` specs and `--only` globs that are malformed whatever the files: checked before a
 * magnet link's metadata is fetched, so a typo is not found only after the swarm was asked.
 */
export function checkSelectionSyntax(select: readonly string[], only: readonly string[]): void {
  for (const spec of select) selectRanges(spec);
  for (const glob of only) new GlobMatcher(glob);
}

/** Marks the files whose path matches `glob`; returns how many matched. */
export function selectGlob(torrent: Pick<Torrent, 'files'>, glob: string, selected: boolean[]): number {
  const matcher = new GlobMatcher(glob);
  const byName = !glob.includes('/');
  let n = 0;
  torrent.files.forEach((f, i) => {
    if (f.padding) return;
    const path = f.path.join('/');
    if (matcher.test(byName ? (f.path[f.path.length - 1] ?? '') : path)) {
      selected[i] = true;
      n++;
    }
  });
  return n;
}

/**
 * The selection for `--select` specs and `--only` globs, or undefined when neither was given
 * (every file). Refuses a selection that names no file with bytes.
 */
export function fileSelection(
  torrent: Pick<Torrent, 'files'>,
  select: readonly string[],
  only: readonly string[],
): boolean[] | undefined {
  if (select.length === 0 && only.length === 0) return undefined;
  const selected = torrent.files.map(() => false);
  for (const spec of select) selectIndexes(spec, selected);
  for (const glob of only) selectGlob(torrent, glob, selected);
  if (!torrent.files.some((f, i) => selected[i] && !f.padding && f.length > 0))
    throw new SelectionError('nothingSelected', 'the selection names no file with data (--select / --only)');
  return selected;
}
