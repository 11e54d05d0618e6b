/**
 * A magnet's so= (BEP 53) applied to the files its metadata lists: the indexes `bitstate info` and
 * `--select` use, BEP 47 padding files counted; an index past the files or a choice of nothing with
 * data refused as `--select` refuses it (SelectionError, bad input).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import type { TorrentFile } from '../../../src/metainfo/torrent.js';
import { fileSelection, SelectionError } from '../../../src/session/file-selection.js';
import { selectOnlyFiles } from '../../../src/session/magnet-select-only.js';

const file = (path: string, length: number, padding = false): TorrentFile => ({
  path: path.split('/'),
  length,
  offset: 0,
  padding,
});

/** A hybrid's layout: a pad after each file that does not end on a piece boundary (BEP 47). */
const padded = {
  files: [
    file('a.bin', 20_000),
    file('.pad/12768', 12_768, true),
    file('b.bin', 30_000),
    file('.pad/2768', 2_768, true),
    file('c.bin', 5_000),
    file('empty', 0),
  ],
};
const so = (value: string) => parseMagnet(`magnet:?xt=urn:btih:${'ab'.repeat(20)}&so=${value}`).selectOnly;

test('so= selects by the info dictionary’s file indexes, padding counted: the same files as --select', () => {
  assert.equal(selectOnlyFiles(padded, undefined), undefined, 'no so=: every file');
  for (const value of ['2', '0,4', '2-5', '4,0-0', '1-3'])
    assert.deepEqual(selectOnlyFiles(padded, so(value)), fileSelection(padded, [value], []), value);
  assert.deepEqual(selectOnlyFiles(padded, so('2')), [false, false, true, false, false, false]);
});

test('so= past the files, or naming only padding and empty files: a SelectionError (bad input)', () => {
  const refused = (value: string, code: SelectionError['code'], pattern: RegExp) =>
    assert.throws(
      () => selectOnlyFiles(padded, so(value)),
      (err: unknown) => {
        assert.ok(err instanceof SelectionError, String(err));
        assert.equal(err.code, code);
        assert.equal(err.badInput, true);
        assert.match(err.message, pattern);
        return true;
      },
    );
  refused('6', 'outOfRange', /so=: file 6 does not exist \(the torrent has 6 files, 0-5/);
  refused('0,4-9', 'outOfRange', /file 9 does not exist/);
  refused('1,3,5', 'nothingSelected', /so= names no file with data/);
});
