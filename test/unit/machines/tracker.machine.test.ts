import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assign, createActor, createMachine, fromPromise, SimulatedClock, sendTo } from 'xstate';
import {
  type AnnounceRequest,
  INITIAL_RETRY_MS,
  MAX_RETRY_MS,
  retryDelayMs,
  type TrackerCommand,
  type TrackerReport,
  trackerMachine,
} from '../../../machines/tracker.machine.js';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';

/** What the fake tracker does with each announce, in order. */
type Outcome = AnnounceResponse | Error | 'hang' | Promise<AnnounceResponse>;

interface Call {
  readonly at: number;
  readonly request: AnnounceRequest;
  aborted: boolean;
}

/**
 * The tracker machine under a parent that keeps its reports, on a simulated clock; each announce
 * (either swarm's) takes the next outcome, or with `v2Outcomes` each swarm its own next one.
 * `otherInfoHash` makes the torrent a hybrid (BEP 52); `partialSeed` starts it a partial seed (BEP 21).
 */
function start(
  outcomes: Outcome[],
  otherInfoHash?: Uint8Array,
  v2Outcomes?: Outcome[],
  extra: { readonly partialSeed?: boolean; readonly pausedRefused?: boolean } = {},
) {
  const clock = new SimulatedClock();
  const calls: Call[] = [];
  const reports: TrackerReport[] = [];
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input, signal }) => {
    const call: Call = { at: clock.now(), request: input, aborted: false };
    calls.push(call);
    const isV2 =
      otherInfoHash !== undefined && Buffer.from(input.infoHash).equals(Buffer.from(otherInfoHash));
    const outcome =
      (isV2 && v2Outcomes !== undefined ? v2Outcomes : outcomes).shift() ?? new Error('script ran out');
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => {
        call.aborted = true;
        reject(new Error('aborted'));
      });
      if (outcome === 'hang') return;
      if (outcome instanceof Promise) return void outcome.then(resolve, reject);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    });
  });
  const parent = createMachine({
    types: {} as {
      events: TrackerReport | { type: 'fwd'; cmd: TrackerCommand };
      context: { output: unknown };
    },
    context: { output: undefined },
    invoke: {
      id: 'tracker',
      src: trackerMachine.provide({ actors: { announce } }),
      input: {
        url: 'http://t.example/announce',
        infoHash: new Uint8Array(20),
        peerId: new Uint8Array(20),
        port: 6881,
        key: 'k',
        ...(otherInfoHash === undefined ? {} : { otherInfoHash }),
        ...extra,
      },
      onDone: { actions: assign({ output: ({ event }) => event.output }) },
    },
    on: {
      fwd: { actions: sendTo('tracker', ({ event }) => event.cmd) },
      'tracker.announced': { actions: ({ event }) => reports.push(event) },
      'tracker.peers': { actions: ({ event }) => reports.push(event) },
      'tracker.failed': { actions: ({ event }) => reports.push(event) },
      'tracker.pausedRefused': { actions: ({ event }) => reports.push(event) },
    },
  });
  const actor = createActor(parent, { clock }).start();
  const flush = () => new Promise<void>((r) => setImmediate(r));
  return {
    clock,
    calls,
    reports,
    events: () => calls.map((c) => [c.request.event, c.at] as const),
    send: async (cmd: TrackerCommand) => {
      actor.send({ type: 'fwd', cmd });
      await flush();
    },
    advance: async (ms: number) => {
      clock.increment(ms);
      await flush();
    },
    /** The lifecycle's state: `idle`, `announcing`, `awaitingV2`, `waiting`, `backoff`, `stopping`, `stopped`. */
    trackerState: () => {
      const value = actor.getSnapshot().children.tracker?.getSnapshot()?.value as
        | string
        | Record<string, string | Record<string, string>>
        | undefined;
      if (value === undefined || typeof value === 'string') return value;
      const running = value.running;
      return typeof running === 'object' ? running.lifecycle : Object.keys(value)[0];
    },
    output: () => actor.getSnapshot().context.output,
  };
}

