import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bestOther,
  count,
  fmt,
  fmtRatio,
  formatBytes,
  formatGrid,
  median,
  megabytesPerSecond,
  perGiB,
  ratio,
} from '../../../bench/suite/stats.js';

describe('bench stats', () => {
  it('median: odd, even, unsorted, non-finite values ignored, empty is NaN', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, Number.NaN, 1, Number.POSITIVE_INFINITY, 3]), 3);
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(median([Number.NaN])));
  });

  it('median does not reorder its input', () => {
    const v = [3, 1, 2];
    median(v);
    assert.deepEqual(v, [3, 1, 2]);
  });

  it('rates: MB are 10^6 bytes, CPU per GiB scales by 2^30', () => {
    assert.equal(megabytesPerSecond(200e6, 2), 100);
    assert.ok(Number.isNaN(megabytesPerSecond(1, 0)));
    assert.equal(perGiB(3, 2 ** 29), 6);
    assert.equal(perGiB(1.5, 2 ** 30), 1.5);
    assert.ok(Number.isNaN(perGiB(1, 0)));
  });

  it('ratio is NaN when either side is missing or the divisor is zero', () => {
    assert.equal(ratio(3, 2), 1.5);
    assert.ok(Number.isNaN(ratio(1, 0)));
    assert.ok(Number.isNaN(ratio(Number.NaN, 2)));
    assert.ok(Number.isNaN(ratio(2, Number.NaN)));
  });

  it('bestOther skips self and missing values, picks highest or lowest', () => {
    const rows = [
      { client: 'bitstate', v: 500 },
      { client: 'aria2', v: 150 },
      { client: 'libtorrent', v: 300 },
      { client: 'broken', v: Number.NaN },
    ];
    assert.deepEqual(
      bestOther(rows, 'bitstate', (r) => r.v, true),
      { client: 'libtorrent', value: 300 },
    );
    assert.deepEqual(
      bestOther(rows, 'bitstate', (r) => r.v, false),
      { client: 'aria2', value: 150 },
    );
    assert.equal(
      bestOther([{ client: 'bitstate', v: 1 }], 'bitstate', (r) => r.v, true),
      undefined,
    );
  });

  it('formats numbers, ratios and sizes', () => {
    assert.equal(fmt(1.234, 1), '1.2');
    assert.equal(fmt(Number.NaN, 1), '—');
    assert.equal(fmtRatio(1.2049), '×1.20');
    assert.equal(fmtRatio(Number.POSITIVE_INFINITY), '—');
    assert.equal(formatBytes(2 ** 30), '1 GiB');
    assert.equal(formatBytes(256 * 1024), '256 KiB');
    assert.equal(formatBytes(100_000 * 16 * 1024), '1.5 GiB');
    assert.equal(formatBytes(100), '100 B');
  });

  it('count says one in the singular, others in the plural, irregular plurals given', () => {
    assert.equal(count(1, 'round'), '1 round');
    assert.equal(count(3, 'round'), '3 rounds');
    assert.equal(count(0, 'seeder'), '0 seeders');
    assert.equal(count(2, 'process', 'processes'), '2 processes');
  });

  it('formatGrid pads every column to its widest cell, missing cells empty', () => {
    const grid = formatGrid(['client', 'MB/s'], [['bitstate', '512.3'], ['aria2']]);
    assert.equal(
      grid,
      ['| client   | MB/s  |', '|----------|-------|', '| bitstate | 512.3 |', '| aria2    |       |'].join(
        '\n',
      ),
    );
  });
});
