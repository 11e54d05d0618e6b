import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_COALESCED_BYTES, WriteCoalescer } from '../../../src/storage/write-coalescer.js';

interface Call {
  file: number;
  position: number;
  lengths: number[];
}

function recorder(fail?: (c: Call) => boolean) {
  const calls: Call[] = [];
  const c = new WriteCoalescer(async (file, buffers, position) => {
    const call = { file, position, lengths: buffers.map((b) => b.length) };
    calls.push(call);
    if (fail?.(call)) throw new Error('disk says no');
  });
  return { c, calls };
}

const turn = () => new Promise((r) => setImmediate(r));

test('interleaved blocks of two places in one file make two runs, written at the end of the turn', async () => {
  const { c, calls } = recorder();
  const b = new Uint8Array(16);
  const p1 = c.write(0, 0, b);
  c.write(0, 1000, b);
  const p2 = c.write(0, 16, b);
  c.write(0, 1016, b);
  assert.equal(p1, p2, 'blocks of one run share its promise');
  assert.equal(calls.length, 0, 'nothing written before the turn ends');
  assert.equal(c.openRuns, 2);
  await turn();
  assert.deepEqual(
    calls.sort((x, y) => x.position - y.position),
    [
      { file: 0, position: 0, lengths: [16, 16] },
      { file: 0, position: 1000, lengths: [16, 16] },
    ],
  );
  await p1;
});

test('flushRange writes only the runs that hold bytes of the range', async () => {
  const { c, calls } = recorder();
  const b = new Uint8Array(16);
  c.write(0, 0, b);
  c.write(0, 100, b);
  c.write(1, 0, b);
  c.flushRange(0, 90, 120);
  assert.deepEqual(calls, [{ file: 0, position: 100, lengths: [16] }]);
  assert.equal(c.openRuns, 2);
  c.flushRange(0, 16, 90); // touches no open run: [0,16) ends where the range starts
  assert.equal(calls.length, 1);
  await turn();
  assert.equal(calls.length, 3);
});

test('a run is written as soon as it holds MAX_COALESCED_BYTES', () => {
  const { c, calls } = recorder();
  const half = new Uint8Array(MAX_COALESCED_BYTES / 2);
  c.write(3, 0, half);
  assert.equal(calls.length, 0);
  c.write(3, half.length, half);
  assert.deepEqual(calls, [{ file: 3, position: 0, lengths: [half.length, half.length] }]);
  assert.equal(c.openRuns, 0);
});

test('a failed write rejects the promise of every block of its run', async () => {
  const { c } = recorder((call) => call.position === 0);
  const b = new Uint8Array(8);
  const a1 = c.write(0, 0, b);
  const a2 = c.write(0, 8, b);
  const other = c.write(0, 64, b);
  c.flushAll();
  await assert.rejects(a1, /disk says no/);
  await assert.rejects(a2, /disk says no/);
  await other;
});
