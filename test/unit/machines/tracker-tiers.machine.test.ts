/**
 * The multitracker machine (BEP 12) under SimulatedClock with a provided fake `announce`: each URL
 * answers by a script (works, fails, hangs). Issue #6: a dead first tier, a working second one —
 * peers arrive and the working tracker is remembered (moved to the front of its tier).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assign, createActor, createMachine, fromPromise, SimulatedClock, sendTo } from 'xstate';
import {
  type AnnounceRequest,
  INITIAL_RETRY_MS,
  type TrackerCommand,
  type TrackerReport,
  trackerMachine,
} from '../../../machines/tracker.machine.js';
import {
  prepareTiers,
  promote,
  type TrackerTiersInput,
  type TrackerTiersOutput,
  trackerTiersMachine,
} from '../../../machines/tracker-tiers.machine.js';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';

/** `refusesPaused`: fails `event=paused` with a failure reason, as chihaya and aquatic; works otherwise. */
type Behaviour = 'works' | 'fails' | 'hang' | 'stopHangs' | 'refusesPaused';

interface Call {
  readonly at: number;
  readonly url: string;
  readonly event: string;
}

const PEER = { host: '10.0.0.7', port: 6881 };

function start(
  tiers: string[][],
  behave: (url: string) => Behaviour,
  extra: Partial<TrackerTiersInput> = {},
) {
  const clock = new SimulatedClock();
  const calls: Call[] = [];
  const reports: (TrackerReport | { type: 'trackers.idle' })[] = [];
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input, signal }) => {
    calls.push({ at: clock.now(), url: input.url, event: input.event });
    const b = behave(input.url);
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')));
      if (b === 'hang' || (b === 'stopHangs' && input.event === 'stopped')) return;
      if (b === 'refusesPaused' && input.event === 'paused')
        reject(new TrackerError('failure', 'invalid event: Unknown value: paused'));
      else if (b === 'fails') reject(Object.assign(new Error(`${input.url} is down`), { code: 'network' }));
      else resolve({ interval: 1800, peers: [{ ...PEER, port: 6881 + calls.length }] });
    });
  });
  const machine = trackerTiersMachine.provide({
    actors: { tracker: trackerMachine.provide({ actors: { announce } }) },
  });
  const parent = createMachine({
    types: {} as {
      events: TrackerReport | { type: 'trackers.idle' } | { type: 'fwd'; cmd: TrackerCommand };
      context: { output: TrackerTiersOutput | undefined };
    },
    context: { output: undefined },
    invoke: {
      id: 'trackers',
      src: machine,
      input: {
        tiers,
        infoHash: new Uint8Array(20),
        peerId: new Uint8Array(20),
        port: 6881,
        seed: 42,
        ...extra,
      },
      onDone: { actions: assign({ output: ({ event }) => event.output as TrackerTiersOutput }) },
    },
    on: {
      fwd: { actions: sendTo('trackers', ({ event }) => event.cmd) },
      'tracker.announced': { actions: ({ event }) => reports.push(event) },
      'tracker.peers': { actions: ({ event }) => reports.push(event) },
      'tracker.failed': { actions: ({ event }) => reports.push(event) },
      'trackers.idle': { actions: ({ event }) => reports.push(event) },
    },
  });
  const actor = createActor(parent, { clock }).start();
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const tiersActor = () => actor.getSnapshot().children.trackers;
  return {
    calls,
    reports,
    send: async (cmd: TrackerCommand) => {
      actor.send({ type: 'fwd', cmd });
      await flush();
    },
    advance: async (ms: number) => {
      clock.increment(ms);
      await flush();
    },
    context: () => tiersActor()?.getSnapshot().context as { tiers: string[][]; working?: string },
    state: () => tiersActor()?.getSnapshot().value,
    output: () => actor.getSnapshot().context.output,
  };
}

