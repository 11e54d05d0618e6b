/**
 * When LSD (BEP 14) announces what: each info-hash at once and every interval after, those due
 * together in one announce (up to LSD_INFOHASHES_PER_MESSAGE), never two announces within the gap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LSD_INFOHASHES_PER_MESSAGE } from '../../../src/lsd/lsd-message.js';
import {
  LSD_ANNOUNCE_INTERVAL_MS,
  LSD_REMEMBERED_REMOVED,
  LsdSchedule,
} from '../../../src/lsd/lsd-schedule.js';

describe('LsdSchedule', () => {
  it('announces an info-hash when added, then every interval (5 minutes by default)', () => {
    const s = new LsdSchedule();
    assert.equal(s.wakeAt(), undefined);
    s.add('a', 1000);
    assert.equal(s.wakeAt(), 1000);
    assert.deepEqual(s.take(1000), ['a']);
    assert.deepEqual(s.take(5000), []);
    assert.equal(s.wakeAt(), 1000 + LSD_ANNOUNCE_INTERVAL_MS);
    assert.deepEqual(s.take(1000 + LSD_ANNOUNCE_INTERVAL_MS - 1), []);
    assert.deepEqual(s.take(1000 + LSD_ANNOUNCE_INTERVAL_MS), ['a']);
  });

  it('puts the info-hashes due together in one announce, at most LSD_INFOHASHES_PER_MESSAGE, earliest first', () => {
    const s = new LsdSchedule({ intervalMs: 60_000, gapMs: 1000 });
    const keys = Array.from({ length: 45 }, (_, i) => `k${i}`);
    for (const k of keys) s.add(k, 0);
    const first = s.take(0);
    assert.equal(first.length, LSD_INFOHASHES_PER_MESSAGE);
    assert.deepEqual(first, keys.slice(0, LSD_INFOHASHES_PER_MESSAGE));
    // The rest wait for the gap: one announce a second at most.
    assert.deepEqual(s.take(999), []);
    assert.equal(s.wakeAt(), 1000);
    assert.deepEqual(s.take(1000), keys.slice(20, 40));
    assert.deepEqual(s.take(2000), keys.slice(40));
    assert.deepEqual(s.take(3000), []);
    assert.equal(s.wakeAt(), 60_000);
  });

  it('keeps the time of an info-hash added twice, and forgets a removed one', () => {
    const s = new LsdSchedule({ intervalMs: 10_000, gapMs: 0 });
    s.add('a', 0);
    assert.deepEqual(s.take(0), ['a']);
    s.add('a', 5);
    assert.deepEqual(s.take(5), []);
    s.add('b', 6);
    s.remove('a', 6);
    assert.deepEqual(s.take(20_000), ['b']);
    assert.equal(s.size, 1);
    s.remove('b', 20_000);
    assert.equal(s.wakeAt(), undefined);
  });

  it('an info-hash removed and added again before it is due keeps its time (a magnet fetch handing it to its download)', () => {
    const s = new LsdSchedule({ intervalMs: 300_000, gapMs: 0 });
    s.add('a', 0);
    assert.deepEqual(s.take(0), ['a']);
    s.remove('a', 5_000);
    s.add('a', 6_000);
    assert.deepEqual(s.take(6_000), [], 'not announced again within the interval');
    assert.equal(s.wakeAt(), 300_000);
    assert.deepEqual(s.take(300_000), ['a']);
    // Removed, and added again after it was due: announced at once.
    s.remove('a', 310_000);
    s.add('a', 700_000);
    assert.deepEqual(s.take(700_000), ['a']);
    // What was announced changed (the port): everything due at once.
    s.allDue(710_000);
    assert.deepEqual(s.take(710_000), ['a']);
  });

  it('remembers at most LSD_REMEMBERED_REMOVED removed info-hashes, the oldest forgotten first', () => {
    const s = new LsdSchedule({ intervalMs: 300_000, gapMs: 0 });
    const n = LSD_REMEMBERED_REMOVED + 1;
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    for (const k of keys) s.add(k, 0);
    while (s.take(0).length > 0);
    for (const k of keys) s.remove(k, 1);
    s.add('k0', 2);
    s.add('k1', 2);
    assert.deepEqual(s.take(2), ['k0'], 'the oldest removed was forgotten: due at once; k1 still waits');
  });

  it('refuses an interval that is not a positive number of ms (NaN would never come due again)', () => {
    for (const intervalMs of [Number.NaN, 0, -1])
      assert.throws(() => new LsdSchedule({ intervalMs }), RangeError, String(intervalMs));
    assert.throws(() => new LsdSchedule({ gapMs: Number.NaN }), RangeError);
    const once = new LsdSchedule({ intervalMs: Number.POSITIVE_INFINITY });
    once.add('a', 0);
    assert.deepEqual(once.take(0), ['a']);
    assert.equal(once.wakeAt(), Number.POSITIVE_INFINITY);
  });

  it('takes along those due within a fifth of the interval, so torrents started apart come to share announces (BEP 14: one a minute)', () => {
    const s = new LsdSchedule(); // 5 minutes: those due within the next minute go along
    for (const [key, at] of [
      ['a', 0],
      ['b', 10_000],
      ['c', 20_000],
      ['d', 100_000],
    ] as const) {
      s.add(key, at);
      assert.deepEqual(s.take(at), [key], key); // a torrent's start is announced at once, alone
    }
    assert.equal(s.wakeAt(), LSD_ANNOUNCE_INTERVAL_MS);
    assert.deepEqual(s.take(300_000), ['a', 'b', 'c']); // b and c were due at 310 s and 320 s
    assert.equal(s.wakeAt(), 400_000);
    assert.deepEqual(s.take(400_000), ['d']);
    assert.deepEqual(s.take(600_000), ['a', 'b', 'c']); // two announces every 5 minutes, not four
  });
});
