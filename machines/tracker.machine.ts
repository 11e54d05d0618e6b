/**
 * The announce lifecycle with one HTTP tracker (BEP 3): `started` first, then a `regular` announce
 * every interval the tracker asks for, `completed` once when the download completes, `stopped` on
 * the way out. Failures back off (15 s doubling to 30 min). The announce itself is the `announce`
 * actor, provided in src/tracker/tracker-actor.ts (real HTTP) or by a test; it reads the transfer
 * stats (uploaded/downloaded/left) on its side, so this machine stays pure.
 *
 *   idle ──cmd.start──► announcing ──done──► waiting ──after announceInterval──► announcing …
 *                          │  ▲                 │ cmd.complete ──► announcing (event completed)
 *                          │  └─after retryDelay─ backoff ◄──error── announcing
 *   cmd.stop (anywhere) ──► stopping (event stopped, if the tracker may know us) ──► stopped (final)
 *
 * Reports to the parent (sendParent): tracker.announced, tracker.peers, tracker.failed.
 * See docs/tracker.md for the table of states and the limits.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { AnnounceEvent, AnnounceResponse, TrackerPeer } from '../src/tracker/announce-types.js';

/** Never re-announce sooner than this, whatever interval a tracker asks (a hostile 0 would spin). */
export const MIN_ANNOUNCE_INTERVAL_MS = 30_000;
/** Never wait longer than this between announces (a hostile huge interval would starve us of peers). */
export const MAX_ANNOUNCE_INTERVAL_MS = 2 * 60 * 60_000;
/** First retry after a failed announce; doubles per consecutive failure. */
export const INITIAL_RETRY_MS = 15_000;
/** Longest wait between retries. */
export const MAX_RETRY_MS = 30 * 60_000;

/** What the `announce` actor is given; the src side adds uploaded/downloaded/left. */
export interface AnnounceRequest {
  readonly url: string;
  readonly infoHash: Uint8Array;
  /**
   * A hybrid torrent's v2 swarm (BEP 52): the tracker is also announced to under this hash (the first
   * 20 bytes of the SHA-256 info-hash), as libtorrent announces a hybrid under both; that swarm's
   * peers come back apart (AnnounceResponse.v2Peers). Absent: one announce, for `infoHash`.
   */
  readonly otherInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly event: AnnounceEvent;
  readonly numwant?: number;
  readonly key?: string;
  readonly trackerId?: string;
}

/** The peers an answer named: a hybrid's peer in both swarms (BEP 52) is one peer, counted once. */
function distinctPeers(r: AnnounceResponse): number {
  if (r.v2Peers === undefined) return r.peers.length;
  const seen = new Set<string>();
  for (const p of [...r.peers, ...r.v2Peers]) seen.add(`${p.host}:${p.port}`);
  return seen.size;
}

export interface TrackerInput {
  readonly url: string;
  readonly infoHash: Uint8Array;
  /** A hybrid's v2 swarm's hash, announced too (AnnounceRequest.otherInfoHash). */
  readonly otherInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly numwant?: number;
  /** BEP 7 key, chosen once per session by the caller (no randomness inside a machine). */
  readonly key?: string;
}

export type TrackerCommand = { type: 'cmd.start' } | { type: 'cmd.complete' } | { type: 'cmd.stop' };

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
      readonly peerCount: number;
      readonly warning?: string;
    }
  | {
      readonly type: 'tracker.peers';
      readonly url: string;
      readonly peers: readonly TrackerPeer[];
      /** Peers of a hybrid's v2 swarm (hybrid-trackers.machine.ts); absent: the torrent's (v1) swarm. */
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
    };

/** How the machine ended: whether the tracker was told `stopped`. */
export interface TrackerOutput {
  readonly stop: 'announced' | 'failed' | 'skipped';
}

export interface TrackerContext extends TrackerInput {
  stop: TrackerOutput['stop'];
  /** Seconds, from the last response. */
  interval: number | undefined;
  minInterval: number | undefined;
  trackerId: string | undefined;
  /** Consecutive failed announces. */
  failures: number;
  /** A `started` announce succeeded. */
  started: boolean;
  /** The download completed and the tracker has not been told yet. */
  completePending: boolean;
  /** The event of the announce in flight (undefined when none). */
  inFlight: AnnounceEvent | undefined;
}

