import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inLanes } from '../../../src/storage/in-lanes.js';

const tick = () => new Promise((r) => setImmediate(r));

test('inLanes runs every task, at most `lanes` at once', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await inLanes(100, 7, async (i) => {
    running++;
    most = Math.max(most, running);
    for (let k = 0; k < (i % 3) + 1; k++) await tick();
    running--;
    done.push(i);
  });
  assert.equal(most, 7);
  assert.deepEqual(
    done.sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  await inLanes(0, 4, async () => assert.fail('no task for count 0'));
});

test('after a failure no task starts, and the failure is thrown once the running ones settled', async () => {
  const started: number[] = [];
  let settled = 0;
  const run = inLanes(50, 4, async (i) => {
    started.push(i);
    await tick();
    if (i === 5) throw new Error('task 5');
    await tick();
    settled++;
  });
  await assert.rejects(run, /task 5/);
  assert.ok(started.length < 50, `${started.length} started`);
  assert.equal(settled, started.length - 1, 'every other started task had settled');
});
