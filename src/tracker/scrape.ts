/**
 * Scrape: how many seeders, leechers and completed downloads a tracker counts for info-hashes.
 *
 * HTTP (BEP 48): GET <scrape URL>?info_hash=<20 bytes %-encoded>[&info_hash=…], where the scrape
 * URL is the announce URL with its last path segment `announce…` turned into `scrape…`; the answer
 *
 *   d5:filesd20:<info-hash>d8:completei5e10:downloadedi50e10:incompletei10eeee
 *
 * UDP (BEP 15): action 2, see udp-codec.ts. `scrape()` picks the client by the URL's scheme.
 */
import { BencodeDict, type BencodeValue, bdecode, latin1 } from '../metainfo/bdecode.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import { percentEncodeBytes, scrapeUrl } from './announce-url.js';
import {
  DEFAULT_TRACKER_TIMEOUT_MS,
  fetchTracker,
  MAX_REDIRECTS,
  MAX_TRACKER_BODY_BYTES,
} from './http-announce.js';
import { MAX_TRACKER_TOKENS } from './parse-announce-response.js';
import { TrackerError } from './tracker-error.js';
import type { ScrapeCounts } from './udp-codec.js';
import { type UdpRequestOptions, udpScrape } from './udp-tracker.js';

export type { ScrapeCounts } from './udp-codec.js';

export interface ScrapeOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** UDP only: the BEP 15 retry schedule (see udp-tracker.ts). */
  readonly udp?: Omit<UdpRequestOptions, 'timeoutMs' | 'signal'>;
  /** An http(s) scrape through this proxy; a udp one is refused under it (no proxy here carries UDP). */
  readonly proxy?: ProxyDialer;
}

function bad(message: string): TrackerError {
  return new TrackerError('badResponse', `scrape response: ${message}`);
}

function count(d: BencodeDict, key: string): number {
  const v = d.get(key);
  if (v === undefined) return 0;
  if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
    throw bad(`'${key}' is not a non-negative integer`);
  return Number(v);
}

/** The counts for each of `infoHashes`, in order; a hash the tracker does not list counts zero. */
export function parseScrapeResponse(body: Uint8Array, infoHashes: readonly Uint8Array[]): ScrapeCounts[] {
  let root: BencodeValue;
  try {
    root = bdecode(body, { maxTokens: MAX_TRACKER_TOKENS });
  } catch (cause) {
    throw new TrackerError('badResponse', `scrape response: not bencode (${(cause as Error).message})`, {
      cause,
    });
  }
  if (!(root instanceof BencodeDict)) throw bad('not a dictionary');
  const failure = root.get('failure reason');
  if (failure instanceof Uint8Array)
    throw new TrackerError('failure', new TextDecoder().decode(failure).slice(0, 512));
  const files = root.get('files');
  if (!(files instanceof BencodeDict)) throw bad("no 'files' dictionary");
  return infoHashes.map((h) => {
    const entry = files.get(latin1(h));
    if (entry === undefined) return { complete: 0, incomplete: 0, downloaded: 0 };
    if (!(entry instanceof BencodeDict)) throw bad('a file entry is not a dictionary');
    return {
      complete: count(entry, 'complete'),
      incomplete: count(entry, 'incomplete'),
      downloaded: count(entry, 'downloaded'),
    };
  });
}

export async function httpScrape(
  announce: string,
  infoHashes: readonly Uint8Array[],
  opts: ScrapeOptions = {},
): Promise<ScrapeCounts[]> {
  const base = scrapeUrl(announce);
  if (base === undefined)
    throw new TrackerError(
      'noScrape',
      `tracker has no scrape URL (its path does not end in announce): ${announce}`,
      {
        url: announce,
      },
    );
  const query = infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&');
  const target = `${base}${base.includes('?') ? '&' : '?'}${query}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TRACKER_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new TrackerError('timeout', `tracker did not answer a scrape within ${timeoutMs} ms`, {
          url: announce,
          limit: timeoutMs,
        }),
      ),
    timeoutMs,
  );
  const onAbort = () =>
    controller.abort(
      new TrackerError('aborted', 'scrape aborted', { url: announce, cause: opts.signal?.reason }),
    );
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { status, body } = await fetchTracker(
      target,
      MAX_TRACKER_BODY_BYTES,
      controller.signal,
      MAX_REDIRECTS,
      opts.proxy,
    );
    if (status !== 200)
      throw new TrackerError('httpStatus', `tracker answered a scrape with HTTP ${status}`, {
        url: announce,
        status,
      });
    return parseScrapeResponse(body, infoHashes);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Scrapes an http(s) or udp tracker, by the URL's scheme. */
export function scrape(
  url: string,
  infoHashes: readonly Uint8Array[],
  opts: ScrapeOptions = {},
): Promise<ScrapeCounts[]> {
  if (/^udp:/i.test(url) && opts.proxy !== undefined)
    return Promise.reject(
      new TrackerError('proxyNoUdp', `a udp tracker cannot be reached through the proxy: ${url}`, { url }),
    );
  if (/^udp:/i.test(url))
    return udpScrape(url, infoHashes, {
      ...opts.udp,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  return httpScrape(url, infoHashes, opts);
}
