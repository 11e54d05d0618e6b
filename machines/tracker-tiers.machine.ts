/**
 * Multitracker (BEP 12): the torrent's announce-list, tier by tier, one tracker at a time. It
 * invokes one child tracker machine (tracker.machine.ts) for the current URL and forwards that
 * child's reports to its own parent (the torrent machine):
 *
 *   idle ──cmd.start──► active (child tracker for tiers[tier][index])
 *                         │ tracker.announced → that URL moves to the front of its tier (remembered)
 *                         │ tracker.failed → the next URL (same tier, then the next tier): active again
 *                         │ tracker.failed on the last URL → backoff ──after passRetryDelay──► active (first URL)
 *   cmd.stop ──► active.stopping (the child announces `stopped`) ──child done──► stopped (final)
 *
 * - URLs are shuffled within each tier once, from `seed` (BEP 12; no Math.random in a machine),
 *   deduplicated, and those we cannot announce to (not http, https or udp) are dropped.
 * - The child is started by this machine on entry (cmd.start is sent to it), so the parent sends
 *   `cmd.start` once, after invoking; `cmd.complete`, `cmd.partialSeed` and `cmd.stop` are passed
 *   on. A partial seed (BEP 21) is remembered: the child of a tracker tried later is born one, its
 *   first announce `paused` as every one after it. A tracker that failed a `paused` of ours
 *   (tracker.pausedRefused: chihaya, aquatic) is remembered by URL for the session: its child, when
 *   it is tried again, is born knowing it and sends it no `paused` (tracker-announce-event.ts).
 * - A tracker that worked keeps being used at its interval; only when it fails do we walk on. After
 *   a whole pass fails we wait (15 s doubling to 30 min, as the tracker machine) and start again at
 *   the first tier, so a tier that came back is found again.
 * - Reports to the parent (sendParent): tracker.announced, tracker.peers, tracker.failed (with
 *   `retryInMs` = 0 when another tracker is tried at once, else the wait before the next pass), and
 *   trackers.idle when `cmd.complete` comes while a failed pass waits: no `completed` goes out then
 *   (the next pass's tracker, which never saw us leech, is sent `started` with left=0), so a parent
 *   waiting for it (the torrent finishing) need not.
 */
import { assign, enqueueActions, not, sendTo, setup } from 'xstate';
import { mulberry32 } from '../src/picker/prng.js';
import {
  retryDelayMs,
  type TrackerCommand,
  type TrackerOutput,
  type TrackerReport,
  trackerMachine,
} from './tracker.machine.js';

/** How long `stopping` waits for the child's stopped announce before giving up (a safety net: the
 * announce actor has its own, shorter timeout). */
export const MAX_STOP_WAIT_MS = 10_000;

export interface TrackerTiersInput {
  /** BEP 12 announce-list; `[[announce]]` when the torrent has no list. */
  readonly tiers: readonly (readonly string[])[];
  readonly infoHash: Uint8Array;
  /** A hybrid's v2 swarm's hash: every tracker is announced to under it too (AnnounceRequest.otherInfoHash). */
  readonly otherInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  /** Seeds the shuffle within tiers. */
  readonly seed: number;
  /** BEP 7 key. */
  readonly key?: string;
  readonly numwant?: number;
  /** Override of MAX_STOP_WAIT_MS. */
  readonly stopTimeoutMs?: number;
  /** BEP 21: a partial seed from the start (TrackerInput.partialSeed). */
  readonly partialSeed?: boolean;
}

export interface TrackerTiersContext {
  tiers: string[][];
  readonly infoHash: Uint8Array;
  readonly otherInfoHash: Uint8Array | undefined;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly key: string | undefined;
  readonly numwant: number | undefined;
  readonly stopTimeoutMs: number;
  /** The current tracker: tiers[tier][index]. */
  tier: number;
  index: number;
  /** Consecutive passes over every tracker that all failed. */
  passFailures: number;
  /** The last tracker that answered. */
  working: string | undefined;
  stop: TrackerOutput['stop'];
  /** BEP 21: we are a partial seed (input, or `cmd.partialSeed`): each child is told at its birth. */
  partialSeed: boolean;
  /** The trackers (URLs) that failed a `paused` of ours this session: sent no more `paused`. */
  pausedRefused: readonly string[];
}

