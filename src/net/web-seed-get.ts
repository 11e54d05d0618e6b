/**
 * One HTTP(S) range GET of a web seed (BEP 19), node:http/https, no dependencies. Resolves with the
 * response once its head says it is exactly the bytes asked for; the caller streams the body and
 * counts it (web-seed-connection.ts). Bounded:
 *
 * - the head must come within `timeoutMs` of the request (Node's socket timeout);
 * - at most WEB_SEED_MAX_REDIRECTS redirects, to http: or https: only, a redirect's body drained
 *   only when it says it is short (follow-redirects.ts, shared with the trackers' announces);
 * - a 206 must carry `Content-Range: bytes <start>-<end>/<file length or *>` for exactly the range,
 *   and a Content-Length, if any, of exactly its length; a 200 is taken only when the range is the
 *   whole file and its Content-Length (if any) is the file's length — a server that ignores Range
 *   would otherwise send us a whole file for one piece;
 * - identity encoding only (a gzip body would have another length);
 * - a 503's Retry-After (seconds or an HTTP date) is reported, capped at MAX_RETRY_AFTER_MS.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BLOCKED_CODE } from './filtered-lookup.js';
import { followRedirects } from './follow-redirects.js';
import type { IpRangeSet } from './ip-range-set.js';
import { WebSeedError } from './web-seed-error.js';

export const WEB_SEED_MAX_REDIRECTS = 5;
/** No answer, or no body bytes, for this long fails the range (and closes the seed). */
export const WEB_SEED_TIMEOUT_MS = 20_000;
/** A server's Retry-After past this is taken as this (an hour). */
export const MAX_RETRY_AFTER_MS = 3_600_000;
const USER_AGENT = 'bitstate/0.1';

export interface RangeRequest {
  readonly url: string;
  /** First byte in the file, and how many. */
  readonly start: number;
  readonly length: number;
  /** The file's length in the torrent: a Content-Range total must equal it. */
  readonly fileLength: number;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /**
   * Keep-alive agents of this seed's connection (one socket each), destroyed when it closes; with
   * the IP filter, their lookup drops blocked addresses (filtered-lookup.ts: a name resolving only
   * to blocked ones fails `blocked`).
   */
  readonly agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  /** The user's IP filter: a URL (or a redirect) naming a blocked address is not asked. */
  readonly blocklist?: IpRangeSet;
}

/** The response to a range GET, checked as above, and the URL that gave it (after any redirects). */
export async function openRange(r: RangeRequest): Promise<{ response: IncomingMessage; url: string }> {
  const { response, url } = await followRedirects(new URL(r.url), (u) => getOnce(r, u), {
    maxRedirects: WEB_SEED_MAX_REDIRECTS,
    refuse: (_why, detail) => new WebSeedError('redirect', `web seed ${r.url}: ${detail}`, { url: r.url }),
  });
  checkHead(r, url.href, response);
  return { response, url: url.href };
}

function getOnce(r: RangeRequest, u: URL): Promise<IncomingMessage> {
  // An address in the URL is never looked up (Node calls `lookup` for names only): asked here.
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (r.blocklist?.hasHost(host) === true) return Promise.reject(webSeedBlocked(r, u.host));
  const https = u.protocol === 'https:';
  const request = https ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(u, {
      method: 'GET',
      headers: {
        'user-agent': USER_AGENT,
        'accept-encoding': 'identity',
        range: `bytes=${r.start}-${r.start + r.length - 1}`,
      },
      agent: https ? r.agents.https : r.agents.http,
      signal: r.signal,
    });
    req.setTimeout(r.timeoutMs, () =>
      req.destroy(
        new WebSeedError('timeout', `web seed ${r.url}: no answer in ${r.timeoutMs} ms`, { url: r.url }),
      ),
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof WebSeedError) reject(e);
      else if (e.code === BLOCKED_CODE) reject(webSeedBlocked(r, u.host));
      else reject(new WebSeedError('network', `web seed ${r.url}: ${e.message}`, { url: r.url, cause: e }));
    });
    req.on('response', (res) => {
      req.setTimeout(0); // the body's own idle timer is the caller's
      resolve(res);
    });
    req.end();
  });
}

function webSeedBlocked(r: RangeRequest, host: string): WebSeedError {
  return new WebSeedError('blocked', `web seed ${r.url}: ${host} is blocked by the IP filter`, {
    url: r.url,
  });
}

function checkHead(r: RangeRequest, url: string, res: IncomingMessage): void {
  const status = res.statusCode ?? 0;
  const fail = (code: 'httpStatus' | 'badRange' | 'badLength', why: string, retryAfterMs?: number) => {
    res.destroy();
    throw new WebSeedError(code, `web seed ${r.url}: ${why}`, {
      url: r.url,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  };
  const contentLength = res.headers['content-length'];
  const encoding = res.headers['content-encoding'];
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    const end = r.start + r.length - 1;
    if (
      range === null ||
      Number(range[1]) !== r.start ||
      Number(range[2]) !== end ||
      (range[3] !== '*' && Number(range[3]) !== r.fileLength)
    )
      fail(
        'badRange',
        `asked bytes ${r.start}-${end}/${r.fileLength}, got Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)}`,
      );
  } else if (status === 200) {
    if (r.start !== 0 || r.length !== r.fileLength)
      fail(
        'badRange',
        `asked bytes ${r.start}-${r.start + r.length - 1}, got the whole file (200: Range ignored)`,
      );
  } else if (status === 503) {
    fail(
      'httpStatus',
      `HTTP 503${url === r.url ? '' : ` at ${url}`}`,
      retryAfter(res.headers['retry-after']),
    );
  } else fail('httpStatus', `HTTP ${status}${url === r.url ? '' : ` at ${url}`}`);
  if (contentLength !== undefined && Number(contentLength) !== r.length)
    fail('badLength', `asked ${r.length} bytes, Content-Length says ${contentLength}`);
  if (encoding !== undefined && encoding !== 'identity') fail('badLength', `Content-Encoding ${encoding}`);
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; capped; undefined if neither. */
export function retryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // An HTTP date begins with its day's name (IMF-fixdate and both obsolete forms).
    const at = /^[A-Za-z]{3}/.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
