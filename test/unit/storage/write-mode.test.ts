import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POOL_HOLD_MS, SLOW_WRITE_MS, WriteMode } from '../../../src/storage/write-mode.js';

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
  c.advance(POOL_HOLD_MS - 1);
  assert.equal(mode.sync, false);
  c.advance(1);
  assert.equal(mode.sync, true, 'after the hold the main thread tries again');
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