export interface TrackerTiersOutput extends TrackerOutput {
  readonly working?: string;
}

const ANNOUNCEABLE = /^(https?|udp):\/\//i;

/** Tiers as given, URLs we can use, each once, shuffled within its tier (Fisher–Yates). */
export function prepareTiers(tiers: readonly (readonly string[])[], seed: number): string[][] {
  const random = mulberry32(seed);
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const tier of tiers) {
    const urls: string[] = [];
    for (const u of tier) {
      if (!ANNOUNCEABLE.test(u) || seen.has(u)) continue;
      seen.add(u);
      urls.push(u);
    }
    for (let i = urls.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [urls[i], urls[j]] = [urls[j]!, urls[i]!];
    }
    if (urls.length > 0) out.push(urls);
  }
  return out;
}

export function currentUrl(c: Pick<TrackerTiersContext, 'tiers' | 'tier' | 'index'>): string {
  const url = c.tiers[c.tier]?.[c.index];
  if (url === undefined) throw new Error(`no tracker at tier ${c.tier} index ${c.index}`);
  return url;
}

/** The tiers with tiers[tier][index] moved to the front of its tier (BEP 12). */
export function promote(tiers: readonly string[][], tier: number, index: number): string[][] {
  return tiers.map((urls, t) =>
    t === tier && index > 0 ? [urls[index]!, ...urls.slice(0, index), ...urls.slice(index + 1)] : urls,
  );
}

type TiersEvent = TrackerCommand | TrackerReport;

