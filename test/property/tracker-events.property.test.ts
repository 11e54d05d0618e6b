/**
 * The tracker machine's events (machines/tracker-announce-event.ts) as properties over generated
 * runs: a one-swarm or hybrid torrent, a partial seed from the start or not, and any order of the
 * torrent machine's commands (cmd.complete once at most, as the torrent machine sends it,
 * cmd.partialSeed — BEP 21 —, cmd.stop) with time passing and each announce answered or failed.
 * Properties, per swarm:
 * - `completed` is answered at most once, and never sent once we are a partial seed;
 * - once we are a partial seed every announce but `stopped` says `paused` (none `started`,
 *   `regular` or `completed`), the one in flight when it was told excepted;
 * - nothing is announced after `stopped`, and `stopped` goes only to a swarm that was announced to.
 * The announce is a scripted actor on a SimulatedClock (no real time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { assign, createActor, createMachine, fromPromise, SimulatedClock, sendTo } from 'xstate';
import {
  type AnnounceRequest,
  type TrackerCommand,
  type TrackerReport,
  trackerMachine,
} from '../../machines/tracker.machine.js';
import type { AnnounceResponse } from '../../src/tracker/announce-types.js';

const V1 = new Uint8Array(20).fill(1);
const V2 = new Uint8Array(20).fill(2);

type Step =
  | { readonly kind: 'cmd'; readonly cmd: 'cmd.complete' | 'cmd.partialSeed' | 'cmd.stop' }
  | { readonly kind: 'wait'; readonly ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc
    .constantFrom('cmd.complete', 'cmd.partialSeed', 'cmd.stop')
    .map((cmd) => ({ kind: 'cmd' as const, cmd })),
  fc.constantFrom(1_000, 15_000, 30_000, 60_000, 600_000).map((ms) => ({ kind: 'wait' as const, ms })),
);

interface Sent {
  readonly swarm: 'v1' | 'v2';
  readonly event: string;
  /** We were a partial seed when it was sent. */
  readonly partial: boolean;
  answered: boolean;
}

async function run(
  hybrid: boolean,
  partialFromStart: boolean,
  steps: readonly Step[],
  fails: readonly boolean[],
) {
  const clock = new SimulatedClock();
  const sent: Sent[] = [];
  let partial = partialFromStart;
  let n = 0;
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input }) => {
    const s: Sent = {
      swarm: Buffer.from(input.infoHash).equals(Buffer.from(V2)) ? 'v2' : 'v1',
      event: input.event,
      partial,
      answered: false,
    };
    sent.push(s);
    const fail = fails[n++ % fails.length] === true;
    if (fail) return Promise.reject(new Error('down'));
    s.answered = true;
    return Promise.resolve({ interval: 60, peers: [] });
  });
  const parent = createMachine({
    types: {} as { events: TrackerReport | { type: 'fwd'; cmd: TrackerCommand }; context: object },
    context: {},
    invoke: {
      id: 'tracker',
      src: trackerMachine.provide({ actors: { announce } }),
      input: {
        url: 'http://t.example/announce',
        infoHash: V1,
        ...(hybrid ? { otherInfoHash: V2 } : {}),
        peerId: new Uint8Array(20),
        port: 6881,
        ...(partialFromStart ? { partialSeed: true } : {}),
      },
      onDone: { actions: assign({}) },
    },
    on: { fwd: { actions: sendTo('tracker', ({ event }) => event.cmd) } },
  });
  const actor = createActor(parent, { clock }).start();
  const flush = async () => {
    for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
  };
  actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
  await flush();
  for (const step of steps) {
    if (step.kind === 'wait') clock.increment(step.ms);
    else {
      if (step.cmd === 'cmd.partialSeed') partial = true;
      actor.send({ type: 'fwd', cmd: { type: step.cmd } });
    }
    await flush();
  }
  actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
  await flush();
  actor.stop();
  return sent;
}

test('completed at most once and never from a partial seed, paused in every announce of one, nothing after stopped', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.boolean(),
      fc.boolean(),
      // The torrent machine completes once: at most one cmd.complete (cmd.partialSeed any number of times).
      fc
        .array(stepArb, { maxLength: 14 })
        .filter((steps) => steps.filter((s) => s.kind === 'cmd' && s.cmd === 'cmd.complete').length <= 1),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      async (hybrid, partialFromStart, steps, fails) => {
        const sent = await run(hybrid, partialFromStart, steps, fails);
        for (const swarm of ['v1', 'v2'] as const) {
          const mine = sent.filter((s) => s.swarm === swarm);
          if (swarm === 'v2' && !hybrid) assert.equal(mine.length, 0);
          const answeredCompleted = mine.filter((s) => s.event === 'completed' && s.answered);
          assert.ok(answeredCompleted.length <= 1, `${swarm}: ${JSON.stringify(mine)}`);
          // Sent while a partial seed: paused, or the stop's own stopped.
          for (const s of mine)
            if (s.partial) assert.ok(s.event === 'paused' || s.event === 'stopped', JSON.stringify(mine));
          // Never completed once a partial seed — even sent after the flag, an announce chosen before.
          const firstPartial = mine.findIndex((s) => s.partial);
          if (firstPartial >= 0)
            assert.ok(
              mine.slice(firstPartial).every((s) => s.event !== 'completed'),
              JSON.stringify(mine),
            );
          // stopped is the last word, and only to a swarm announced to before.
          const stop = mine.findIndex((s) => s.event === 'stopped');
          if (stop >= 0) {
            assert.equal(stop, mine.length - 1, JSON.stringify(mine));
            assert.ok(stop > 0, 'stopped to a swarm never announced to');
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});
