/**
 * `--select` and `--only`: which files a selective download fetches (src/session/file-selection.ts,
 * globs by src/session/glob-matcher.ts). The glob syntax as docs/resume.md describes it, and a
 * torrent whose names are built to make a backtracking matcher take forever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileSelection, SelectionError, selectGlob } from '../../../src/session/file-selection.js';
import { GlobMatcher } from '../../../src/session/glob-matcher.js';

const files = (...paths: string[]) => ({
  files: paths.map((p) => ({ path: p.split('/'), length: 1, offset: 0, padding: false })),
});

/** The paths of `torrent` that `glob` selects. */
function matching(glob: string, ...paths: string[]): string[] {
  const torrent = files(...paths);
  const selected = torrent.files.map(() => false);
  selectGlob(torrent, glob, selected);
  return paths.filter((_, i) => selected[i]);
}

test('a glob without / matches the file name in any folder', () => {
  assert.deepEqual(matching('*.mkv', 'a.mkv', 'x/y/b.mkv', 'c.mkv.part', 'mkv'), ['a.mkv', 'x/y/b.mkv']);
  assert.deepEqual(matching('?.txt', 'a.txt', 'ab.txt', 'd/b.txt'), ['a.txt', 'd/b.txt']);
});

test('a glob with / matches the whole path: * and ? stay within a folder', () => {
  assert.deepEqual(matching('a/*.txt', 'a/b.txt', 'a/b/c.txt', 'x/a/b.txt', 'a/.txt'), ['a/b.txt', 'a/.txt']);
  assert.deepEqual(matching('a/?/c', 'a/b/c', 'a/bb/c', 'a//c'), ['a/b/c']);
  assert.deepEqual(matching('*/*', 'a/b', 'a/b/c', 'a'), ['a/b']);
});

test('** crosses folders; **/ is zero or more whole folders', () => {
  assert.deepEqual(matching('docs/**', 'docs/a', 'docs/b/c', 'docsx/a', 'x/docs/a'), ['docs/a', 'docs/b/c']);
  assert.deepEqual(matching('**/x.txt', 'x.txt', 'a/x.txt', 'a/b/x.txt', 'ax.txt', 'a/bx.txt'), [
    'x.txt',
    'a/x.txt',
    'a/b/x.txt',
  ]);
  assert.deepEqual(matching('a/**/b', 'a/b', 'a/x/b', 'a/x/y/b', 'a/xb', 'ab'), ['a/b', 'a/x/b', 'a/x/y/b']);
  assert.deepEqual(matching('**.srt', 'a.srt', 'x/y/b.srt', 'c.txt'), ['a.srt', 'x/y/b.srt']);
  // `***` is `**` then `*` (as the glob has always been read)
  assert.deepEqual(matching('***/z', 'a/b/z', 'z'), ['a/b/z']);
});

test('a * that cannot cross / does not hide a ** before it that can', () => {
  // The classic two-pointer matcher goes back only to the last star and gets this wrong.
  assert.equal(new GlobMatcher('**c*d').test('cx/cd'), true);
  assert.equal(new GlobMatcher('**/c*d').test('cx/c/cyd'), true);
  assert.equal(new GlobMatcher('*c*d').test('cx/cd'), false);
});

test('every other character is itself: no classes, escapes or alternatives', () => {
  assert.deepEqual(matching('[ab].txt', '[ab].txt', 'a.txt'), ['[ab].txt']);
  assert.deepEqual(matching('{a,b}+(1)^$|.txt', '{a,b}+(1)^$|.txt', 'a+(1).txt'), ['{a,b}+(1)^$|.txt']);
  assert.deepEqual(matching('a\\*.txt', 'a\\b.txt', 'a*.txt'), ['a\\b.txt']);
  assert.deepEqual(matching('Übung ?.mkv', 'Übung 1.mkv', 'übung 1.mkv'), ['Übung 1.mkv']);
});

test('padding files are never selected; a selection of nothing with data is refused', () => {
  const torrent = {
    files: [
      { path: ['a.mkv'], length: 5, offset: 0, padding: false },
      { path: ['.pad', '3'], length: 3, offset: 5, padding: true },
      { path: ['b.srt'], length: 0, offset: 8, padding: false },
    ],
  };
  assert.deepEqual(fileSelection(torrent, [], ['*']), [true, false, true]);
  assert.deepEqual(fileSelection(torrent, ['2'], ['*.mkv']), [true, false, true]);
  assert.equal(fileSelection(torrent, [], []), undefined);
  assert.throws(
    () => fileSelection(torrent, [], ['*.srt']),
    (e) => e instanceof SelectionError && e.code === 'nothingSelected' && e.badInput,
  );
});

/** 50 files named `a-a-…-a` (120 a's, 239 bytes) in folders of their own, as in the review. */
const hostile = files(...Array.from({ length: 50 }, (_, i) => `${i}/${Array(120).fill('a').join('-')}`));

// A backtracking regex took 30 s here, and ~20x more per extra `*-`: the work itself is counted in
// the next test, on the matcher alone.
test('hostile names against --only *-*-*-*-*.mkv: refused as matching nothing', () => {
  assert.throws(() => fileSelection(hostile, [], ['*-*-*-*-*.mkv']), SelectionError);
});

test('the work is at most one visit per glob state per character of the path', () => {
  const name = Array(120).fill('a').join('-');
  for (const glob of [
    '*-*-*-*-*.mkv',
    '*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-*.mkv',
    '**-**-**/**-**.mkv',
    '*?*?*?*?*?*?x',
  ]) {
    const m = new GlobMatcher(glob);
    assert.equal(m.test(name), false);
    assert.ok(m.steps <= name.length * (glob.length + 1), `${glob}: ${m.steps} steps`);
    // and it grows linearly with the name: twice the name, about twice the steps
    const m2 = new GlobMatcher(glob);
    m2.test(`${name}-${name}`);
    assert.ok(m2.steps < 2.1 * m.steps, `${glob}: ${m.steps} then ${m2.steps} steps`);
  }
});
