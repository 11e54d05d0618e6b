import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ScaleRound, scaleTable } from '../../../bench/suite/part-scale.js';

const round = (
  n: number,
  wallSeconds: number,
  ok = true,
  closed: Record<string, number> = {},
): ScaleRound => ({
  round: n,
  ok,
  exitCode: ok ? 0 : 1,
  timedOut: false,
  bytesMatch: ok,
  peerConnectedEvents: 500,
  maxConcurrentConnections: 495 + n,
  closedReasons: closed,
  failedPieces: 0,
  wallSeconds,
  cpuSeconds: wallSeconds - 0.5,
  maxRssMiB: 120 + n,
  seederCpuSeconds: [1.5, 1.25],
  stderrTail: ok ? undefined : 'bitstate: stalled\n  no payload for 60 s',
});
const cells = (table: string, first: string) =>
  table
    .split('\n')
    .find((l) => l.startsWith(`| ${first}`))
    ?.split('|')
    .map((c) => c.trim())
    .slice(1, -1);

describe('bench scale part: table 4', () => {
  it('one column per round, then the medians; yes only when every round completed', () => {
    const { table, allOk } = scaleTable(
      [round(1, 4.5, true, { socketClosed: 3 }), round(2, 4.0), round(3, 5.0)],
      500,
      2,
    );
    assert.equal(allOk, true);
    assert.match(table, /500 peer connections at once .*2 `bitstate seed` processes.*3 rounds/);
    assert.deepEqual(cells(table, 'wall s'), ['wall s (spawn to exit)', '4.50', '4.00', '5.00', '4.50']);
    assert.deepEqual(cells(table, 'connections open'), [
      'connections open at once (max)',
      '496',
      '497',
      '498',
      '497',
    ]);
    assert.deepEqual(cells(table, 'peer.closed'), [
      'peer.closed reasons',
      'socketClosed ×3',
      'none',
      'none',
      '',
    ]);
    assert.deepEqual(cells(table, 'seeders CPU'), [
      'seeders CPU s (together)',
      '2.75',
      '2.75',
      '2.75',
      '2.75',
    ]);
    assert.match(table, /Every round completed with no error\? yes/);
  });

  it('a quick run: one seed process, one round, in the singular', () => {
    const { table } = scaleTable([round(1, 1.5)], 60, 1);
    assert.match(table, /60 peer connections at once .*1 `bitstate seed` process on .*; 1 round\)/);
  });

  it('one failed round fails the part, is left out of the medians, and its stderr is shown', () => {
    const { table, allOk } = scaleTable([round(1, 4.0), round(2, 60, false), round(3, 5.0)], 500, 2);
    assert.equal(allOk, false);
    assert.deepEqual(cells(table, 'completed'), [
      'completed, exit 0, bytes equal, no piece.failed',
      'yes',
      'NO (exit 1)',
      'yes',
      '2/3',
    ]);
    assert.equal(cells(table, 'wall s')?.at(-1), '4.50');
    assert.match(table, /Every round completed with no error\? NO/);
    assert.match(table, /stderr tail \(round 2\): bitstate: stalled no payload for 60 s/);
  });
});