test('a dead first tier, a working second: peers arrive and the working tracker is remembered', async () => {
  const dead = ['http://dead1.example/announce', 'udp://dead2.example:6969'];
  const second = ['http://down.example/announce', 'udp://good.example:6969', 'http://also-down.example/a'];
  const h = start([dead, second], (url) => (url === 'udp://good.example:6969' ? 'works' : 'fails'));
  await h.send({ type: 'cmd.start' });
  const tried = h.calls.map((c) => c.url);
  assert.deepEqual(new Set(tried.slice(0, 2)), new Set(dead), 'tier 1 first, both of its trackers');
  assert.equal(tried.at(-1), 'udp://good.example:6969');
  assert.ok(
    tried.slice(2).every((u) => second.includes(u)),
    'then tier 2',
  );
  const failed = h.reports.filter((r) => r.type === 'tracker.failed');
  assert.equal(failed.length, tried.length - 1);
  assert.ok(
    failed.every((r) => r.type === 'tracker.failed' && r.retryInMs === 0),
    'next tracker at once',
  );
  const peers = h.reports.find((r) => r.type === 'tracker.peers');
  assert.equal(peers?.url, 'udp://good.example:6969');
  assert.equal(peers?.type === 'tracker.peers' && peers.peers[0]?.host, PEER.host);
  assert.equal(h.context().working, 'udp://good.example:6969');
  assert.equal(h.context().tiers[1]?.[0], 'udp://good.example:6969', 'moved to the front of its tier');
  // The working tracker is kept: the regular announce goes to it, nobody else is asked.
  const before = h.calls.length;
  await h.advance(1800_000);
  assert.deepEqual(h.calls.slice(before), [
    { at: 1800_000, url: 'udp://good.example:6969', event: 'regular' },
  ]);
  // Stop: the stopped announce goes to the working tracker, then the machine is done.
  await h.send({ type: 'cmd.stop' });
  assert.equal(h.calls.at(-1)?.event, 'stopped');
  assert.equal(h.calls.at(-1)?.url, 'udp://good.example:6969');
  assert.deepEqual(h.output(), { stop: 'announced', working: 'udp://good.example:6969' });
});

test('every seed: the one working tracker of a tier ends at its front', async () => {
  const tier = ['http://a.example/announce', 'http://b.example/announce', 'http://c.example/announce'];
  for (const good of tier)
    for (let seed = 0; seed < 8; seed++) {
      const h = start([tier], (url) => (url === good ? 'works' : 'fails'), { seed });
      await h.send({ type: 'cmd.start' });
      assert.deepEqual(h.context().tiers[0]?.[0], good, `seed ${seed}`);
      assert.deepEqual(new Set(h.context().tiers[0]), new Set(tier));
      assert.equal(h.calls.filter((c) => c.url === good).length, 1);
      await h.send({ type: 'cmd.stop' });
    }
});

test('a whole pass failed: back off (15 s, then 30 s), then start again at the first tier', async () => {
  const h = start([['http://x.example/announce'], ['udp://y.example:1']], () => 'fails');
  await h.send({ type: 'cmd.start' });
  assert.deepEqual(
    h.calls.map((c) => [c.url, c.at]),
    [
      ['http://x.example/announce', 0],
      ['udp://y.example:1', 0],
    ],
  );
  const last = h.reports.at(-1);
  assert.equal(last?.type === 'tracker.failed' && last.retryInMs, INITIAL_RETRY_MS);
  assert.equal(h.state(), 'backoff');
  await h.advance(INITIAL_RETRY_MS - 1);
  assert.equal(h.calls.length, 2, 'not before the delay');
  await h.advance(1);
  assert.deepEqual(
    h.calls.slice(2).map((c) => [c.url, c.at, c.event]),
    [
      ['http://x.example/announce', INITIAL_RETRY_MS, 'started'],
      ['udp://y.example:1', INITIAL_RETRY_MS, 'started'],
    ],
  );
  const again = h.reports.at(-1);
  assert.equal(again?.type === 'tracker.failed' && again.retryInMs, 2 * INITIAL_RETRY_MS);
  // Stop while backing off: nobody knows us, nothing to announce.
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.output(), { stop: 'skipped' });
  assert.ok(h.calls.every((c) => c.event !== 'stopped'));
});

test('cmd.complete while a failed pass waits: trackers.idle at once, so the finishing torrent need not wait its grace', async () => {
  // Before, nothing answered: every download whose trackers were down waited TRACKER_GRACE_MS (5 s)
  // at the end for a `completed` that could not come.
  const h = start([['http://x.example/announce']], () => 'fails');
  await h.send({ type: 'cmd.start' });
  assert.equal(h.state(), 'backoff');
  await h.send({ type: 'cmd.complete' });
  assert.deepEqual(h.reports.at(-1), { type: 'trackers.idle' });
  assert.equal(h.calls.length, 1, 'nothing announced before the retry');
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.output(), { stop: 'skipped' });
});

