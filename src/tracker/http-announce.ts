/**
 * One HTTP(S) announce (BEP 3) with node:http/https, no dependencies. Bounded: the whole exchange
 * (connect, redirects, body) must finish within `timeoutMs`, the body may not exceed
 * MAX_TRACKER_BODY_BYTES (checked against Content-Length first, then while streaming), and at most
 * MAX_REDIRECTS redirects are followed (some trackers move http → https), as follow-redirects.ts
 * follows them.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BLOCKED_CODE, filteredLookup } from '../net/filtered-lookup.js';
import { followRedirects } from '../net/follow-redirects.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import { proxiedAgent } from '../net/proxied-agent.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import type { AnnounceParams, AnnounceResponse } from './announce-types.js';
import { announceUrl, trackerUrl } from './announce-url.js';
import { parseAnnounceResponse } from './parse-announce-response.js';
import { TrackerError, trackerBlocked } from './tracker-error.js';

/** Largest tracker answer read: ~170,000 compact peers, far more than any tracker sends. */
export const MAX_TRACKER_BODY_BYTES = 1 << 20;
export const DEFAULT_TRACKER_TIMEOUT_MS = 15_000;
export const MAX_REDIRECTS = 3;
export const USER_AGENT = 'bitstate/0.1';

export interface AnnounceOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly maxBodyBytes?: number;
  /** The request through this proxy (proxy-dialer.ts; a tunnel, TLS inside it for https). */
  readonly proxy?: ProxyDialer;
  /**
   * The address the request goes from (`--bind`: src/net/bind-address.ts), an IPv4 one: the
   * tracker's name is then looked up for IPv4 only. Redirects are followed from it too. Through a
   * proxy, the proxy dialer's own address is used instead (the connection to the proxy leaves from it).
   */
  readonly localAddress?: string;
  /**
   * The user's IP filter (docs/blocklist.md): a tracker whose address is in it, or whose name
   * resolves only to addresses in it (a redirect's too), is never contacted (TrackerError
   * `blocked`). Through a proxy, a name it resolves (socks5h://, socks4a://, http://) is not seen:
   * only an address in the URL is checked; a name looked up here (socks5://) is filtered as without.
   */
  readonly blocklist?: IpRangeSet;
}

export interface Fetched {
  readonly status: number;
  readonly body: Uint8Array;
}

/**
 * One bounded GET of a tracker URL (announce or scrape), following redirects to http(s) only
 * (src/net/follow-redirects.ts, the web seeds' rule too), its body read up to `maxBody` bytes.
 */
export async function fetchTracker(
  url: string,
  maxBody: number,
  signal: AbortSignal,
  maxRedirects: number,
  proxy?: ProxyDialer,
  localAddress?: string,
  blocklist?: IpRangeSet,
): Promise<Fetched> {
  const filter = blocklist === undefined || blocklist.size === 0 ? undefined : blocklist;
  const { response } = await followRedirects(
    trackerUrl(url),
    (u) => getOnce(u, url, signal, proxy, localAddress, filter),
    {
      maxRedirects,
      refuse: (why, detail) =>
        new TrackerError(
          'redirect',
          why === 'tooMany' ? `tracker redirected more than ${maxRedirects} times` : `tracker: ${detail}`,
          { url },
        ),
    },
  );
  return readBody(response, url, maxBody, signal);
}

/** The response head of one GET of `u` (a redirect or the answer); network failures as TrackerErrors. */
function getOnce(
  u: URL,
  url: string,
  signal: AbortSignal,
  proxy: ProxyDialer | undefined,
  localAddress?: string,
  blocklist?: IpRangeSet,
): Promise<IncomingMessage> {
  // An address in the URL is never looked up (Node calls `lookup` for names only): asked here.
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (blocklist?.hasHost(host) === true) return Promise.reject(trackerBlocked(url, u.host));
  const https = u.protocol === 'https:';
  const request = https ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(u, {
      method: 'GET',
      // Identity encoding: a gzip body would bypass the size limit until inflated.
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', connection: 'close' },
      // A socket of our own, never pooled: Node 20's global agent keeps sockets alive despite
      // `connection: close`, and reused one a tracker had closed after answering without saying so
      // ("socket hang up" on every second announce; `stopped` never arrived). Through a proxy, an
      // agent of one tunnel, as unpooled, dropped with the request (its abort: the timeout); its
      // dialer's --bind address the tunnel's source.
      agent: proxy === undefined ? false : proxiedAgent(proxy.filtering(blocklist), https, {}, signal),
      ...(localAddress === undefined || proxy !== undefined ? {} : { localAddress, family: 4 }),
      ...(blocklist === undefined || proxy !== undefined ? {} : { lookup: filteredLookup(blocklist) }),
      signal,
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(signal.reason);
      else if (e.code === BLOCKED_CODE) reject(trackerBlocked(url, u.host));
      else reject(new TrackerError('network', `tracker ${u.host}: ${e.message}`, { url, cause: e }));
    });
    req.on('response', resolve);
    req.end();
  });
}

/** The body, at most `maxBody` bytes (checked against Content-Length first, then while streaming). */
function readBody(res: IncomingMessage, url: string, maxBody: number, signal: AbortSignal): Promise<Fetched> {
  const status = res.statusCode ?? 0;
  const tooLarge = (actual: number) =>
    new TrackerError('tooLarge', `tracker response over ${maxBody} bytes`, { url, limit: maxBody, actual });
  return new Promise<Fetched>((resolve, reject) => {
    const declared = Number(res.headers['content-length'] ?? '0');
    if (declared > maxBody) {
      res.destroy();
      return reject(tooLarge(declared));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) return void chunks.push(chunk);
      res.destroy();
      reject(tooLarge(size));
    });
    res.on('error', (e) =>
      reject(
        signal.aborted
          ? signal.reason
          : new TrackerError('network', `tracker: ${e.message}`, { url, cause: e }),
      ),
    );
    res.on('end', () => resolve({ status, body: Buffer.concat(chunks, size) }));
  });
}

/** Announces to an http(s) tracker and returns its parsed answer; every failure is a TrackerError. */
export async function announce(
  url: string,
  params: AnnounceParams,
  opts: AnnounceOptions = {},
): Promise<AnnounceResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TRACKER_TIMEOUT_MS;
  const target = announceUrl(url, params);
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new TrackerError('timeout', `tracker did not answer within ${timeoutMs} ms`, {
          url,
          limit: timeoutMs,
        }),
      ),
    timeoutMs,
  );
  const onAbort = () =>
    controller.abort(new TrackerError('aborted', 'announce aborted', { url, cause: opts.signal?.reason }));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { status, body } = await fetchTracker(
      target,
      opts.maxBodyBytes ?? MAX_TRACKER_BODY_BYTES,
      controller.signal,
      MAX_REDIRECTS,
      opts.proxy,
      opts.localAddress,
      opts.blocklist,
    );
    if (status === 200) return parseAnnounceResponse(body);
    // Some trackers answer 4xx with a bencoded failure reason: prefer the tracker's own words.
    let parsed: TrackerError | undefined;
    try {
      parseAnnounceResponse(body);
    } catch (e) {
      if (e instanceof TrackerError && e.code === 'failure') parsed = e;
    }
    throw parsed ?? new TrackerError('httpStatus', `tracker answered HTTP ${status}`, { url, status });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
