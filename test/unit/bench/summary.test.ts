import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientMedians,
  compareBitstate,
  roundOrder,
  swarmCpu,
  verdict,
} from '../../../bench/suite/summary.js';

const GIB = 2 ** 30;
const run = (client: string, wallSeconds: number, cpuSeconds: number, rssMiB: number, ok = true) => ({
  client,
  ok,
  wallSeconds,
  cpuSeconds,
  maxRssBytes: rssMiB * 2 ** 20,
  error: ok ? undefined : 'exit 1',
});

describe('bench summary', () => {
  it('medians over the good runs only, rates from the median wall time', () => {
    const rows = clientMedians(
      [
        run('bitstate', 4, 2, 80),
        run('bitstate', 2, 1, 90),
        run('bitstate', 3, 4, 70),
        run('bitstate', 0.1, 0.1, 1, false),
        run('aria2', 8, 3, 25),
      ],
      ['bitstate', 'aria2', 'libtorrent'],
      2 * GIB,
    );
    const [b, a, l] = rows;
    assert.equal(b?.runs, 4);
    assert.equal(b?.ok, 3);
    assert.equal(b?.wallSeconds, 3);
    assert.equal(b?.megabytesPerSecond, (2 * GIB) / 1e6 / 3);
    assert.equal(b?.cpuSeconds, 2);
    assert.equal(b?.cpuSecondsPerGiB, 1);
    assert.equal(b?.maxRssMiB, 80);
    assert.equal(b?.firstError, 'exit 1');
    assert.equal(a?.wallSeconds, 8);
    assert.equal(l?.runs, 0);
    assert.ok(Number.isNaN(l?.megabytesPerSecond));
  });

  it('compares bitstate with the faster other client and with libtorrent CPU', () => {
    const rows = clientMedians(
      [run('bitstate', 2, 2, 60), run('aria2', 6, 1, 25), run('libtorrent', 4, 4, 1200)],
      ['bitstate', 'aria2', 'libtorrent'],
      GIB,
    );
    const c = compareBitstate(rows);
    assert.equal(c.fasterOther, 'libtorrent');
    assert.equal(c.throughputRatio, 2);
    assert.equal(c.cpuRatioToLibtorrent, 0.5);
    assert.equal(c.bitstateRssMiB, 60);
  });

  it('counts in the writeback each run left to the kernel, per run before the median', () => {
    const left = (r: ReturnType<typeof run>, writebackLeftSeconds: number) => ({
      ...r,
      writebackLeftSeconds,
    });
    const rows = clientMedians(
      [
        left(run('bitstate', 2, 2.4, 80), 0.01),
        left(run('bitstate', 2, 2.6, 80), 0),
        left(run('bitstate', 2, 2.5, 80), 0.02),
        // libtorrent's CPU alone is lower, but it left its writeback behind.
        left(run('libtorrent', 2, 2.3, 1200), 0.3),
        left(run('libtorrent', 2, 2.2, 1200), 0.2),
        left(run('libtorrent', 2, 2.35, 1200), 0.35),
      ],
      ['bitstate', 'libtorrent'],
      GIB,
    );
    const c = compareBitstate(rows);
    assert.ok(c.cpuRatioToLibtorrent > 1, 'without the writeback bitstate costs more');
    assert.ok(Math.abs((rows[0]?.cpuWithWritebackPerGiB ?? 0) - 2.52) < 1e-9);
    assert.ok(Math.abs((rows[1]?.cpuWithWritebackPerGiB ?? 0) - 2.6) < 1e-9);
    assert.ok(c.cpuWithWritebackRatioToLibtorrent < 1, 'with it, less');
    // Runs without the measurement give NaN, never a figure that looks measured.
    const bare = clientMedians([run('bitstate', 2, 2, 80)], ['bitstate'], GIB);
    assert.ok(Number.isNaN(bare[0]?.cpuWithWritebackPerGiB));
  });

  it('a client with no good run gives NaN ratios, not a false verdict', () => {
    const rows = clientMedians(
      [run('bitstate', 1, 1, 1, false), run('aria2', 6, 1, 25)],
      ['bitstate', 'aria2', 'libtorrent'],
      GIB,
    );
    const c = compareBitstate(rows);
    assert.ok(Number.isNaN(c.throughputRatio));
    assert.ok(Number.isNaN(c.cpuRatioToLibtorrent));
    assert.equal(
      verdict(c.throughputRatio, (v) => v >= 1.2),
      '—',
    );
  });

  it('verdict says yes / NO', () => {
    assert.equal(
      verdict(1.3, (v) => v >= 1.2),
      'yes',
    );
    assert.equal(
      verdict(1.1, (v) => v >= 1.2),
      'NO',
    );
  });

  it('roundOrder rotates so each client goes first in turn', () => {
    const c = ['bitstate', 'aria2', 'libtorrent'];
    assert.deepEqual(roundOrder(c, 1), c);
    assert.deepEqual(roundOrder(c, 2), ['aria2', 'libtorrent', 'bitstate']);
    assert.deepEqual(roundOrder(c, 3), ['libtorrent', 'bitstate', 'aria2']);
    assert.deepEqual(roundOrder(c, 4), c);
    assert.deepEqual(roundOrder([], 2), []);
  });

  it("the swarm's CPU: medians of the downloader's and the seeders' CPU, and how busy the cores were", () => {
    const r = (
      client: string,
      wallSeconds: number,
      cpuSeconds: number,
      seedersCpuSeconds: number,
      ok = true,
    ) => ({
      client,
      ok,
      wallSeconds,
      cpuSeconds,
      seedersCpuSeconds,
    });
    const [b, l] = swarmCpu(
      [
        r('bitstate', 2, 2, 1.6), // 3.6 of 4 core-seconds: 0.9
        r('bitstate', 3, 2.4, 1.8), // 4.2 of 6: 0.7
        r('bitstate', 2.5, 2.2, 2.3), // 4.5 of 5: 0.9
        r('bitstate', 0.1, 0.1, 0.1, false),
        r('libtorrent', 2, 1, 1),
      ],
      ['bitstate', 'libtorrent', 'aria2'],
      2,
    );
    assert.equal(b?.downloaderCpuSeconds, 2.2);
    assert.equal(b?.seedersCpuSeconds, 1.8);
    assert.ok(Math.abs((b?.coresBusy ?? 0) - 0.9) < 1e-12);
    assert.equal(l?.coresBusy, 0.5);
  });
});
