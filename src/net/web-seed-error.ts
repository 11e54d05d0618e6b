/**
 * The one error class of a web seed (BEP 19): why one HTTP range could not be had. It closes that
 * seed's connection (socket.closed with this message); the torrent machine retries the seed after a
 * back-off (machines/torrent-web-seeds.ts), or a 503's Retry-After (`retryAfterMs`).
 */

export type WebSeedErrorCode =
  /** An HTTP status we cannot use (404, 500…); 503 carries `retryAfterMs` when the server said. */
  | 'httpStatus'
  /** A 200 for a part of a file (the server ignores Range), or a Content-Range other than asked. */
  | 'badRange'
  /** More bytes than the range asked for (Content-Length, or counted), or fewer before the end. */
  | 'badLength'
  /** Nothing heard for the timeout: no answer, or a body that stalls. */
  | 'timeout'
  /** More than WEB_SEED_MAX_REDIRECTS redirects, or one to something that is not http(s). */
  | 'redirect'
  /** Connection refused, reset, DNS failure… */
  | 'network'
  /**
   * The IP filter (docs/blocklist.md) blocks the server's address, or every address its name
   * resolves to: not contacted (libtorrent filters a web seed's address too).
   */
  | 'blocked';

export class WebSeedError extends Error {
  override readonly name = 'WebSeedError';
  readonly code: WebSeedErrorCode;
  readonly url: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: WebSeedErrorCode,
    message: string,
    details: { url: string; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}