export function nextEvent(c: Pick<TrackerContext, 'started' | 'completePending'>): AnnounceEvent {
  if (!c.started) return 'started';
  return c.completePending ? 'completed' : 'regular';
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
  },
  guards: {
    /** Worth a `stopped`: a started announce succeeded, or one is in flight and may have landed. */
    mayKnowUs: ({ context }) => context.started || context.inFlight !== undefined,
    /** The download completed while another announce was in flight: tell the tracker now. */
    isCompletePending: ({ context }) => context.started && context.completePending,
  },
  actions: {
    beginAnnounce: assign(({ context }) => ({ inFlight: nextEvent(context) })),
    markComplete: assign({ completePending: true }),
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
      });
      const report: TrackerReport = {
        type: 'tracker.announced',
        url: context.url,
        event: sent,
        interval: r.interval,
        peerCount: distinctPeers(r),
        ...(r.minInterval === undefined ? {} : { minInterval: r.minInterval }),
        ...(r.complete === undefined ? {} : { complete: r.complete }),
        ...(r.incomplete === undefined ? {} : { incomplete: r.incomplete }),
        ...(r.warning === undefined ? {} : { warning: r.warning }),
      };
      enqueue.sendParent(report);
      if (r.peers.length > 0)
        enqueue.sendParent({
          type: 'tracker.peers',
          url: context.url,
          peers: r.peers,
        } satisfies TrackerReport);
      // A hybrid's v2 swarm (BEP 52): the same payload's peers, said apart (dialled with its hash).
      if (r.v2Peers !== undefined && r.v2Peers.length > 0)
        enqueue.sendParent({
          type: 'tracker.peers',
          url: context.url,
          peers: r.v2Peers,
          swarm: 'v2',
        } satisfies TrackerReport);
    }),
    reportFailure: enqueueActions(({ context, event, enqueue }) => {
      const failures = context.failures + 1;
      enqueue.assign({ failures, inFlight: undefined });
      enqueue.sendParent({
        type: 'tracker.failed',
        url: context.url,
        event: context.inFlight ?? 'regular',
        failures,
        retryInMs: retryDelayMs(failures),
        ...errorInfo((event as unknown as { error: unknown }).error),
      } satisfies TrackerReport);
    }),
  },
}).createMachine({
  id: 'tracker',
  context: ({ input }) => ({
    ...input,
    interval: undefined,
    minInterval: undefined,
    trackerId: undefined,
    failures: 0,
    started: false,
    completePending: false,
    inFlight: undefined,
    stop: 'skipped' as const,
  }),
  initial: 'idle',
  on: {
    'cmd.complete': { actions: 'markComplete' },
    'cmd.stop': [{ guard: 'mayKnowUs', target: '.stopping' }, { target: '.stopped' }],
  },
  states: {
    idle: {
      on: { 'cmd.start': 'announcing' },
    },
    announcing: {
      entry: 'beginAnnounce',
      invoke: {
        src: 'announce',
        input: ({ context }) => ({
          url: context.url,
          infoHash: context.infoHash,
          ...(context.otherInfoHash === undefined ? {} : { otherInfoHash: context.otherInfoHash }),
          peerId: context.peerId,
          port: context.port,
          event: nextEvent(context),
          ...(context.numwant === undefined ? {} : { numwant: context.numwant }),
          ...(context.key === undefined ? {} : { key: context.key }),
          ...(context.trackerId === undefined ? {} : { trackerId: context.trackerId }),
        }),
        onDone: { target: 'waiting', actions: 'acceptResponse' },
        onError: { target: 'backoff', actions: 'reportFailure' },
      },
    },
    waiting: {
      always: { guard: 'isCompletePending', target: 'announcing' },
      after: { announceInterval: 'announcing' },
      on: { 'cmd.complete': { target: 'announcing', actions: 'markComplete' } },
    },
    backoff: {
      after: { retryDelay: 'announcing' },
    },
    stopping: {
      invoke: {
        src: 'announce',
        input: ({ context }) => ({
          url: context.url,
          infoHash: context.infoHash,
          ...(context.otherInfoHash === undefined ? {} : { otherInfoHash: context.otherInfoHash }),
          peerId: context.peerId,
          port: context.port,
          event: 'stopped' as const,
          // BEP 3: a stopped announce wants no peers.
          numwant: 0,
          ...(context.key === undefined ? {} : { key: context.key }),
          ...(context.trackerId === undefined ? {} : { trackerId: context.trackerId }),
        }),
        onDone: {
          target: 'stopped',
          actions: assign({ inFlight: undefined, started: false, stop: 'announced' }),
        },
        onError: {
          target: 'stopped',
          actions: assign({ inFlight: undefined, started: false, stop: 'failed' }),
        },
      },
      on: { 'cmd.stop': {}, 'cmd.complete': {} },
    },
    stopped: {
      type: 'final',
    },
  },
  output: ({ context }) => ({ stop: context.stop }),
});
