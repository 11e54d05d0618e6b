/**
 * BEP 21's tracker half in the torrent machine: a partial seed (every wanted piece verified, not
 * every piece: a `--select` / `--only` download) tells its trackers `paused` in every announce but
 * `stopped` and never `completed`, as libtorrent 2.0.8 does (measured on 127.0.0.1: a partial seed
 * from the start sends no `started`, one that becomes it announces nothing then and says `paused`
 * from its next announce). The torrent machine with the real multitracker and tracker machines, the
 * announce a recorder that answers at once, on a SimulatedClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromPromise } from 'xstate';
import { type AnnounceRequest, trackerMachine } from '../../../machines/tracker.machine.js';
import { trackerTiersMachine } from '../../../machines/tracker-tiers.machine.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import { start } from './torrent-harness.js';

const INTERVAL_S = 1800;
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Pieces 0 … n-1 of the harness's 8. */
function first(n: number): Bitfield {
  const b = new Bitfield(8);
  for (let i = 0; i < n; i++) b.set(i);
  return b;
}

/** The torrent machine with one tracker whose announces are recorded (event, ms) and answered at once. */
function withTracker(over: { have: Bitfield; wanted?: Bitfield; seedWhenComplete?: boolean }) {
  const events: [string, number][] = [];
  const t0 = { now: () => 0 };
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(async ({ input }) => {
    events.push([input.event, t0.now()]);
    return { interval: INTERVAL_S, peers: [] };
  });
  const trackers = trackerTiersMachine.provide({
    actors: { tracker: trackerMachine.provide({ actors: { announce } }) },
  });
  const t = start(
    { ...over, trackers: { tiers: [['http://127.0.0.1:1/announce']], port: 7000 } },
    { trackers },
  );
  t0.now = () => t.clock.now();
  return { t, events };
}

test('a partial seed from the start: paused in place of started, paused at each interval, then stopped', async () => {
  const { t, events } = withTracker({ have: first(4), wanted: first(4), seedWhenComplete: true });
  await flush();
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  t.clock.increment(INTERVAL_S * 1000);
  await flush();
  t.actor.send({ type: 'cmd.stop' });
  await flush();
  assert.deepEqual(events, [
    ['paused', 0],
    ['paused', INTERVAL_S * 1000],
    ['stopped', INTERVAL_S * 1000],
  ]);
  t.actor.stop();
});

test('a download that becomes a partial seed and seeds on: no completed; its next announce says paused', async () => {
  const { t, events } = withTracker({ have: first(3), wanted: first(4), seedWhenComplete: true });
  await flush();
  t.storage({ type: 'piece.verified', index: 3 });
  await flush();
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  assert.deepEqual(events, [['started', 0]], 'nothing announced when it becomes a partial seed');
  t.clock.increment(INTERVAL_S * 1000);
  await flush();
  t.clock.increment(INTERVAL_S * 1000);
  await flush();
  assert.deepEqual(events, [
    ['started', 0],
    ['paused', INTERVAL_S * 1000],
    ['paused', 2 * INTERVAL_S * 1000],
  ]);
  t.actor.stop();
});

test('a partial download that does not seed: stopped at once, no completed; a whole one still sends completed', async () => {
  const partial = withTracker({ have: first(3), wanted: first(4) });
  await flush();
  partial.t.storage({ type: 'piece.verified', index: 3 });
  await flush();
  assert.equal(partial.t.actor.getSnapshot().output?.result, 'complete');
  assert.deepEqual(
    partial.events.map(([e]) => e),
    ['started', 'stopped'],
  );

  const whole = withTracker({ have: first(7) });
  await flush();
  whole.t.storage({ type: 'piece.verified', index: 7 });
  await flush();
  assert.equal(whole.t.actor.getSnapshot().output?.result, 'complete');
  assert.deepEqual(
    whole.events.map(([e]) => e),
    ['started', 'completed', 'stopped'],
  );
});

test('a selection of every piece is a seed, not a partial seed: completed, as without a selection', async () => {
  const { t, events } = withTracker({ have: first(7), wanted: first(8), seedWhenComplete: true });
  await flush();
  t.storage({ type: 'piece.verified', index: 7 });
  await flush();
  assert.deepEqual(
    events.map(([e]) => e),
    ['started', 'completed'],
  );
  t.actor.stop();
});
