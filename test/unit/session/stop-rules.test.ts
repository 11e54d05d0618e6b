/** When a session stops itself: seeding ratio before time, and the stall timeout. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedStopReason, stallStopReason } from '../../../src/session/stop-rules.js';

test('seeding stops at the ratio of the whole torrent, or at the time, ratio named first', () => {
  const total = 1000;
  assert.equal(seedStopReason({}, 10_000, total, 1e9), undefined, 'no limits: seed for ever');
  assert.equal(seedStopReason({ seedRatio: 2 }, 1999, total, 0), undefined);
  assert.equal(seedStopReason({ seedRatio: 2 }, 2000, total, 0), 'seed ratio 2 reached');
  assert.equal(seedStopReason({ seedTimeMs: 60_000 }, 0, total, 59_999), undefined);
  assert.equal(seedStopReason({ seedTimeMs: 60_000 }, 0, total, 60_000), 'seed time 60 s reached');
  assert.equal(
    seedStopReason({ seedRatio: 1, seedTimeMs: 1000 }, 5000, total, 5000),
    'seed ratio 1 reached',
    'both reached: the ratio is named',
  );
  assert.equal(seedStopReason({ seedRatio: 0 }, 0, total, 0), 'seed ratio 0 reached');
});

test('a download gives up only after more than the stall timeout without a payload byte', () => {
  let asked = 0;
  const since = (ms: number) => () => {
    asked++;
    return ms;
  };
  assert.equal(stallStopReason({}, since(1e9)), undefined);
  assert.equal(asked, 0, 'no timeout set: the clock is not even read');
  assert.equal(stallStopReason({ stallTimeoutMs: 10_000 }, since(10_000)), undefined);
  assert.equal(stallStopReason({ stallTimeoutMs: 10_000 }, since(10_001)), 'no data from any peer for 10 s');
});
