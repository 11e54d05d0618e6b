/**
 * One HTTP(S) range GET of a web seed (BEP 19), node:http/https, no dependencies. Resolves with the
 * response once its head says it is exactly the bytes asked for; the caller streams the body and
 * counts it (web-seed-connection.ts). Bounded:
 *
 * - the head must come within `timeoutMs` of the request (Node's socket timeout);
 * - at most WEB_SEED_MAX_REDIRECTS redirects, to http: or https: only (a loop ends there too); a
 *   redirect's body is drained only when it says it is short, else cut with its socket;
 * - a 206 must carry `Content-Range: bytes <start>-<end>/<file length or *>` for exactly the range,
 *   and a Content-Length, if any, of exactly its length; a 200 is taken only when the range is the
 *   whole file and its Content-Length (if any) is the file's length — a server that ignores Range
 *   would otherwise send us a whole file for one piece;
 * - identity encoding only (a gzip body would have another length);
 * - a 503's Retry-After (seconds or an HTTP date) is reported, capped at MAX_RETRY_AFTER_MS.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { WebSeedError } from './web-seed-error.js';

export const WEB_SEED_MAX_REDIRECTS = 5;
/** No answer, or no body bytes, for this long fails the range (and closes the seed). */
export const WEB_SEED_TIMEOUT_MS = 20_000;
/** A server's Retry-After past this is taken as this (an hour). */
export const MAX_RETRY_AFTER_MS = 3_600_000;
const USER_AGENT = 'bitstate/0.1';
/** A redirect's body up to this long is drained (its socket kept alive); longer ones are cut. */
export const MAX_DRAINED_REDIRECT_BYTES = 64 * 1024;

export interface RangeRequest {
  readonly url: string;
  /** First byte in the file, and how many. */
  readonly start: number;
  readonly length: number;
  /** The file's length in the torrent: a Content-Range total must equal it. */
  readonly fileLength: number;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Keep-alive agents of this seed's connection (one socket each), destroyed when it closes. */
  readonly agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
}

/** The response to a range GET, checked as above; its body is `length` bytes (the caller counts). */
export async function openRange(r: RangeRequest): Promise<IncomingMessage> {
  let url = r.url;
  for (let hop = 0; ; hop++) {
    const res = await getOnce(r, url);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      dropRedirectBody(res);
      if (hop >= WEB_SEED_MAX_REDIRECTS)
        throw new WebSeedError(
          'redirect',
          `web seed ${r.url}: more than ${WEB_SEED_MAX_REDIRECTS} redirects`,
          {
            url: r.url,
            status,
          },
        );
      url = redirectTarget(r.url, url, res.headers.location);
      continue;
    }
    checkHead(r, url, res);
    return res;
  }
}

/**
 * A redirect's body is never read for its bytes: a short one (a Content-Length of at most
 * MAX_DRAINED_REDIRECT_BYTES) is drained so its socket goes back to the agent; any other is
 * destroyed with its socket. Drained unbounded, an endless body held the seed's one socket (the
 * redirected GET to the same server waited for it) and stalled the download.
 */
function dropRedirectBody(res: IncomingMessage): void {
  const length = Number(res.headers['content-length'] ?? Number.NaN);
  if (length >= 0 && length <= MAX_DRAINED_REDIRECT_BYTES) res.resume();
  else res.destroy();
}

function redirectTarget(original: string, from: string, location: string): string {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new WebSeedError('redirect', `web seed ${original}: bad redirect ${JSON.stringify(location)}`, {
      url: original,
    });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw new WebSeedError('redirect', `web seed ${original}: redirect to ${next.protocol} refused`, {
      url: original,
    });
  return next.href;
}

function getOnce(r: RangeRequest, url: string): Promise<IncomingMessage> {
  const u = new URL(url);
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
    req.on('error', (e) => {
      if (e instanceof WebSeedError) reject(e);
      else reject(new WebSeedError('network', `web seed ${r.url}: ${e.message}`, { url: r.url, cause: e }));
    });
    req.on('response', (res) => {
      req.setTimeout(0); // the body's own idle timer is the caller's
      resolve(res);
    });
    req.end();
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