/** An answer the test gives when it chooses: the outcome, and what gives it. */
function held(): [Promise<AnnounceResponse>, (r: AnnounceResponse) => void] {
  let release: (r: AnnounceResponse) => void = () => {};
  const answer = new Promise<AnnounceResponse>((r) => {
    release = r;
  });
  return [answer, release];
}

const ok = (interval: number, extra: Partial<AnnounceResponse> = {}): AnnounceResponse => ({
  interval,
  peers: [],
  ...extra,
});

test('started → waits the interval → regular, echoing the tracker id; peers go to the parent', async () => {
  const peers = [{ host: '10.0.0.1', port: 6881 }];
  const h = start([ok(1800, { peers, trackerId: 'T', complete: 2, incomplete: 5 }), ok(1800), 'hang']);
  assert.equal(h.trackerState(), 'idle');
  assert.equal(h.calls.length, 0, 'nothing before cmd.start');
  await h.send({ type: 'cmd.start' });
  assert.equal(h.trackerState(), 'waiting');
  assert.deepEqual(h.reports, [
    {
      type: 'tracker.announced',
      url: 'http://t.example/announce',
      event: 'started',
      interval: 1800,
      peerCount: 1,
      complete: 2,
      incomplete: 5,
    },
    { type: 'tracker.peers', url: 'http://t.example/announce', peers },
  ]);
  await h.advance(1800_000 - 1);
  assert.equal(h.calls.length, 1, 'not before the interval');
  await h.advance(1);
  await h.advance(1800_000);
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['regular', 1800_000],
    ['regular', 3600_000],
  ]);
  assert.equal(h.calls[0]!.request.trackerId, undefined);
  assert.equal(h.calls[1]!.request.trackerId, 'T');
  assert.equal(h.calls[1]!.request.key, 'k');
});

test('min interval above interval wins; an interval of 0 is clamped to 30 s', async () => {
  const h = start([ok(60, { minInterval: 300 }), ok(0), ok(0), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.advance(300_000);
  await h.advance(30_000);
  await h.advance(30_000);
  assert.deepEqual(
    h.events().map(([, at]) => at),
    [0, 300_000, 330_000, 360_000],
  );
});

test('failures back off 15 s, 30 s, 60 s …; a success resets the backoff', async () => {
  const h = start([
    new Error('down'),
    new Error('down'),
    new Error('down'),
    ok(100),
    new Error('again'),
    'hang',
  ]);
  await h.send({ type: 'cmd.start' });
  for (const step of [15_000, 30_000, 60_000, 100_000, 15_000]) {
    await h.advance(step - 1);
    const before = h.calls.length;
    await h.advance(1);
    assert.equal(h.calls.length, before + 1, `an announce exactly ${step} ms later`);
  }
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['started', 15_000],
    ['started', 45_000],
    ['started', 105_000],
    ['regular', 205_000],
    ['regular', 220_000],
  ]);
  const failed = h.reports.filter((r) => r.type === 'tracker.failed');
  assert.deepEqual(
    failed.map((r) => [r.message, r.failures, r.retryInMs]),
    [
      ['down', 1, 15_000],
      ['down', 2, 30_000],
      ['down', 3, 60_000],
      ['again', 1, 15_000],
    ],
  );
  assert.equal(retryDelayMs(8), MAX_RETRY_MS);
  assert.equal(retryDelayMs(1000), MAX_RETRY_MS);
});

test('cmd.complete from waiting: completed at once, then regular announces resume', async () => {
  const h = start([ok(1800), ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.advance(10_000);
  await h.send({ type: 'cmd.complete' });
  await h.advance(1800_000);
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['completed', 10_000],
    ['regular', 1_810_000],
  ]);
});

test('cmd.complete while the started announce is in flight: completed right after it', async () => {
  const [started, release] = held();
  const h = start([started, ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.advance(5_000);
  await h.send({ type: 'cmd.complete' });
  assert.equal(h.calls.length, 1, 'never two announces at once');
  release(ok(1800));
  await h.advance(0);
  await h.advance(1800_000);
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['completed', 5_000],
    ['regular', 1_805_000],
  ]);
});

