/**
 * The multitracker machine (machines/tracker-tiers.machine.ts) wired to the real clients: each
 * child tracker's `announce` goes to http-announce.ts or udp-tracker.ts by the URL's scheme
 * (announce-any.ts), with uploaded/downloaded/left read from `stats()` when it is sent.
 *
 * Bounds: an http(s) announce gets `timeoutMs` (15 s); a udp one runs the BEP 15 retry schedule
 * (`udpOptions`) but also within `udpTimeoutMs` (60 s: 15 s, then 30 s more, then give up), so a
 * dead UDP tracker does not hold its tier for an hour. A `stopped` announce — the one that runs
 * while the user waits on Ctrl-C — gets `stopTimeoutMs` (5 s) at most.
 *
 * A hybrid torrent (BEP 52) is announced in each of its two swarms by an `announce` of its own (the
 * tracker machine invokes one per info-hash), each within these bounds on its own.
 */
import { fromPromise } from 'xstate';
import { type AnnounceRequest, trackerMachine } from '../../machines/tracker.machine.js';
import { trackerTiersMachine } from '../../machines/tracker-tiers.machine.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import { announceAny, trackerScheme } from './announce-any.js';
import type { AnnounceResponse } from './announce-types.js';
import { DEFAULT_TRACKER_TIMEOUT_MS } from './http-announce.js';
import type { TransferStats } from './tracker-actor.js';
import type { UdpRequestOptions } from './udp-tracker.js';

export const DEFAULT_UDP_TIMEOUT_MS = 60_000;
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

export interface TrackerTiersActorOptions {
  readonly stats: () => TransferStats;
  /** Bound on one http(s) announce (default 15 s). */
  readonly timeoutMs?: number;
  /** Bound on one udp announce, all retries included (default 60 s). */
  readonly udpTimeoutMs?: number;
  /** Bound on a `stopped` announce, either scheme (default 5 s). */
  readonly stopTimeoutMs?: number;
  /** The BEP 15 retry schedule (tests use a base of a few ms). */
  readonly udpOptions?: Omit<UdpRequestOptions, 'timeoutMs' | 'signal'>;
  /** Every http(s) announce through this proxy; udp trackers refused (announce-any.ts). */
  readonly proxy?: ProxyDialer;
  /** The address every announce goes from (`--bind`: src/net/bind-address.ts). */
  readonly localAddress?: string;
  /**
   * The user's IP filter (docs/blocklist.md): a tracker at a blocked address is never contacted and
   * fails (`blocked`), so its tier moves on as for any failing tracker (libtorrent's
   * apply_ip_filter_to_trackers).
   */
  readonly blocklist?: IpRangeSet;
  /** Replaces announceAny (tests of the wiring). */
  readonly announceFn?: typeof announceAny;
}

export function trackerTiersActor(opts: TrackerTiersActorOptions) {
  const send = opts.announceFn ?? announceAny;
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input, signal }) => {
    const { url, ...rest } = input;
    const timeoutMs =
      input.event === 'stopped'
        ? (opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
        : trackerScheme(url) === 'udp'
          ? (opts.udpTimeoutMs ?? DEFAULT_UDP_TIMEOUT_MS)
          : (opts.timeoutMs ?? DEFAULT_TRACKER_TIMEOUT_MS);
    return send(
      url,
      { ...rest, ...opts.stats() },
      {
        signal,
        timeoutMs,
        ...(opts.udpOptions === undefined ? {} : { udp: opts.udpOptions }),
        ...(opts.proxy === undefined ? {} : { proxy: opts.proxy }),
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
        ...(opts.blocklist === undefined ? {} : { blocklist: opts.blocklist }),
      },
    );
  });
  return trackerTiersMachine.provide({
    actors: { tracker: trackerMachine.provide({ actors: { announce } }) },
  });
}
