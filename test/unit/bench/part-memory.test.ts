import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MemoryRun, memoryTable } from '../../../bench/suite/part-memory.js';

const GIB = 2 ** 30;
const run = (size: number, round: number, rssMiB: number, ok = true): MemoryRun => ({
  size,
  run: {
    round,
    ok,
    error: ok ? undefined : 'exit 1',
    measurement: {
      wallSeconds: size / GIB,
      cpuSeconds: (2 * size) / GIB,
      userSeconds: size / GIB,
      systemSeconds: size / GIB,
      maxRssBytes: rssMiB * 2 ** 20,
      exitCode: ok ? 0 : 1,
      timedOut: false,
      outputTail: '',
    },
  },
});
const cellsOf = (table: string, first: string) =>
  table
    .split('\n')
    .find((l) => l.startsWith(`| ${first}`))
    ?.split('|')
    .map((c) => c.trim());

describe('bench memory part: table 3b', () => {
  it('the verdict is the ratio of the median peaks, not of one round', () => {
    // One unlucky 8 GiB round (90) beside two at 80: the median is 80, ×1.00 of the 1 GiB median.
    const runs = [
      run(GIB, 1, 79),
      run(8 * GIB, 1, 90),
      run(8 * GIB, 2, 80),
      run(GIB, 2, 80),
      run(GIB, 3, 81),
      run(8 * GIB, 3, 80),
    ];
    const { table, growth, perRound } = memoryTable(runs, GIB, 8 * GIB, 3);
    assert.equal(growth, 80 / 80);
    assert.deepEqual(perRound, [90 / 79, 80 / 80, 80 / 81]);
    assert.match(table, /\(median of 3 rounds\)/);
    assert.match(table, /RSS 8 GiB ÷ 1 GiB: ×1\.00 — no higher \(≤ ×1\.05\)\? yes/);
    assert.match(table, /round by round: ×1\.00 \(×0\.99–×1\.14\), at most ×1\.05 in 2 of 3/);
    const big = cellsOf(table, '8 GiB');
    assert.equal(big?.[2], '3/3');
    assert.equal(big?.[6], '80');
    assert.equal(big?.[7], '80–90');
    assert.equal(big?.[5], '2.00'); // CPU s per GiB: 16 CPU s over 8 GiB
  });

  it('a failed run is counted and named, and left out of the medians and the pairs', () => {
    const runs = [run(GIB, 1, 80), run(8 * GIB, 1, 95, false), run(GIB, 2, 80), run(8 * GIB, 2, 88)];
    const { table, growth, perRound } = memoryTable(runs, GIB, 8 * GIB, 2);
    assert.equal(growth, 88 / 80);
    assert.deepEqual(perRound, [88 / 80]);
    assert.match(table, /no higher \(≤ ×1\.05\)\? NO/);
    assert.equal(cellsOf(table, '8 GiB')?.[2], '1/2; NO: exit 1');
  });

  it('no good run of a size: no verdict at all', () => {
    const { table, growth } = memoryTable([run(GIB, 1, 80), run(8 * GIB, 1, 80, false)], GIB, 8 * GIB, 1);
    assert.ok(Number.isNaN(growth));
    assert.match(table, /no higher \(≤ ×1\.05\)\? —/);
    assert.match(table, /round by round: —/);
    assert.match(table, /\(median of 1 round\)/);
  });
});