test('cmd.complete reaches the working tracker as a completed announce', async () => {
  const h = start([['http://t.example/announce']], () => 'works');
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.complete' });
  assert.deepEqual(
    h.calls.map((c) => c.event),
    ['started', 'completed'],
  );
  await h.send({ type: 'cmd.stop' });
});

test('a stopped announce that never returns is given up after stopTimeoutMs', async () => {
  const h = start([['http://t.example/announce']], () => 'stopHangs', { stopTimeoutMs: 3000 });
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.stop' });
  assert.equal(h.output(), undefined, 'still waiting for the stopped announce');
  await h.advance(3000);
  assert.deepEqual(h.output(), { stop: 'failed', working: 'http://t.example/announce' });
});

test('no usable tracker: cmd.start does nothing, cmd.stop ends at once', async () => {
  const h = start([['wss://tracker.example'], []], () => 'works');
  await h.send({ type: 'cmd.start' });
  assert.equal(h.calls.length, 0);
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.output(), { stop: 'skipped' });
});

test('prepareTiers: a seeded permutation of each tier, unusable and repeated URLs dropped', () => {
  const tiers = [
    ['http://a/announce', 'udp://b:1', 'https://c/announce', 'wss://d'],
    ['udp://b:1'],
    ['http://e/x'],
  ];
  const p = prepareTiers(tiers, 7);
  assert.deepEqual(prepareTiers(tiers, 7), p, 'same seed, same order');
  assert.deepEqual([...(p[0] ?? [])].sort(), ['http://a/announce', 'https://c/announce', 'udp://b:1']);
  assert.deepEqual(p.slice(1), [['http://e/x']]);
  const orders = new Set(Array.from({ length: 32 }, (_, s) => prepareTiers(tiers, s)[0]?.join(' ')));
  assert.ok(orders.size > 1, 'different seeds shuffle differently');
  assert.deepEqual(promote([['a', 'b', 'c'], ['d']], 0, 2), [['c', 'a', 'b'], ['d']]);
});

test('a partial seed (BEP 21) is remembered: the tracker of the next pass is sent paused, not started', async () => {
  // One tracker that fails at first and works after, so the second pass's child is a new one.
  let down = true;
  const url = 'http://t.example/announce';
  const h = start([[url]], () => (down ? 'fails' : 'works'));
  await h.send({ type: 'cmd.start' });
  assert.equal(h.state(), 'backoff');
  await h.send({ type: 'cmd.partialSeed' });
  down = false;
  await h.advance(INITIAL_RETRY_MS);
  await h.advance(1800_000);
  assert.deepEqual(
    h.calls.map((c) => [c.event, c.at]),
    [
      ['started', 0],
      ['paused', INITIAL_RETRY_MS],
      ['paused', INITIAL_RETRY_MS + 1800_000],
    ],
  );
});

test('a partial seed from the start, and told while a tracker works: each announce but stopped says paused', async () => {
  const url = 'http://t.example/announce';
  const fromStart = start([[url]], () => 'works', { partialSeed: true });
  await fromStart.send({ type: 'cmd.start' });
  await fromStart.send({ type: 'cmd.stop' });
  assert.deepEqual(
    fromStart.calls.map((c) => c.event),
    ['paused', 'stopped'],
  );
  const told = start([[url]], () => 'works');
  await told.send({ type: 'cmd.start' });
  await told.send({ type: 'cmd.partialSeed' });
  await told.advance(1800_000);
  assert.deepEqual(
    told.calls.map((c) => c.event),
    ['started', 'paused'],
  );
});

test('a tracker that failed a paused is remembered by URL: its child of a later pass sends it no paused', async () => {
  const [a, b] = ['http://a.example/announce', 'http://b.example/announce'];
  let aDown = false;
  const h = start([[a], [b]], (url) => (url === b || aDown ? 'fails' : 'refusesPaused'), {
    partialSeed: true,
  });
  await h.send({ type: 'cmd.start' });
  aDown = true;
  await h.advance(1800_000); // a fails (down), then b: the pass failed
  assert.equal(h.state(), 'backoff');
  aDown = false;
  await h.advance(INITIAL_RETRY_MS); // a new child for a
  assert.deepEqual(
    h.calls.map((c) => `${c.url === a ? 'a' : 'b'} ${c.event} ${c.at}`),
    [
      'a paused 0',
      'a regular 0',
      'a regular 1800000',
      'b paused 1800000',
      `a regular ${1800_000 + INITIAL_RETRY_MS}`,
    ],
  );
  assert.equal(h.context().working, a);
});