export const trackerTiersMachine = setup({
  types: {
    context: {} as TrackerTiersContext,
    events: {} as TiersEvent,
    input: {} as TrackerTiersInput,
    output: {} as TrackerTiersOutput,
  },
  actors: {
    /** One tracker's lifecycle; src/tracker/tracker-tiers-actor.ts provides its `announce`. */
    tracker: trackerMachine,
  },
  delays: {
    passRetryDelay: ({ context }) => retryDelayMs(context.passFailures),
    stopTimeout: ({ context }) => context.stopTimeoutMs,
  },
  guards: {
    hasTrackers: ({ context }) => context.tiers.length > 0,
    /** A report from the child of the current URL (not a late one from a replaced child). */
    isCurrent: ({ context, event }) => 'url' in event && event.url === currentUrl(context),
    hasNextInPass: ({ context }) =>
      context.index + 1 < (context.tiers[context.tier]?.length ?? 0) ||
      context.tier + 1 < context.tiers.length,
  },
  actions: {
    startChild: sendTo('tracker', { type: 'cmd.start' }),
    stopChild: sendTo('tracker', { type: 'cmd.stop' }),
    completeChild: sendTo('tracker', { type: 'cmd.complete' }),
    notePartialSeed: assign({ partialSeed: true }),
    partialSeedChild: sendTo('tracker', { type: 'cmd.partialSeed' }),
    rememberPausedRefused: assign(({ context, event }) => ({
      pausedRefused: context.pausedRefused.includes((event as { url: string }).url)
        ? context.pausedRefused
        : [...context.pausedRefused, (event as { url: string }).url],
    })),
    advance: assign(({ context }) =>
      context.index + 1 < (context.tiers[context.tier]?.length ?? 0)
        ? { index: context.index + 1 }
        : { tier: context.tier + 1, index: 0 },
    ),
    restartPass: assign({ tier: 0, index: 0 }),
    countPassFailure: assign(({ context }) => ({ passFailures: context.passFailures + 1 })),
    /** BEP 12: the tracker that answered goes to the front of its tier and is the one we keep. */
    rememberWorking: assign(({ context }) => ({
      tiers: promote(context.tiers, context.tier, context.index),
      index: 0,
      working: currentUrl(context),
      passFailures: 0,
    })),
    /** Told complete while every tracker failed: nothing will be announced before the next pass. */
    reportIdle: enqueueActions(({ enqueue }) => {
      enqueue.sendParent({ type: 'trackers.idle' });
    }),
    forward: enqueueActions(({ event, enqueue }) => {
      enqueue.sendParent(event as TrackerReport);
    }),
    /** The child's failure, with when the tiers will try again: now (another tracker) or after a pass. */
    forwardFailure: enqueueActions(({ context, event, enqueue }, params: { nextPass: boolean }) => {
      const e = event as Extract<TrackerReport, { type: 'tracker.failed' }>;
      enqueue.sendParent({ ...e, retryInMs: params.nextPass ? retryDelayMs(context.passFailures + 1) : 0 });
    }),
    recordStop: assign(({ event }) => ({
      stop: (event as unknown as { output: TrackerOutput }).output.stop,
    })),
    recordStopTimeout: assign({ stop: 'failed' as const }),
  },
}).createMachine({
  id: 'trackerTiers',
  context: ({ input }) => ({
    tiers: prepareTiers(input.tiers, input.seed),
    infoHash: input.infoHash,
    otherInfoHash: input.otherInfoHash,
    peerId: input.peerId,
    port: input.port,
    key: input.key,
    numwant: input.numwant,
    stopTimeoutMs: input.stopTimeoutMs ?? MAX_STOP_WAIT_MS,
    tier: 0,
    index: 0,
    passFailures: 0,
    working: undefined,
    stop: 'skipped' as const,
    partialSeed: input.partialSeed === true,
    pausedRefused: [],
  }),
  initial: 'idle',
  on: { 'cmd.partialSeed': { actions: 'notePartialSeed' } },
  states: {
    idle: {
      on: {
        'cmd.start': { guard: 'hasTrackers', target: 'active' },
        // Nothing to pass on: the tracker found later is sent `started` with left=0 (docs/tracker.md).
        'cmd.complete': {},
        'cmd.stop': 'stopped',
      },
    },
    active: {
      invoke: {
        id: 'tracker',
        src: 'tracker',
        input: ({ context }) => ({
          url: currentUrl(context),
          infoHash: context.infoHash,
          ...(context.otherInfoHash === undefined ? {} : { otherInfoHash: context.otherInfoHash }),
          peerId: context.peerId,
          port: context.port,
          ...(context.key === undefined ? {} : { key: context.key }),
          ...(context.numwant === undefined ? {} : { numwant: context.numwant }),
          ...(context.partialSeed ? { partialSeed: true } : {}),
          ...(context.pausedRefused.includes(currentUrl(context)) ? { pausedRefused: true } : {}),
        }),
        onDone: { target: 'stopped', actions: 'recordStop' },
      },
      initial: 'running',
      states: {
        running: {
          // Entered after the parent state's invoke, so the child exists to receive it.
          entry: 'startChild',
          on: {
            'tracker.announced': { guard: 'isCurrent', actions: ['rememberWorking', 'forward'] },
            'tracker.peers': { guard: 'isCurrent', actions: 'forward' },
            'tracker.pausedRefused': { guard: 'isCurrent', actions: 'rememberPausedRefused' },
            'tracker.failed': [
              { guard: not('isCurrent') },
              {
                guard: 'hasNextInPass',
                target: '#trackerTiers.active',
                reenter: true,
                actions: [{ type: 'forwardFailure', params: { nextPass: false } }, 'advance'],
              },
              {
                target: '#trackerTiers.backoff',
                actions: [{ type: 'forwardFailure', params: { nextPass: true } }, 'countPassFailure'],
              },
            ],
            'cmd.complete': { actions: 'completeChild' },
            'cmd.partialSeed': { actions: ['notePartialSeed', 'partialSeedChild'] },
            'cmd.stop': { target: 'stopping', actions: 'stopChild' },
          },
        },
        stopping: {
          after: { stopTimeout: { target: '#trackerTiers.stopped', actions: 'recordStopTimeout' } },
          on: { 'cmd.stop': {}, 'cmd.complete': {} },
        },
      },
    },
    backoff: {
      after: { passRetryDelay: { target: 'active', actions: 'restartPass' } },
      on: {
        'cmd.complete': { actions: 'reportIdle' },
        'cmd.stop': 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
  output: ({ context }) => ({
    stop: context.stop,
    ...(context.working === undefined ? {} : { working: context.working }),
  }),
});
