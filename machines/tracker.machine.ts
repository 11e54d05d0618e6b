/**
 * The announce lifecycle with one HTTP tracker (BEP 3): `started` first, then a `regular` announce
 * every interval the tracker asks for, `completed` once when the download completes, `stopped` on
 * the way out. Failures back off (15 s doubling to 30 min). The announce itself is the `announce`
 * actor, provided in src/tracker/tracker-actor.ts (real HTTP) or by a test; it reads the transfer
 * stats (uploaded/downloaded/left) on its side, so this machine stays pure.
 *
 * A hybrid torrent (BEP 52) is one payload in two swarms, named by its SHA-1 info-hash and by the
 * first 20 bytes of its SHA-256 one: the tracker is announced to under both, one `announce` actor
 * per swarm, each swarm with its own `started` / `completed`, interval, min interval and backoff, as
 * libtorrent 2.0 keeps an announce state per info-hash (announce_infohash). Each answer is acted on
 * as it lands and reported apart (tracker.announced, tracker.peers; the v2 one's with swarm 'v2'),
 * so a v2 announce that hangs or fails never holds back the v1 one. v1 failing while the v2 swarm's
 * last announce answered is no failure of the tracker (the v1 swarm backs off on its own, still
 * owed its `started`); only both failing is.
 *
 *   idle ──cmd.start──► running (parallel)
 *     lifecycle: announcing ──done──► waiting ──after announceInterval──► announcing …
 *                   │  ▲  └─error (hybrid)─► awaitingV2 ─v2's last answered─► backoff (quiet)
 *                   │  │                          └──────v2's last failed──► backoff (tracker.failed)
 *                   │  └─after retryDelay─ backoff ◄──error── announcing
 *                   waiting ──cmd.complete──► announcing (event completed)
 *     v2Swarm:   idle ──(a hybrid)──► announcing ──done──► waiting ──after v2AnnounceInterval──► announcing …
 *                                        └──error──► backoff ──after v2RetryDelay──► announcing
 *                waiting ──cmd.complete──► announcing (event completed)
 *   cmd.stop (anywhere) ──► stopping (parallel: event stopped to each swarm the tracker may know
 *                           us in) ──both ended──► stopped (final)
 *
 * A partial seed (BEP 21: input `partialSeed`, or `cmd.partialSeed`) says `paused` in every
 * announce but `stopped`, never `completed` (tracker-announce-event.ts, which decides each event).
 * A tracker that fails a `paused` with its own failure (chihaya, aquatic) is announced to again at
 * once with no event, and sent no `paused` after (`pausedRefused`; reports tracker.pausedRefused).
 *
 * Reports to the parent (sendParent): tracker.announced, tracker.peers, tracker.failed, tracker.pausedRefused.
 * See docs/tracker.md for the table of states and the limits.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { AnnounceEvent, AnnounceResponse, TrackerPeer } from '../src/tracker/announce-types.js';
import {
  announceEvent,
  owesCompleted,
  pausedRefusedBy,
  v1MayKnowUs,
  v2Event,
  v2MayKnowUs,
  v2State,
} from './tracker-announce-event.js';

/** Never re-announce sooner than this, whatever interval a tracker asks (a hostile 0 would spin). */
export const MIN_ANNOUNCE_INTERVAL_MS = 30_000;
/** Never wait longer than this between announces (a hostile huge interval would starve us of peers). */
export const MAX_ANNOUNCE_INTERVAL_MS = 2 * 60 * 60_000;
/** First retry after a failed announce; doubles per consecutive failure. */
export const INITIAL_RETRY_MS = 15_000;
/** Longest wait between retries. */
export const MAX_RETRY_MS = 30 * 60_000;

/**
 * What the `announce` actor is given, for one swarm; the src side adds uploaded/downloaded/left. A
 * hybrid's two swarms are two of these, one with each hash.
 */
export interface AnnounceRequest {
  readonly url: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly event: AnnounceEvent;
  readonly numwant?: number;
  readonly key?: string;
  readonly trackerId?: string;
}