test('cmd.stop: stopped announce (numwant 0) then final; before start: final without announce', async () => {
  const h = start([ok(1800), ok(1800)]);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(
    h.events().map(([e]) => e),
    ['started', 'stopped'],
  );
  assert.equal(h.calls[1]!.request.numwant, 0);
  assert.deepEqual(h.output(), { stop: 'announced' });

  const idle = start([]);
  await idle.send({ type: 'cmd.stop' });
  assert.equal(idle.calls.length, 0);
  assert.deepEqual(idle.output(), { stop: 'skipped' });
});

test('cmd.stop mid-announce aborts it and still says stopped; a failed stopped announce still ends', async () => {
  const h = start(['hang', new Error('gone')]);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.stop' });
  assert.equal(h.calls[0]!.aborted, true);
  assert.deepEqual(
    h.events().map(([e]) => e),
    ['started', 'stopped'],
  );
  assert.deepEqual(h.output(), { stop: 'failed' });
});

test('never started successfully (backing off): stop ends without an announce', async () => {
  const h = start([new Error('down')]);
  await h.send({ type: 'cmd.start' });
  assert.equal(h.trackerState(), 'backoff');
  await h.send({ type: 'cmd.stop' });
  assert.equal(h.calls.length, 1);
  assert.deepEqual(h.output(), { stop: 'skipped' });
});

const V2 = new Uint8Array(20).fill(2);
const swarmOf = (c: Call) => (c.request.infoHash.every((b) => b === 2) ? 'v2' : 'v1');

const URL = 'http://t.example/announce';
/** Each call as "swarm event". */
const swarmEvents = (h: { calls: Call[] }) => h.calls.map((c) => `${swarmOf(c)} ${c.request.event}`);

test('a hybrid (BEP 52): the v1 answer is acted on at once while the v2 announce hangs; the v2 answer reported on its own', async () => {
  const v1Peer = { host: '10.0.0.1', port: 6881 };
  const v2Peer = { host: '10.0.0.2', port: 6881 };
  const [v2, releaseV2] = held();
  const h = start([ok(1800, { peers: [v1Peer] }), 'hang'], V2, [v2, 'hang']);
  await h.send({ type: 'cmd.start' });
  assert.deepEqual(swarmEvents(h), ['v1 started', 'v2 started'], 'one announce per swarm, at once');
  assert.equal(h.trackerState(), 'waiting', 'the v1 swarm is on its interval');
  assert.deepEqual(h.reports, [
    { type: 'tracker.announced', url: URL, event: 'started', interval: 1800, peerCount: 1 },
    { type: 'tracker.peers', url: URL, peers: [v1Peer] },
  ]);
  assert.equal(h.calls[1]!.aborted, false, 'the v2 announce goes on');
  releaseV2(ok(900, { peers: [v2Peer, { host: '10.0.0.3', port: 6881 }], complete: 4 }));
  await h.advance(0);
  // The v2 answer's own report: its peers counted, said apart (--json's tracker.announce {swarm}).
  assert.deepEqual(h.reports.slice(2), [
    {
      type: 'tracker.announced',
      url: URL,
      event: 'started',
      interval: 900,
      peerCount: 2,
      complete: 4,
      swarm: 'v2',
    },
    { type: 'tracker.peers', url: URL, peers: [v2Peer, { host: '10.0.0.3', port: 6881 }], swarm: 'v2' },
  ]);
});

test("a hybrid: each swarm announces at its own answer's interval and min interval", async () => {
  // v1 asks 1800 s; v2 asks 600 s with a min interval of 900 s (the larger wins, as for v1).
  const h = start([ok(1800), ok(1800), 'hang'], V2, [
    ok(600, { minInterval: 900 }),
    ok(1200),
    ok(1200),
    'hang',
  ]);
  await h.send({ type: 'cmd.start' });
  for (const until of [900_000, 1800_000, 2100_000, 3300_000]) await h.advance(until - h.clock.now());
  assert.deepEqual(
    h.calls.map((c) => [swarmOf(c), c.request.event, c.at]),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v2', 'regular', 900_000],
      ['v1', 'regular', 1800_000],
      ['v2', 'regular', 2100_000],
      ['v2', 'regular', 3300_000],
    ],
  );
});

