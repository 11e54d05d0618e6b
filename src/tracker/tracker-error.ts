/**
 * The one error class of the tracker domain. `code` is the discriminant; `failure` carries the
 * tracker's own `failure reason` (BEP 3) as the message. `badInput` is true only for a tracker URL
 * that was never usable (the torrent's or the user's fault), not for a tracker that misbehaves.
 */

export type TrackerErrorCode =
  /** The tracker answered with `failure reason`. */
  | 'failure'
  /** The body is not a bencoded announce response (bad bencode, wrong types, peers not a multiple of 6/18). */
  | 'badResponse'
  /** The body exceeded MAX_TRACKER_BODY_BYTES. */
  | 'tooLarge'
  /** No complete answer within the timeout. */
  | 'timeout'
  /** The caller aborted (AbortSignal). */
  | 'aborted'
  /** An HTTP status other than 200 without a bencoded failure reason. */
  | 'httpStatus'
  /** More than MAX_REDIRECTS redirects, or a redirect to something that is not http(s). */
  | 'redirect'
  /** Connection refused, reset, DNS failure… */
  | 'network'
  /** Not an http(s) or udp URL. */
  | 'badUrl'
  /** The tracker has no scrape URL (BEP 48: the announce path does not end in `announce…`). */
  | 'noScrape'
  /** A udp tracker under a proxy: no proxy we speak carries UDP, and nothing goes around it. */
  | 'proxyNoUdp'
  /**
   * The IP filter (docs/blocklist.md) blocks the tracker's address, or every address its name
   * resolves to: never contacted (libtorrent's apply_ip_filter_to_trackers, banned_by_ip_filter).
   */
  | 'blocked';

export interface TrackerErrorDetails {
  readonly url?: string;
  readonly status?: number;
  readonly limit?: number;
  readonly actual?: number;
  readonly cause?: unknown;
}

export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  readonly code: TrackerErrorCode;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly limit: number | undefined;
  readonly actual: number | undefined;
  readonly badInput: boolean;

  constructor(code: TrackerErrorCode, message: string, details: TrackerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
    this.limit = details.limit;
    this.actual = details.actual;
    this.badInput = code === 'badUrl';
  }
}

/** A tracker the IP filter blocks (`host`: the URL's, an address or a name resolving only to blocked ones). */
export function trackerBlocked(url: string, host: string): TrackerError {
  return new TrackerError('blocked', `tracker ${host} is blocked by the IP filter`, { url });
}