export interface TrackerInput {
  readonly url: string;
  readonly infoHash: Uint8Array;
  /**
   * A hybrid torrent's v2 swarm (BEP 52): the first 20 bytes of its SHA-256 info-hash. The tracker is
   * announced to under this hash too, by an announce of its own (the `v2Swarm` region), as libtorrent
   * announces a hybrid under both. Absent: one swarm, `infoHash`.
   */
  readonly otherInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly numwant?: number;
  /** BEP 7 key, chosen once per session by the caller (no randomness inside a machine). */
  readonly key?: string;
  /** BEP 21: we are a partial seed from the start (every wanted piece verified, not every piece). */
  readonly partialSeed?: boolean;
  /** This tracker failed a `paused` of ours earlier in the session (the multitracker remembers): no `paused`. */
  readonly pausedRefused?: boolean;
}

/** `cmd.partialSeed`: we became a partial seed (BEP 21); our announces say `paused` from now on. */
export type TrackerCommand = { type: 'cmd.start' | 'cmd.complete' | 'cmd.partialSeed' | 'cmd.stop' };

/** Tracker machine → parent. */
export type TrackerReport =
  | {
      readonly type: 'tracker.announced';
      readonly url: string;
      readonly event: AnnounceEvent;
      readonly interval: number;
      readonly minInterval?: number;
      readonly complete?: number;
      readonly incomplete?: number;
      /** The peers of the answer reported (each swarm's answer is reported on its own). */
      readonly peerCount: number;
      readonly warning?: string;
      /** The answer of a hybrid's v2 swarm (its own announce); absent: the torrent's (v1) swarm. */
      readonly swarm?: 'v2';
      /**
       * A v2 `completed` answered while the v1 swarm's last announce failed (a tracker that knows
       * the torrent by its v2 hash only, say): it stands for the tracker's, no v1 one being on its way.
       */
      readonly v1Failing?: true;
    }
  | {
      readonly type: 'tracker.peers';
      readonly url: string;
      readonly peers: readonly TrackerPeer[];
      /** Peers of a hybrid's v2 swarm (its own announce's answer); absent: the torrent's (v1) swarm. */
      readonly swarm?: 'v2';
    }
  | {
      readonly type: 'tracker.failed';
      readonly url: string;
      readonly event: AnnounceEvent;
      readonly message: string;
      readonly code?: string;
      readonly failures: number;
      readonly retryInMs: number;
    }
  | {
      /** The tracker failed a `paused` announce (its `message`): announced again at once with no event. */
      readonly type: 'tracker.pausedRefused';
      readonly url: string;
      readonly message: string;
    };

/** How the machine ended: whether the tracker was told `stopped` (in either swarm, for a hybrid). */
export interface TrackerOutput {
  readonly stop: 'announced' | 'failed' | 'skipped';
}

/** An answer without its peers (those are reported as they come): what the round keeps of it. */
export type AnswerSummary = Omit<AnnounceResponse, 'peers'> & { readonly peerCount: number };

export interface TrackerContext extends Omit<TrackerInput, 'partialSeed' | 'pausedRefused'> {
  stop: TrackerOutput['stop'];
  /** BEP 21: a partial seed, whose announces say `paused` (then completePending stays false). */
  partialSeed: boolean;
  /** This tracker failed a `paused` of ours: a partial seed announces to it with no event. */
  pausedRefused: boolean;
  /** Seconds, from the last response of the torrent's (v1) swarm. */
  interval: number | undefined;
  minInterval: number | undefined;
  trackerId: string | undefined;
  /** Consecutive failed announces of the torrent's (v1) swarm. */
  failures: number;
  /** A `started` announce succeeded (or a partial seed's `paused`: the tracker knows us). */
  started: boolean;
  /** The download completed and the tracker has not been told yet. */
  completePending: boolean;
  /** The event of the announce in flight (undefined when none). */
  inFlight: AnnounceEvent | undefined;
  /** The v1 announce's failure, kept while a hybrid's v2 announce decides if it is the tracker's (awaitingV2). */
  lastError: { message: string; code?: string } | undefined;
  /** A hybrid's v2 swarm: a `started` announce under its hash succeeded. */
  v2Started: boolean;
  /** A hybrid's v2 swarm: the download completed and that swarm has not been told yet. */
  v2CompletePending: boolean;
  /** The event of the v2 swarm's announce in flight (undefined when none). */
  v2InFlight: AnnounceEvent | undefined;
  /** How the v2 swarm's last announce ended: its answer, or 'failed'. Undefined while in flight. */
  v2Answer: AnswerSummary | 'failed' | undefined;
  /** Seconds, from the v2 swarm's last answer (its own schedule, as libtorrent's per info-hash). */
  v2Interval: number | undefined;
  v2MinInterval: number | undefined;
  /** Consecutive failed announces of the v2 swarm (its own backoff). */
  v2Failures: number;
}