test('a hybrid: a v2 announce still under way is not sent again while the v1 swarm goes on', async () => {
  const h = start([ok(60), ok(60), 'hang'], V2, ['hang']);
  await h.send({ type: 'cmd.start' });
  await h.advance(60_000);
  await h.advance(60_000);
  assert.deepEqual(
    h.calls.map((c) => [swarmOf(c), c.request.event, c.at]),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v1', 'regular', 60_000],
      ['v1', 'regular', 120_000],
    ],
  );
  assert.equal(h.calls[1]!.aborted, false);
});

test('a hybrid: a tracker that answers only v2 works, and the v1 swarm is still sent started, on its own backoff', async () => {
  const v2Peer = { host: '10.0.0.2', port: 6881 };
  const [v2, releaseV2] = held();
  const h = start([new Error('v1 down'), new Error('v1 down'), ok(1800), 'hang'], V2, [v2, ok(3600), 'hang']);
  await h.send({ type: 'cmd.start' });
  assert.equal(h.trackerState(), 'awaitingV2');
  assert.deepEqual(h.reports, [], 'nothing said while the v2 answer may still come');
  releaseV2(ok(3600, { peers: [v2Peer], complete: 3 }));
  await h.advance(0);
  assert.equal(h.trackerState(), 'backoff', 'the v1 swarm retries on its own');
  assert.deepEqual(h.reports, [
    {
      type: 'tracker.announced',
      url: URL,
      event: 'started',
      interval: 3600,
      peerCount: 1,
      complete: 3,
      swarm: 'v2',
    },
    { type: 'tracker.peers', url: URL, peers: [v2Peer], swarm: 'v2' },
  ]);
  await h.advance(15_000);
  await h.advance(30_000);
  // v1 never took a started: it is sent one (not a regular), 15 s then 30 s later; v2 is left alone.
  assert.deepEqual(
    h.calls.map((c) => [swarmOf(c), c.request.event, c.at]),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v1', 'started', 15_000],
      ['v1', 'started', 45_000],
    ],
  );
  assert.ok(
    (h.reports as TrackerReport[]).every((r) => r.type !== 'tracker.failed'),
    'the v1 swarm failing while the v2 one answers is no failure of the tracker',
  );
  assert.equal(h.trackerState(), 'waiting');
});

test('a hybrid: both swarms failing is the failure, the v1 error once, each swarm retrying on its own', async () => {
  const f = start([new Error('v1 down'), 'hang'], V2, [new Error('v2 down'), new Error('v2 down'), 'hang']);
  await f.send({ type: 'cmd.start' });
  assert.equal(f.trackerState(), 'backoff');
  assert.deepEqual(
    f.reports.map((r) => (r.type === 'tracker.failed' ? [r.type, r.message, r.failures, r.event] : [r.type])),
    [['tracker.failed', 'v1 down', 1, 'started']],
  );
  await f.advance(15_000);
  await f.advance(30_000);
  assert.deepEqual(
    f.calls
      .map((c) => [swarmOf(c), c.request.event, c.at] as const)
      .sort((a, b) => a[2] - b[2] || a[0].localeCompare(b[0])),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v1', 'started', 15_000],
      ['v2', 'started', 15_000],
      ['v2', 'started', 45_000],
    ],
  );
});

test('a hybrid: the v2 swarm is sent started until its own started announce answered', async () => {
  const h = start([ok(60), ok(60), ok(60), 'hang'], V2, [new Error('v2 down'), ok(60), ok(60), 'hang']);
  await h.send({ type: 'cmd.start' });
  assert.deepEqual(
    h.reports.map((r) => r.type),
    ['tracker.announced'],
    'a failed v2 announce alone is no failure of the tracker',
  );
  await h.advance(15_000);
  await h.advance(60_000);
  assert.deepEqual(swarmEvents(h), ['v1 started', 'v2 started', 'v2 started', 'v1 regular', 'v2 regular']);
});

