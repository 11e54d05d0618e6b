/**
 * File indexes and inclusive ranges, "0,2-4": how `--select` and a magnet link's `so=` (BEP 53) name
 * files of a torrent — indexes into its file list in info-dictionary order, padding files counted, as
 * `bitstate info --json` lists them. Checked for syntax only: what can be said before the torrent's
 * files are known (a magnet link's metadata is fetched first). Each caller words its own error.
 */

/** Longest list accepted (ranges count once): more is a typo or an attack on memory. */
export const MAX_FILE_INDEX_TERMS = 10_000;

/** Files `from` to `to`, both included. */
export type FileIndexRange = readonly [from: number, to: number];

/** Why a list is not file indexes: too many terms, a term that is not `N` or `N-M`, or `M` < `N`. */
export type FileIndexRangesProblem =
  | { readonly problem: 'tooManyTerms'; readonly terms: number }
  | { readonly problem: 'badTerm' | 'emptyRange'; readonly term: string };

/** The ranges of `spec` ("0,2-4" → [[0, 0], [2, 4]]; spaces around numbers allowed), or its problem. */
export function parseFileIndexRanges(spec: string): FileIndexRange[] | FileIndexRangesProblem {
  const terms = spec.split(',');
  if (terms.length > MAX_FILE_INDEX_TERMS) return { problem: 'tooManyTerms', terms: terms.length };
  const ranges: FileIndexRange[] = [];
  for (const term of terms) {
    const m = /^\s*(\d{1,9})\s*(?:-\s*(\d{1,9})\s*)?$/.exec(term);
    if (m === null) return { problem: 'badTerm', term };
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return { problem: 'emptyRange', term };
    ranges.push([from, to]);
  }
  return ranges;
}

/**
 * Marks the files `ranges` name in `selected`, each file once: overlapping ranges are merged first, so
 * a list that names the same files again and again (a link's `so=0-262143,0-262143,…`) costs its terms
 * and the files, not their product. An index past the files marks nothing: it is returned (the first
 * such range's end, in the order given) for the caller's error.
 */
export function markFileIndexes(ranges: readonly FileIndexRange[], selected: boolean[]): number | undefined {
  const past = ranges.find(([, to]) => to >= selected.length);
  if (past !== undefined) return past[1];
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let marked = -1; // every index up to here is marked
  for (const [from, to] of sorted) {
    if (to <= marked) continue;
    selected.fill(true, Math.max(from, marked + 1), to + 1);
    marked = to;
  }
  return undefined;
}
