/**
 * The `event` an announce carries (BEP 3, BEP 21), for one swarm of one tracker: `started` until
 * the tracker answered one, `completed` once after the download completed, else a regular
 * announce (no event) — and, while we are a partial seed (BEP 21: every piece we want verified,
 * not every piece of the torrent: a `--select` / `--only` download that seeds on), `paused` in every
 * announce but `stopped`, so the tracker can count us apart from the peers still downloading.
 *
 * As libtorrent 2.0's announce_with_tracker: an announce of no event is turned into `paused` when
 * the torrent is finished but not a seed, before `started` or `completed` would be chosen — so a
 * partial seed from the start never sends `started` (its first announce is `paused`), and a partial
 * seed never sends `completed` (that is sent only by a seed: is_seed()). Measured against
 * python3-libtorrent 2.0.8 on 127.0.0.1: HTTP `event=paused`, UDP event 4, `left` the bytes of
 * every piece it lacks; no announce at the moment it becomes a partial seed (its next regular one
 * says `paused`); `stopped` stays `stopped`.
 *
 * Better than libtorrent: not every tracker takes `paused` (chihaya fails both `event=paused` and
 * UDP event 4; aquatic's HTTP tracker fails `event=paused`), and a partial seed of libtorrent's then
 * fails every announce there. When a tracker answers a `paused` announce with a failure (HTTP
 * `failure reason`, UDP action 3: TrackerError 'failure'), and only then, we announce to it again at
 * once with no event (BEP 3's regular announce, the same `left`) and send it no `paused` for the
 * rest of the session (pausedRefusedBy, then `pausedRefused` in AnnounceEventState). A timeout or a
 * refused connection says nothing of `paused`: it backs off as any failure.
 *
 * And whether a swarm is owed a `stopped` (v1MayKnowUs, v2MayKnowUs).
 *
 * Pure: the tracker machine (tracker.machine.ts) keeps the state, this says what it means.
 */
import type { AnnounceEvent } from '../src/tracker/announce-types.js';

/** What decides one swarm's next event. */
export interface AnnounceEventState {
  /** The tracker answered an announce of ours in this swarm (a `started`, or a partial seed's `paused`). */
  readonly started: boolean;
  /** The download completed and this swarm has not heard `completed` (never true for a partial seed). */
  readonly completePending: boolean;
  /** BEP 21: we are a partial seed. */
  readonly partialSeed: boolean;
  /** This tracker failed a `paused` announce of ours (pausedRefusedBy): a partial seed's announces carry no event. */
  readonly pausedRefused?: boolean;
}

/** The event of a swarm's next announce (not `stopped`: that one is the stop's own). */
export function announceEvent(s: AnnounceEventState): AnnounceEvent {
  if (s.partialSeed) return s.pausedRefused === true ? 'regular' : 'paused';
  if (!s.started) return 'started';
  return s.completePending ? 'completed' : 'regular';
}

/**
 * `completed` is owed and may go now: the swarm's `started` was answered and we are no partial seed.
 * The tracker machine then announces at once instead of waiting its interval.
 */
export function owesCompleted(s: AnnounceEventState): boolean {
  return s.started && s.completePending && !s.partialSeed;
}

/**
 * The tracker failed an announce of ours that said `paused` (`sent`) with its own words (`code`
 * 'failure': an HTTP `failure reason`, a UDP error action 3): take it for a tracker that does not know
 * `paused` (chihaya, aquatic), announce again at once with no event, and send it no more `paused`.
 * Any other failure, or a failure of an announce that said something else, is today's: backoff. The
 * event-less announce that follows cannot be refused so: no loop.
 */
export function pausedRefusedBy(sent: AnnounceEvent | undefined, code: string | undefined): boolean {
  return sent === 'paused' && code === 'failure';
}

/** The tracker machine's fields for a hybrid's v2 swarm (BEP 52). */
interface V2Fields {
  readonly v2Started: boolean;
  readonly v2CompletePending: boolean;
  readonly partialSeed: boolean;
  readonly pausedRefused?: boolean;
}

/**
 * A hybrid's v2 swarm's state: its own `started` and `completed`, as the v1 swarm has its own
 * (libtorrent keeps start_sent and complete_sent per info-hash). A v2 announce still under way when
 * the download completes, or one that has not yet taken a `started`, does not lose the `completed`.
 */
export function v2State(c: V2Fields): AnnounceEventState {
  return {
    started: c.v2Started,
    completePending: c.v2CompletePending,
    partialSeed: c.partialSeed,
    ...(c.pausedRefused === true ? { pausedRefused: true } : {}),
  };
}

/** The v2 swarm's next event. */
export function v2Event(c: V2Fields): AnnounceEvent {
  return announceEvent(v2State(c));
}

/**
 * Worth a `stopped` in the torrent's (v1) swarm: its own `started` succeeded, or an announce of it
 * is in flight and may have landed.
 */
export function v1MayKnowUs(c: {
  readonly started: boolean;
  readonly inFlight: AnnounceEvent | undefined;
}): boolean {
  return c.started || c.inFlight !== undefined;
}

/**
 * Worth a `stopped` in a hybrid's v2 swarm: its own `started` succeeded, or its announce is in
 * flight. A v2 swarm that never took a `started` (a tracker that refuses the v2 hash) is not sent
 * one: libtorrent 2.0.8 likewise sends a hybrid's `stopped` only under the hashes whose `started`
 * was answered (seen against a local tracker failing the v2 one), and a v2 `stopped` a silent
 * tracker never answers would hold a Ctrl-C for the whole stop bound (5 s).
 */
export function v2MayKnowUs(c: {
  readonly v2Started: boolean;
  readonly v2InFlight: AnnounceEvent | undefined;
}): boolean {
  return c.v2Started || c.v2InFlight !== undefined;
}