/** interval (or min interval when larger), clamped to [MIN_ANNOUNCE_INTERVAL_MS, MAX_ANNOUNCE_INTERVAL_MS]. */
export function announceIntervalMs(c: Pick<TrackerContext, 'interval' | 'minInterval'>): number {
  const s = Math.max(c.interval ?? 0, c.minInterval ?? 0);
  return Math.min(MAX_ANNOUNCE_INTERVAL_MS, Math.max(MIN_ANNOUNCE_INTERVAL_MS, s * 1000));
}

/** 15 s, 30 s, 60 s … 30 min for failures = 1, 2, 3 … */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_RETRY_MS, INITIAL_RETRY_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

function errorInfo(error: unknown): { message: string; code?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? { message, code } : { message };
}

function summarise(r: AnnounceResponse): AnswerSummary {
  const { peers, ...rest } = r;
  return { ...rest, peerCount: peers.length };
}

/** The announce input for one swarm (`infoHash`) with `event`. */
function request(c: TrackerContext, infoHash: Uint8Array, event: AnnounceEvent): AnnounceRequest {
  return {
    url: c.url,
    infoHash,
    peerId: c.peerId,
    port: c.port,
    event,
    // BEP 3: a stopped announce wants no peers.
    ...(event === 'stopped' ? { numwant: 0 } : c.numwant === undefined ? {} : { numwant: c.numwant }),
    ...(c.key === undefined ? {} : { key: c.key }),
    ...(c.trackerId === undefined ? {} : { trackerId: c.trackerId }),
  };
}

/** The report of an answer: `tracker.announced` with its figures (`swarm` for a hybrid's v2 one). */
function announcedReport(
  c: TrackerContext,
  r: AnswerSummary,
  event: AnnounceEvent,
  swarm?: 'v2',
): TrackerReport {
  return {
    type: 'tracker.announced',
    url: c.url,
    event,
    interval: r.interval,
    peerCount: r.peerCount,
    ...(r.minInterval === undefined ? {} : { minInterval: r.minInterval }),
    ...(r.complete === undefined ? {} : { complete: r.complete }),
    ...(r.incomplete === undefined ? {} : { incomplete: r.incomplete }),
    ...(r.warning === undefined ? {} : { warning: r.warning }),
    ...(swarm === undefined ? {} : { swarm }),
  };
}

