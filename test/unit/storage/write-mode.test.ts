import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MIN_POOL_HOLD_MS,
  POOL_HOLD_MS,
  SLOW_WRITE_MS,
  WRITE_BUDGET_MS,
  WRITE_WINDOW_MS,
  WriteMode,
} from '../../../src/storage/write-mode.js';

/** A clock the test moves by hand. */
function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('auto: synchronous while writes are fast; one slow write sends writes to the pool for the hold', () => {
  const c = clock();
  const mode = new WriteMode('auto', c.now);
  assert.equal(mode.sync, true);
  let at = mode.start();
  c.advance(SLOW_WRITE_MS); // exactly the bound: still fast
  mode.wrote(at);
  assert.equal(mode.sync, true);
  assert.equal(mode.slowWrites, 0);

  at = mode.start();
  c.advance(SLOW_WRITE_MS + 1);
  mode.wrote(at);
  assert.equal(mode.slowWrites, 1);
  assert.equal(mode.sync, false, 'the disk is behind: the pool takes the writes');
  c.advance(MIN_POOL_HOLD_MS - 1);
  assert.equal(mode.sync, false);
  c.advance(1);
  assert.equal(mode.sync, true, 'after the hold the main thread tries again');
});

/** One synchronous write that takes `ms`, made at the clock's time. */
function write(mode: WriteMode, c: ReturnType<typeof clock>, ms: number): void {
  const at = mode.start();
  c.advance(ms);
  mode.wrote(at);
}

test('auto: a disk that stays slow gets holds doubling up to POOL_HOLD_MS; one slow moment a short hold', () => {
  const c = clock();
  const mode = new WriteMode('auto', c.now);
  const holds: number[] = [];
  for (let k = 0; k < 8; k++) {
    write(mode, c, SLOW_WRITE_MS + 1); // slow as soon as the main thread tries again
    let held = 0;
    while (!mode.sync) {
      c.advance(1);
      held++;
    }
    holds.push(held);
  }
  assert.deepEqual(holds, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(holds[0], MIN_POOL_HOLD_MS);

  // Fast writes for longer than the last hold: the next slow moment gets a short hold again.
  for (let t = 0; t <= POOL_HOLD_MS; t += WRITE_WINDOW_MS) {
    write(mode, c, 1);
    c.advance(WRITE_WINDOW_MS);
  }
  assert.equal(mode.sync, true);
  write(mode, c, SLOW_WRITE_MS + 1);
  c.advance(MIN_POOL_HOLD_MS - 1);
  assert.equal(mode.sync, false);
  c.advance(1);
  assert.equal(mode.sync, true, 'back to the shortest hold');
});

test("'sync' and 'pool' never change, whatever a write takes", () => {
  const c = clock();
  for (const setting of ['sync', 'pool'] as const) {
    const mode = new WriteMode(setting, c.now);
    const at = mode.start();
    c.advance(10 * SLOW_WRITE_MS);
    mode.wrote(at);
    assert.equal(mode.sync, setting === 'sync');
    assert.equal(mode.slowWrites, 1, 'slow writes are still counted');
  }
});

test('auto: while a sync of the files runs, writes go to the pool; after it, synchronous again', async () => {
  const mode = new WriteMode('auto');
  let finish!: () => void;
  const sync = mode.during(new Promise<void>((resolve) => (finish = resolve)));
  assert.equal(mode.sync, false);
  finish();
  await sync;
  assert.equal(mode.sync, true);
  const failing = mode.during(Promise.reject(new Error('EIO')));
  assert.equal(mode.sync, false);
  await assert.rejects(failing);
  assert.equal(mode.sync, true, 'a failed sync releases the writes too');
});

test('auto: writes each under the bound but adding up past the budget within a window also go to the pool', () => {
  const c = clock();
  const mode = new WriteMode('auto', c.now);
  const each = SLOW_WRITE_MS - 1;
  let spent = 0;
  while (spent + each <= WRITE_BUDGET_MS) {
    const at = mode.start();
    c.advance(each);
    mode.wrote(at);
    spent += each;
    assert.equal(mode.sync, true, `${spent} ms so far`);
  }
  const at = mode.start();
  c.advance(each);
  mode.wrote(at);
  assert.equal(mode.sync, false, 'past the budget');
  assert.equal(mode.slowWrites, 1);

  // The same writes spread over more than a window each are fine.
  const calm = new WriteMode('auto', c.now);
  for (let k = 0; k < 10; k++) {
    const t0 = calm.start();
    c.advance(each);
    calm.wrote(t0);
    c.advance(WRITE_WINDOW_MS);
  }
  assert.equal(calm.sync, true);
  assert.equal(calm.slowWrites, 0);
});