test('a hybrid: stopped goes to both swarms, aborting what is in flight; told in either is told', async () => {
  const h = start([ok(1800), new Error('gone')], V2, ['hang', ok(1800)]);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.stop' });
  assert.equal(h.calls[1]!.aborted, true, 'the hanging v2 announce was aborted');
  assert.deepEqual(
    h.calls.slice(2).map((c) => [swarmOf(c), c.request.event, c.request.numwant]),
    [
      ['v1', 'stopped', 0],
      ['v2', 'stopped', 0],
    ],
  );
  assert.deepEqual(h.output(), { stop: 'announced' });
});

test('a hybrid: completion while the v2 announce is under way still tells the v2 swarm completed, once it lands', async () => {
  const [v2, releaseV2] = held();
  const h = start([ok(1800), ok(1800), 'hang'], V2, [v2, ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.advance(5_000);
  await h.send({ type: 'cmd.complete' });
  assert.deepEqual(
    swarmEvents(h),
    ['v1 started', 'v2 started', 'v1 completed'],
    'the v2 swarm is not asked twice at once',
  );
  releaseV2(ok(1800));
  await h.advance(0);
  await h.advance(1800_000);
  assert.deepEqual(
    h.calls.map((c) => [swarmOf(c), c.request.event, c.at]),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v1', 'completed', 5_000],
      ['v2', 'completed', 5_000],
      ['v1', 'regular', 1_805_000],
      ['v2', 'regular', 1_805_000],
    ],
  );
});

test('a hybrid: completion before the v2 swarm took a started is told it after its started answers', async () => {
  // v1 started; v2 started fails; completed: v1 completed; v2 retries started (15 s), then completed.
  const h = start([ok(1800), ok(1800), 'hang'], V2, [new Error('v2 down'), ok(1800), ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.complete' });
  await h.advance(15_000);
  assert.deepEqual(swarmEvents(h), [
    'v1 started',
    'v2 started',
    'v1 completed',
    'v2 started',
    'v2 completed',
  ]);
});

test('a hybrid: a v2 completed that fails is sent again after its own backoff, never in a loop', async () => {
  const h = start([ok(1800), ok(1800), 'hang'], V2, [ok(1800), new Error('v2 down'), ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.complete' });
  assert.equal(h.calls.length, 4, 'nothing more until the v2 swarm retries');
  await h.advance(15_000);
  assert.deepEqual(
    h.calls.map((c) => [swarmOf(c), c.request.event, c.at]),
    [
      ['v1', 'started', 0],
      ['v2', 'started', 0],
      ['v1', 'completed', 0],
      ['v2', 'completed', 0],
      ['v2', 'completed', 15_000],
    ],
  );
  await h.advance(1800_000);
  assert.deepEqual(swarmEvents(h).slice(5), ['v1 regular', 'v2 regular']);
});

test('a hybrid: v1 failing and completion while the v2 started is under way: v1 still owes its started, v2 is told completed', async () => {
  const [v2, releaseV2] = held();
  const h = start([new Error('v1 down'), ok(1800), ok(1800), 'hang'], V2, [v2, ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.complete' });
  assert.equal(h.trackerState(), 'awaitingV2');
  releaseV2(ok(900));
  await h.advance(0);
  assert.deepEqual(swarmEvents(h), ['v1 started', 'v2 started', 'v2 completed']);
  await h.advance(15_000);
  assert.deepEqual(swarmEvents(h), [
    'v1 started',
    'v2 started',
    'v2 completed',
    'v1 started',
    'v1 completed',
  ]);
  assert.deepEqual(
    h.reports.map((r) =>
      r.type === 'tracker.announced' ? [r.event, r.interval, r.swarm ?? 'v1'] : [r.type],
    ),
    [
      ['started', 900, 'v2'],
      ['completed', 1800, 'v2'],
      ['started', 1800, 'v1'],
      ['completed', 1800, 'v1'],
    ],
  );
});

test('a hybrid: stopped goes only to the swarms that may know us: a v2 swarm that never took a started is not sent one', async () => {
  // v2's started failed: stopped to v1 alone.
  const v1Only = start([ok(1800), new Error('v2 down'), ok(1800), ok(1800)], V2);
  await v1Only.send({ type: 'cmd.start' });
  await v1Only.send({ type: 'cmd.stop' });
  assert.deepEqual(
    v1Only.calls.slice(2).map((c) => `${swarmOf(c)} ${c.request.event}`),
    ['v1 stopped'],
  );
  assert.deepEqual(v1Only.output(), { stop: 'announced' });

  // v2's started still under way: it may have landed, so stopped to both (the test above).
  // v2's started answered, then a regular failed: it still knows us.
  const known = start([ok(60), ok(60), ok(60), new Error('v2 down'), ok(60), ok(60)], V2);
  await known.send({ type: 'cmd.start' });
  await known.advance(60_000);
  await known.send({ type: 'cmd.stop' });
  assert.deepEqual(
    known.calls.slice(4).map((c) => `${swarmOf(c)} ${c.request.event}`),
    ['v1 stopped', 'v2 stopped'],
  );
});

// BEP 21: a partial seed says `paused` in every announce but `stopped`, and never `completed`
// (machines/tracker-announce-event.ts), as libtorrent 2.0.8 does (measured on 127.0.0.1).

test('a partial seed from the start: paused in place of started and in every announce after; completed never; stopped stays stopped', async () => {
  const h = start([ok(1800), ok(1800), ok(1800), ok(1800)], undefined, undefined, { partialSeed: true });
  await h.send({ type: 'cmd.start' });
  await h.advance(1800_000);
  // A completion the torrent machine would not send a partial seed changes nothing.
  await h.send({ type: 'cmd.complete' });
  await h.advance(1800_000);
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.events(), [
    ['paused', 0],
    ['paused', 1800_000],
    ['paused', 3600_000],
    ['stopped', 3600_000],
  ]);
  assert.equal(h.calls[3]!.request.numwant, 0);
  assert.deepEqual(
    h.reports.map((r) => (r.type === 'tracker.announced' ? r.event : r.type)),
    ['paused', 'paused', 'paused'],
  );
  assert.deepEqual(h.output(), { stop: 'announced' });
});

test('becoming a partial seed announces nothing at once; the next regular announce and every one after says paused', async () => {
  const h = start([ok(1800), ok(1800), ok(1800), ok(1800)]);
  await h.send({ type: 'cmd.start' });
  await h.advance(600_000);
  await h.send({ type: 'cmd.partialSeed' });
  assert.equal(h.calls.length, 1, 'no announce when it becomes one');
  assert.equal(h.trackerState(), 'waiting');
  await h.advance(1200_000);
  await h.advance(1800_000);
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['paused', 1800_000],
    ['paused', 3600_000],
    ['stopped', 3600_000],
  ]);
});

test('a partial seed while its started is under way: the started goes, then paused; a failed paused is retried as paused', async () => {
  const [answer, release] = held();
  const h = start([answer, new Error('down'), ok(1800), 'hang']);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.partialSeed' });
  release(ok(60));
  await new Promise<void>((r) => setImmediate(r));
  await h.advance(60_000);
  await h.advance(15_000);
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['paused', 60_000],
    ['paused', 75_000],
  ]);
});

test('a hybrid partial seed: both swarms say paused, each on its own schedule', async () => {
  const h = start([ok(1800), ok(1800), 'hang'], V2, [ok(900), ok(900), 'hang'], { partialSeed: true });
  await h.send({ type: 'cmd.start' });
  await h.advance(900_000);
  await h.advance(900_000);
  assert.deepEqual(
    h.calls.map((c) => `${swarmOf(c)} ${c.request.event} ${c.at}`),
    ['v1 paused 0', 'v2 paused 0', 'v2 paused 900000', 'v1 paused 1800000', 'v2 paused 1800000'],
  );
});

// A tracker that fails `paused` with its own failure (chihaya: "failed to provide valid client
// event", aquatic: "invalid event: Unknown value: paused"): announced again at once with no event,
// and sent no `paused` after (pausedRefusedBy in machines/tracker-announce-event.ts).

const refused = () => new TrackerError('failure', 'failed to provide valid client event');

test('a failure to paused: an event-less announce at once, every later one event-less, stopped at the end', async () => {
  const h = start([refused(), ok(1800), ok(1800), ok(1800)], undefined, undefined, { partialSeed: true });
  await h.send({ type: 'cmd.start' });
  await h.advance(1800_000);
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(h.events(), [
    ['paused', 0],
    ['regular', 0],
    ['regular', 1800_000],
    ['stopped', 1800_000],
  ]);
  assert.ok(h.calls.every((c) => c.request.url === 'http://t.example/announce'));
  assert.deepEqual(
    h.reports.map((r) => `${r.type} ${'event' in r ? r.event : 'message' in r ? r.message : ''}`),
    [
      'tracker.pausedRefused failed to provide valid client event',
      'tracker.announced regular',
      'tracker.announced regular',
    ],
  );
  assert.deepEqual(h.output(), { stop: 'announced' });
});

test('a failure to paused after becoming a partial seed: event-less from then on', async () => {
  const h = start([ok(1800), refused(), ok(1800), ok(1800)]);
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.partialSeed' });
  await h.advance(1800_000);
  await h.advance(1800_000);
  assert.deepEqual(h.events(), [
    ['started', 0],
    ['paused', 1800_000],
    ['regular', 1800_000],
    ['regular', 3600_000],
  ]);
});

test('no retry storm: a refused event-less retry, or a failure to a regular announce, backs off as before', async () => {
  const h = start([refused(), refused(), refused(), ok(1800)], undefined, undefined, { partialSeed: true });
  await h.send({ type: 'cmd.start' });
  assert.equal(h.trackerState(), 'backoff');
  await h.advance(INITIAL_RETRY_MS);
  await h.advance(2 * INITIAL_RETRY_MS);
  assert.deepEqual(h.events(), [
    ['paused', 0],
    ['regular', 0],
    ['regular', INITIAL_RETRY_MS],
    ['regular', 3 * INITIAL_RETRY_MS],
  ]);
  assert.deepEqual(
    h.reports.map((r) => `${r.type} ${'failures' in r ? r.failures : ''}`),
    ['tracker.pausedRefused ', 'tracker.failed 1', 'tracker.failed 2', 'tracker.announced '],
  );
  // Not a partial seed: a tracker's failure is backoff, whatever it says.
  const leech = start([refused(), ok(1800)]);
  await leech.send({ type: 'cmd.start' });
  await leech.advance(INITIAL_RETRY_MS);
  assert.deepEqual(leech.events(), [
    ['started', 0],
    ['started', INITIAL_RETRY_MS],
  ]);
});

test('a paused that times out or finds no tracker is no refusal: backoff, then paused again', async () => {
  const down = new TrackerError('network', 'tracker t.example: connect ECONNREFUSED');
  const h = start([down, ok(1800)], undefined, undefined, { partialSeed: true });
  await h.send({ type: 'cmd.start' });
  await h.advance(INITIAL_RETRY_MS);
  assert.deepEqual(h.events(), [
    ['paused', 0],
    ['paused', INITIAL_RETRY_MS],
  ]);
});

test('a tracker the multitracker knows refused paused (input pausedRefused): a partial seed sends it no paused', async () => {
  const h = start([ok(1800), ok(1800)], undefined, undefined, { partialSeed: true, pausedRefused: true });
  await h.send({ type: 'cmd.start' });
  await h.send({ type: 'cmd.stop' });
  assert.deepEqual(
    h.calls.map((c) => c.request.event),
    ['regular', 'stopped'],
  );
});

test('a hybrid partial seed: each swarm whose paused is refused announces again at once with no event', async () => {
  const h = start([refused(), ok(1800), ok(1800)], V2, [refused(), ok(1800), ok(1800)], {
    partialSeed: true,
  });
  await h.send({ type: 'cmd.start' });
  await h.advance(1800_000);
  assert.deepEqual(
    h.calls.map((c) => `${swarmOf(c)} ${c.request.event} ${c.at}`),
    [
      'v1 paused 0',
      'v2 paused 0',
      'v1 regular 0',
      'v2 regular 0',
      'v1 regular 1800000',
      'v2 regular 1800000',
    ],
  );
});
