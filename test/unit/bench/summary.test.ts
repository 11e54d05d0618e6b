import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throughputTables, toCosts } from '../../../bench/suite/part-throughput.js';
import {
  clientMedians,
  compareBitstate,
  pairedDifferences,
  pairedRounds,
  roundOrder,
  swarmCpu,
  verdict,
} from '../../../bench/suite/summary.js';
import type { DownloadRun } from '../../../bench/suite/swarm.js';

const GIB = 2 ** 30;
const run = (client: string, wallSeconds: number, cpuSeconds: number, rssMiB: number, ok = true) => ({
  client,
  ok,
  wallSeconds,
  cpuSeconds,
  maxRssBytes: rssMiB * 2 ** 20,
  error: ok ? undefined : 'exit 1',
});
/** A run of a numbered round, 80 MiB peak RSS. */
const roundRun = (client: string, round: number, wallSeconds: number, cpuSeconds: number, ok = true) => ({
  ...run(client, wallSeconds, cpuSeconds, 80, ok),
  round,
});

/** A recorded download: `wall` and `cpu` seconds, good, 80 MiB. */
const dl = (
  client: 'bitstate' | 'aria2' | 'libtorrent',
  round: number,
  wall: number,
  cpu: number,
): DownloadRun => ({
  client,
  round,
  ok: true,
  error: undefined,
  measurement: {
    wallSeconds: wall,
    cpuSeconds: cpu,
    userSeconds: cpu,
    systemSeconds: 0,
    maxRssBytes: 80 * 2 ** 20,
    exitCode: 0,
    timedOut: false,
    outputTail: '',
  },
  seedersCpuSeconds: 1,
  writebackLeftSeconds: 0,
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

  it('pairs bitstate with another client round by round; a round either of them failed is left out', () => {
    const p = pairedRounds(
      [
        roundRun('bitstate', 1, 2, 2.2),
        roundRun('libtorrent', 1, 3, 2), // bitstate ×1.5 the throughput, ×1.1 the CPU
        roundRun('libtorrent', 2, 2, 2),
        roundRun('bitstate', 2, 2.5, 1.8), // ×0.8, ×0.9 (order within a round does not matter)
        roundRun('bitstate', 3, 2, 2),
        roundRun('libtorrent', 3, 2.4, 2.5), // ×1.2, ×0.8
        roundRun('bitstate', 4, 0.5, 0.5, false),
        roundRun('libtorrent', 4, 2, 2), // bitstate failed: no pair
        roundRun('libtorrent', 5, 2, 2), // bitstate did not run
        roundRun('aria2', 1, 6, 1.5),
      ],
      'libtorrent',
    );
    assert.equal(p.rounds, 3);
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);
    close(p.throughput.median, 1.2);
    close(p.throughput.min, 0.8);
    close(p.throughput.max, 1.5);
    assert.equal(p.throughput.ahead, 2);
    close(p.cpu.median, 0.9);
    close(p.cpu.min, 0.8);
    close(p.cpu.max, 1.1);
    assert.equal(p.cpu.ahead, 2);
    const none = pairedRounds([roundRun('bitstate', 1, 2, 2)], 'libtorrent');
    assert.equal(none.rounds, 0);
    assert.ok(Number.isNaN(none.throughput.median) && Number.isNaN(none.cpu.max));
  });

  it('an A/B of two builds: per-round differences, the other build against the base', () => {
    const d = pairedDifferences(
      [
        roundRun('before', 1, 3, 2.5),
        roundRun('after', 1, 2.8, 2.4), // −0.2 s wall, −0.1 CPU
        roundRun('after', 2, 3.1, 2.7), // +0.3, +0.1 (order within a round does not matter)
        roundRun('before', 2, 2.8, 2.6),
        roundRun('before', 3, 2.9, 2.5),
        roundRun('after', 3, 2.8, 2.2), // −0.1, −0.3
        roundRun('before', 4, 2.9, 2.5),
        roundRun('after', 4, 1, 1, false), // failed: no pair
        roundRun('libtorrent', 1, 3, 2),
      ],
      'before',
      'after',
    );
    assert.equal(d.rounds, 3);
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);
    close(d.cpuSeconds.median, -0.1);
    close(d.cpuSeconds.min, -0.3);
    close(d.cpuSeconds.max, 0.1);
    assert.equal(d.cpuSeconds.ahead, 2);
    close(d.wallSeconds.median, -0.1);
    close(d.wallSeconds.min, -0.2);
    close(d.wallSeconds.max, 0.3);
    assert.equal(d.wallSeconds.ahead, 2);
    // The other way round, the signs turn and "lower" counts the other build.
    const back = pairedDifferences([roundRun('a', 1, 2, 2), roundRun('b', 1, 3, 1)], 'b', 'a');
    close(back.wallSeconds.median, -1);
    close(back.cpuSeconds.median, 1);
    assert.equal(back.wallSeconds.ahead, 1);
    assert.equal(back.cpuSeconds.ahead, 0);
  });

  it('table 2d: the per-round ratios of each swarm, from the recorded runs', () => {
    const runs = [
      dl('bitstate', 1, 2, 2.2),
      dl('libtorrent', 1, 3, 2),
      dl('bitstate', 2, 2.5, 1.8),
      dl('libtorrent', 2, 2, 2),
      dl('bitstate', 3, 2, 2),
      dl('libtorrent', 3, 2.4, 2.5),
    ];
    const tables = throughputTables(
      [
        {
          label: '1 GiB, 1 MiB pieces, 4 seeders',
          pieceLength: 2 ** 20,
          seeders: 4,
          runs,
          medians: [],
          cpu: [],
        },
      ],
      3,
      2,
    );
    const t2d = tables.find((t) => t.startsWith('### 2d.'));
    assert.ok(t2d !== undefined, 'table 2d is printed');
    const row = t2d.split('\n').find((l) => l.startsWith('| 1 GiB'));
    assert.ok(row !== undefined);
    const cells = row.split('|').map((c) => c.trim());
    assert.deepEqual(cells.slice(2, 7), [
      '3',
      '×1.20 (×0.80–×1.50)',
      '2 of 3',
      '×0.90 (×0.80–×1.10)',
      '2 of 3',
    ]);
  });

  it('table 1s: the split rounds, apart from the shared ones; none without them', () => {
    const label = '1 GiB, 1 MiB pieces, 4 seeders';
    const shared = [dl('bitstate', 1, 3, 2), dl('libtorrent', 1, 2, 2)];
    // Split: bitstate 2 s against libtorrent 3 s (×1.50), and ×0.50 of its CPU.
    const splitRuns = [dl('bitstate', 1, 2, 1), dl('libtorrent', 1, 3, 2), dl('aria2', 1, 4, 1)];
    const swarm = { label, pieceLength: 2 ** 20, seeders: 4, runs: shared, medians: [], cpu: [] };
    const split = {
      swarmCpus: [0],
      downloaderCpus: [1],
      runs: splitRuns,
      medians: clientMedians(toCosts(splitRuns), ['bitstate', 'aria2', 'libtorrent'], GIB),
    };
    const tables = throughputTables([{ ...swarm, split }], 1, 2);
    const t1s = tables.find((t) => t.startsWith('### 1s.'));
    assert.ok(t1s !== undefined, 'table 1s is printed');
    assert.match(t1s, /seeders on CPU 0 and the downloader on CPU 1/);
    const cells = (t1s.split('\n').find((l) => l.startsWith('| 1 GiB')) ?? '')
      .split('|')
      .map((c) => c.trim());
    assert.deepEqual(cells.slice(5, 9), ['×1.50 (vs libtorrent)', 'yes', '1 of 1 rounds', '×0.50']);
    // Table 2d pairs the shared rounds only: there bitstate took 3 s against 2.
    const t2d = tables.find((t) => t.startsWith('### 2d.')) ?? '';
    assert.match(t2d.split('\n').find((l) => l.startsWith('| 1 GiB')) ?? '', /×0\.67 \(×0\.67–×0\.67\)/);
    assert.equal(
      throughputTables([swarm], 1, 2).some((t) => t.startsWith('### 1s.')),
      false,
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
