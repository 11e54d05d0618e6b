import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * keepHeapSmall (src/cli/small-heap.ts), each run in a fresh Node process since V8 flags are
 * process-wide. The same allocation patterns with and without it: a flag V8 stopped reading (a
 * Node upgrade) fails here, not silently in the benchmark.
 */
const moduleUrl = new URL('../../../src/cli/small-heap.ts', import.meta.url).href;

function run(small: boolean, body: string): { initial: number; max: number } {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${small ? `(await import(${JSON.stringify(moduleUrl)})).keepHeapSmall();` : ''}
    const space = (name) => getHeapSpaceStatistics().find((s) => s.space_name === name).space_size;
    ${body}
    console.log(JSON.stringify({ initial, max }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as { initial: number; max: number };
}

// Garbage with a little that survives a few scavenges, as a download makes.
const young = `
  const initial = space('new_space');
  const keep = [];
  let max = 0;
  for (let i = 0; i < 400000; i++) {
    const o = { a: i, b: new Array(8).fill(i) };
    if (i % 10 === 0) keep.push(o);
    if (keep.length > 2000) keep.splice(0, 1000);
    if (i % 1000 === 0) max = Math.max(max, space('new_space'));
  }`;

test('the young generation stays at its initial size; left alone, V8 grows it', () => {
  const grown = run(false, young);
  assert.ok(grown.max > grown.initial, `without the flag it grows: ${JSON.stringify(grown)}`);
  const small = run(true, young);
  assert.equal(small.max, small.initial, `with it, it stays: ${JSON.stringify(small)}`);
});

// Objects that live long enough to be promoted, then die, beside a few MB that stay.
const promoted = `
  const initial = space('old_space');
  const live = [];
  for (let i = 0; i < 200000; i++) live.push({ i, s: 'x' + i });
  let queue = [];
  let max = 0;
  for (let i = 0; i < 3000000; i++) {
    queue.push({ a: i, b: [i, i] });
    if (queue.length > 50000) queue = queue.slice(25000);
    if (i % 5000 === 0) max = Math.max(max, space('old_space'));
  }`;

test('the old generation is collected before it grows far: its peak is well below the default', () => {
  const grown = run(false, promoted);
  const small = run(true, promoted);
  assert.ok(small.max < grown.max * 0.75, `old space peak ${small.max} with the flag, ${grown.max} without`);
});

// A worker starts (as the hash pool's does), then the same garbage as above.
const youngAfterWorker = `
  const { Worker } = await import('node:worker_threads');
  const w = new Worker('setTimeout(() => {}, 10)', { eval: true, execArgv: [] });
  await new Promise((resolve) => w.once('online', resolve));
  await new Promise((resolve) => setImmediate(resolve));
  await w.terminate();
  ${young}`;

test("a worker's start does not undo it (V8 enforces the flags' minimums again then)", () => {
  const small = run(true, youngAfterWorker);
  assert.equal(small.max, small.initial, `after a worker, it stays: ${JSON.stringify(small)}`);
});
