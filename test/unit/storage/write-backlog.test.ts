/** The disk's backlog gate: closes at `high`, opens at `low`, and wakes every paused reader once. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteBacklog } from '../../../src/storage/write-backlog.js';

test('the gate closes at high, stays closed until low, then wakes each waiter once', () => {
  const b = new WriteBacklog(100, 40);
  const woken: string[] = [];
  b.add(60);
  assert.equal(b.open, true);
  b.whenOpen(() => woken.push('early')); // open: runs at once
  assert.deepEqual(woken, ['early']);
  b.add(40);
  assert.equal(b.open, false, 'closed at high');
  b.whenOpen(() => woken.push('a'));
  b.whenOpen(() => woken.push('b'));
  b.done(50); // 50 left: above low
  assert.equal(b.open, false);
  assert.deepEqual(woken, ['early']);
  b.done(10); // 40: low
  assert.equal(b.open, true);
  assert.deepEqual(woken, ['early', 'a', 'b']);
  b.done(40);
  assert.equal(b.bytes, 0);
  assert.deepEqual(woken, ['early', 'a', 'b'], 'no waiter runs twice');
});

test('low must lie below high', () => {
  assert.throws(() => new WriteBacklog(10, 10), RangeError);
});