export const trackerMachine = setup({
  types: {
    context: {} as TrackerContext,
    events: {} as TrackerCommand,
    input: {} as TrackerInput,
    output: {} as TrackerOutput,
  },
  actors: {
    /** Provided by src/tracker/tracker-actor.ts (HTTP) or a test; this placeholder always fails. */
    announce: fromPromise<AnnounceResponse, AnnounceRequest>(async () => {
      throw new Error('no announce actor provided');
    }),
  },
  delays: {
    announceInterval: ({ context }) => announceIntervalMs(context),
    retryDelay: ({ context }) => retryDelayMs(context.failures),
    v2AnnounceInterval: ({ context }) =>
      announceIntervalMs({ interval: context.v2Interval, minInterval: context.v2MinInterval }),
    v2RetryDelay: ({ context }) => retryDelayMs(context.v2Failures),
  },
  guards: {
    /** Worth a `stopped` in some swarm: v1MayKnowUs or v2MayKnowUs. */
    mayKnowUs: ({ context }) => v1MayKnowUs(context) || v2MayKnowUs(context),
    v1MayKnowUs: ({ context }) => v1MayKnowUs(context),
    v2MayKnowUs: ({ context }) => v2MayKnowUs(context),
    /** The download completed while another announce was in flight: tell the tracker now. */
    isCompletePending: ({ context }) => owesCompleted(context),
    /** The same for the v2 swarm. */
    isV2CompletePending: ({ context }) => owesCompleted(v2State(context)),
    /** `cmd.complete` announces `completed` at once, unless we are a partial seed (BEP 21: never). */
    mayComplete: ({ context }) => !context.partialSeed,
    /** A hybrid (BEP 52): the torrent is in a second swarm, under `otherInfoHash`. */
    isHybrid: ({ context }) => context.otherInfoHash !== undefined,
    /** The v2 swarm's last announce answered: a failed v1 one is not the tracker failing. */
    v2Answered: ({ context }) => context.v2Answer !== undefined && context.v2Answer !== 'failed',
    v2Failed: ({ context }) => context.v2Answer === 'failed',
    /** The tracker failed the swarm's `paused` with its own failure (pausedRefusedBy): again, no event. */
    refusedPaused: ({ context, event }) =>
      pausedRefusedBy(context.inFlight, errorInfo((event as { error?: unknown }).error).code),
    v2RefusedPaused: ({ context, event }) =>
      pausedRefusedBy(context.v2InFlight, errorInfo((event as { error?: unknown }).error).code),
  },
  actions: {
    beginAnnounce: assign(({ context }) => ({ inFlight: announceEvent(context) })),
    markComplete: assign(({ context }) =>
      context.partialSeed
        ? {}
        : {
            completePending: true,
            ...(context.otherInfoHash === undefined ? {} : { v2CompletePending: true }),
          },
    ),
    /** BEP 21: from now on every announce but `stopped` says `paused`; no `completed` is owed. */
    notePartialSeed: assign({ partialSeed: true, completePending: false, v2CompletePending: false }),
    /** The torrent's (v1) swarm answered: its state, its interval, and its report. */
    acceptResponse: enqueueActions(({ context, event, enqueue }) => {
      const r = (event as unknown as { output: AnnounceResponse }).output;
      const sent = context.inFlight ?? 'regular';
      enqueue.assign({
        interval: r.interval,
        minInterval: r.minInterval,
        trackerId: r.trackerId ?? context.trackerId,
        failures: 0,
        started: true,
        completePending: sent === 'completed' ? false : context.completePending,
        inFlight: undefined,
        lastError: undefined,
      });
      enqueue.sendParent(announcedReport(context, summarise(r), sent));
      if (r.peers.length > 0)
        enqueue.sendParent({
          type: 'tracker.peers',
          url: context.url,
          peers: r.peers,
        } satisfies TrackerReport);
    }),
    /** The v1 announce failed; a hybrid's v2 announce decides whether the tracker failed (awaitingV2). */
    keepError: assign(({ event }) => ({
      lastError: errorInfo((event as unknown as { error: unknown }).error),
    })),
    /**
     * v1 failed while the v2 swarm's last announce answered: the tracker works (its v2 answer was
     * reported), the v1 swarm backs off on its own and is still owed its `started` if it never took
     * one, as libtorrent keeps `fails` and `start_sent` per info-hash.
     */
    noteV1Failure: assign(({ context }) => ({
      failures: context.failures + 1,
      inFlight: undefined,
      lastError: undefined,
    })),
    reportFailure: enqueueActions(({ context, event, enqueue }) => {
      const failures = context.failures + 1;
      // A hybrid's v1 error, kept while the v2 swarm decided (awaitingV2); else this event's.
      const error = context.lastError ?? errorInfo((event as { error?: unknown }).error);
      enqueue.assign({ failures, inFlight: undefined, lastError: undefined });
      enqueue.sendParent({
        type: 'tracker.failed',
        url: context.url,
        event: context.inFlight ?? 'regular',
        failures,
        retryInMs: retryDelayMs(failures),
        ...error,
      } satisfies TrackerReport);
    }),
    /** No more `paused` to this tracker (either swarm); the parent (the multitracker) remembers the URL. */
    notePausedRefused: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ pausedRefused: true });
      const { message } = errorInfo((event as { error?: unknown }).error);
      enqueue.sendParent({
        type: 'tracker.pausedRefused',
        url: context.url,
        message,
      } satisfies TrackerReport);
    }),
    beginV2Announce: assign(({ context }) => ({ v2InFlight: v2Event(context), v2Answer: undefined })),
    /**
     * The v2 swarm's answer: reported on its own (tracker.announced, tracker.peers, both with
     * `swarm: 'v2'`; its peers dialled with its hash), its interval the v2 swarm's schedule. A
     * completion it has not been told of (it came while this announce was under way, or this was its
     * `started`) is told at once by `waiting`, as the lifecycle's does for the v1 swarm.
     */
    acceptV2Response: enqueueActions(({ context, event, enqueue }) => {
      const r = (event as unknown as { output: AnnounceResponse }).output;
      const sent = context.v2InFlight ?? 'regular';
      const summary = summarise(r);
      enqueue.assign({
        v2Started: true,
        v2CompletePending: sent === 'completed' ? false : context.v2CompletePending,
        v2InFlight: undefined,
        v2Answer: summary,
        v2Interval: r.interval,
        v2MinInterval: r.minInterval,
        v2Failures: 0,
      });
      const report = announcedReport(context, summary, sent, 'v2');
      // v1's last announce failed (backing off, or its error kept in awaitingV2 until this answer).
      const v1Failing = sent === 'completed' && (context.failures > 0 || context.lastError !== undefined);
      enqueue.sendParent(v1Failing ? { ...report, v1Failing: true } : report);
      if (r.peers.length > 0)
        enqueue.sendParent({
          type: 'tracker.peers',
          url: context.url,
          peers: r.peers,
          swarm: 'v2',
        } satisfies TrackerReport);
    }),
    noteV2Failure: assign(({ context }) => ({
      v2InFlight: undefined,
      v2Answer: 'failed' as const,
      v2Failures: context.v2Failures + 1,
    })),
    noteStopAnswered: assign({ stop: 'announced' as const }),
    noteStopFailed: assign(({ context }) => ({
      stop: context.stop === 'announced' ? ('announced' as const) : ('failed' as const),
    })),
    endStop: assign({ inFlight: undefined, started: false, v2InFlight: undefined, v2Started: false }),
  },
}).createMachine({
  id: 'tracker',
  context: ({ input }) => ({
    ...input,
    partialSeed: input.partialSeed === true,
    pausedRefused: input.pausedRefused === true,
    interval: undefined,
    minInterval: undefined,
    trackerId: undefined,
    failures: 0,
    started: false,
    completePending: false,
    inFlight: undefined,
    lastError: undefined,
    v2Started: false,
    v2CompletePending: false,
    v2InFlight: undefined,
    v2Answer: undefined,
    v2Interval: undefined,
    v2MinInterval: undefined,
    v2Failures: 0,
    stop: 'skipped' as const,
  }),
  initial: 'idle',
  on: {
    'cmd.complete': { actions: 'markComplete' },
    'cmd.partialSeed': { actions: 'notePartialSeed' },
    'cmd.stop': [{ guard: 'mayKnowUs', target: '.stopping' }, { target: '.stopped' }],
  },
  states: {
    idle: {
      on: { 'cmd.start': 'running' },
    },
    running: {
      type: 'parallel',
      states: {
        // The torrent's own swarm (v1 for a hybrid): its announces and their timing.
        lifecycle: {
          initial: 'announcing',
          states: {
            announcing: {
              entry: 'beginAnnounce',
              invoke: {
                id: 'announce',
                src: 'announce',
                input: ({ context }) => request(context, context.infoHash, announceEvent(context)),
                onDone: { target: 'waiting', actions: 'acceptResponse' },
                onError: [
                  {
                    guard: 'refusedPaused',
                    target: 'announcing',
                    reenter: true,
                    actions: 'notePausedRefused',
                  },
                  { guard: 'isHybrid', target: 'awaitingV2', actions: 'keepError' },
                  { target: 'backoff', actions: 'reportFailure' },
                ],
              },
            },
            // A hybrid's v1 announce failed: the tracker failed only if the v2 swarm's last announce did.
            awaitingV2: {
              always: [
                { guard: 'v2Answered', target: 'backoff', actions: 'noteV1Failure' },
                { guard: 'v2Failed', target: 'backoff', actions: 'reportFailure' },
              ],
            },
            waiting: {
              always: { guard: 'isCompletePending', target: 'announcing' },
              after: { announceInterval: 'announcing' },
              on: { 'cmd.complete': { guard: 'mayComplete', target: 'announcing', actions: 'markComplete' } },
            },
            backoff: {
              after: { retryDelay: 'announcing' },
            },
          },
        },
        // A hybrid's v2 swarm (BEP 52): its announces under its hash, on its own schedule.
        v2Swarm: {
          initial: 'idle',
          states: {
            idle: {
              always: { guard: 'isHybrid', target: 'announcing' },
            },
            announcing: {
              entry: 'beginV2Announce',
              invoke: {
                id: 'announceV2',
                src: 'announce',
                input: ({ context }) =>
                  request(
                    context,
                    context.otherInfoHash ?? context.infoHash,
                    context.v2InFlight ?? 'started',
                  ),
                onDone: { target: 'waiting', actions: 'acceptV2Response' },
                onError: [
                  {
                    guard: 'v2RefusedPaused',
                    target: 'announcing',
                    reenter: true,
                    actions: 'notePausedRefused',
                  },
                  { target: 'backoff', actions: 'noteV2Failure' },
                ],
              },
            },
            waiting: {
              always: { guard: 'isV2CompletePending', target: 'announcing' },
              after: { v2AnnounceInterval: 'announcing' },
              on: { 'cmd.complete': { guard: 'mayComplete', target: 'announcing', actions: 'markComplete' } },
            },
            backoff: {
              after: { v2RetryDelay: 'announcing' },
            },
          },
        },
      },
    },
    // `stopped` at once to each swarm that may know us; the machine ends when both have ended.
    stopping: {
      type: 'parallel',
      states: {
        lifecycle: {
          initial: 'deciding',
          states: {
            deciding: {
              always: [{ guard: 'v1MayKnowUs', target: 'announcing' }, { target: 'done' }],
            },
            announcing: {
              invoke: {
                id: 'stopAnnounce',
                src: 'announce',
                input: ({ context }) => request(context, context.infoHash, 'stopped'),
                onDone: { target: 'done', actions: 'noteStopAnswered' },
                onError: { target: 'done', actions: 'noteStopFailed' },
              },
            },
            done: { type: 'final' },
          },
        },
        v2Swarm: {
          initial: 'deciding',
          states: {
            deciding: {
              always: [{ guard: 'v2MayKnowUs', target: 'announcing' }, { target: 'done' }],
            },
            announcing: {
              invoke: {
                id: 'stopAnnounceV2',
                src: 'announce',
                input: ({ context }) =>
                  request(context, context.otherInfoHash ?? context.infoHash, 'stopped'),
                onDone: { target: 'done', actions: 'noteStopAnswered' },
                onError: { target: 'done', actions: 'noteStopFailed' },
              },
            },
            done: { type: 'final' },
          },
        },
      },
      onDone: { target: 'stopped', actions: 'endStop' },
      on: { 'cmd.stop': {}, 'cmd.complete': {}, 'cmd.partialSeed': {} },
    },
    stopped: {
      type: 'final',
    },
  },
  output: ({ context }) => ({ stop: context.stop }),
});
