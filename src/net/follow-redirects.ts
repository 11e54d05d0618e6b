/**
 * HTTP redirects (RFC 9110 §15.4) followed the one way bitstate follows them, for its two HTTP
 * clients: a tracker's announce and scrape (src/tracker/http-announce.ts, BEP 3) and a web seed's
 * range GETs (web-seed-get.ts, BEP 19). The caller makes each GET (its headers, agent, timeouts,
 * abort signal); this decides what a response head means:
 *
 * - a 3xx with a Location is a redirect; any other response is the answer, with the URL it came from;
 * - the Location is resolved against the URL that answered, and must be http: or https: (a tracker
 *   or a seed never sends us to file:, ftp: or a data: URL);
 * - at most `maxRedirects` are followed (a loop ends there);
 * - a redirect's body is never read for its bytes: a short one (a Content-Length of at most
 *   MAX_DRAINED_REDIRECT_BYTES) is drained so that a keep-alive socket goes back to its agent, for
 *   at most MAX_DRAIN_MS; any other, or one not ended by then, is destroyed with its socket. Drained unbounded, an endless redirect body held a web
 *   seed's one socket (the redirected GET to the same server waited for it) and stalled a download.
 *
 * Failures are the caller's own typed error (`refuse`): this module has no domain of its own.
 */
import type { IncomingMessage } from 'node:http';

/** A redirect's body up to this long is drained (its socket kept alive); longer ones are cut. */
export const MAX_DRAINED_REDIRECT_BYTES = 64 * 1024;
/** A drained redirect body not ended by then is cut with its socket. */
export const MAX_DRAIN_MS = 2_000;

/** Why a redirect was not followed. */
export type RedirectRefusal =
  /** More than `maxRedirects` in a row. */
  | 'tooMany'
  /** A Location that is not a URL. */
  | 'badLocation'
  /** A Location to another scheme than http: or https:. */
  | 'scheme';

export interface RedirectPolicy {
  readonly maxRedirects: number;
  /** The caller's typed error for a redirect not followed (`detail` is a short explanation). */
  readonly refuse: (why: RedirectRefusal, detail: string) => Error;
}

export interface Followed {
  readonly response: IncomingMessage;
  /** The URL that gave `response`: the one asked, or where the redirects led. */
  readonly url: URL;
}

/** GETs `start` with `get`, following redirects as above, and resolves with the first answer. */
export async function followRedirects(
  start: URL,
  get: (url: URL) => Promise<IncomingMessage>,
  policy: RedirectPolicy,
): Promise<Followed> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const response = await get(url);
    const location = response.headers.location;
    if (!isRedirect(response) || location === undefined) return { response, url };
    dropRedirectBody(response);
    if (hop >= policy.maxRedirects)
      throw policy.refuse('tooMany', `more than ${policy.maxRedirects} redirects`);
    url = redirectTarget(url, location, policy);
  }
}

function isRedirect(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 300 && status < 400;
}

/**
 * Drained when it says it is short, else destroyed with its socket (see above). A drain has
 * MAX_DRAIN_MS: a short body that never comes held its socket for good (the caller's timers had
 * stopped at the head) - a tracker's keep-alive socket per announce, and a web seed's socket, its
 * agent's slot on that host with it (one connection: the redirected GET then queued for ever).
 */
function dropRedirectBody(response: IncomingMessage): void {
  const length = Number(response.headers['content-length'] ?? Number.NaN);
  if (!(length >= 0 && length <= MAX_DRAINED_REDIRECT_BYTES)) return void response.destroy();
  const deadline = setTimeout(() => response.destroy(), MAX_DRAIN_MS);
  deadline.unref();
  response.once('close', () => clearTimeout(deadline));
  response.resume();
}

function redirectTarget(from: URL, location: string, policy: RedirectPolicy): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw policy.refuse('badLocation', `bad redirect ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw policy.refuse('scheme', `redirect to ${next.protocol} refused`);
  return next;
}
