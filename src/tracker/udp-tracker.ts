/**
 * The UDP tracker client (BEP 15) over node:dgram. One socket per request, connected to the
 * tracker's address (so the kernel filters other senders and an ICMP "port unreachable" comes back
 * as ECONNREFUSED: a dead tracker on a reachable host fails at once instead of after the retries).
 *
 * - connect first; the connection id is valid for one minute (BEP 15) and is cached per tracker
 *   address in the client, so a burst of announces/scrapes connects once.
 * - every request carries a random transaction id (the same for its resends, so a late answer
 *   still counts); an answer with another id or another action, or shorter than its 8-byte header,
 *   is ignored (someone else's, or garbage); one with our id and action but a broken body is
 *   TrackerError 'badResponse' at once (the tracker did answer).
 * - no answer after retryBaseMs · 2^n (BEP 15: 15 s · 2^n) → resend, n = 0 … maxRetries (8);
 *   n resets after each answer (connect, then announce).
 * - action 3 (error) → TrackerError 'failure' with the tracker's message.
 * - an IPv6 tracker address means a udp6 socket and 18-byte peers in the announce answer.
 */
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { IpRangeSet } from '../net/ip-range-set.js';
import type { AnnounceParams, AnnounceResponse } from './announce-types.js';
import { TrackerError } from './tracker-error.js';
import {
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  type ScrapeCounts,
  type UdpResponse,
} from './udp-codec.js';
import { closeQuietly, Exchange, type Expect, newTransactionId, openSocket, resolve } from './udp-socket.js';

/** BEP 15: a client may use a connection id for one minute after it got it. */
export const CONNECTION_ID_TTL_MS = 60_000;
/** BEP 15: resend after 15 · 2^n seconds. */
export const UDP_RETRY_BASE_MS = 15_000;
/** BEP 15: n goes up to 8 (3,840 s). */
export const UDP_MAX_RETRIES = 8;

export interface UdpRequestOptions {
  /** First resend after this (BEP 15: 15 s); tests use a few ms. */
  readonly retryBaseMs?: number;
  /** Highest n in retryBaseMs · 2^n: maxRetries + 1 sends per step at most. */
  readonly maxRetries?: number;
  /** A bound on the whole request (connect + announce), whatever the retry schedule. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The address the request's socket is bound to (`--bind`: src/net/bind-address.ts), an IPv4 one. */
  readonly localAddress?: string;
  /** The user's IP filter: a tracker at (or resolving only to) an address in it is never sent a datagram. */
  readonly blocklist?: IpRangeSet;
}

export interface UdpTrackerTarget {
  readonly host: string;
  readonly port: number;
}

/** Parses `udp://host:port[/path]` (the path, BEP 41, is not sent). */
export function udpTrackerTarget(url: string): UdpTrackerTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new TrackerError('badUrl', `not a URL: ${url}`, { url, cause });
  }
  if (u.protocol !== 'udp:') throw new TrackerError('badUrl', `not a udp tracker: ${url}`, { url });
  const port = Number(u.port);
  if (u.hostname === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new TrackerError('badUrl', `a udp tracker needs a host and a port: ${url}`, { url });
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port };
}

interface Cached {
  readonly id: bigint;
  readonly until: number;
}

export class UdpTrackerClient {
  readonly #ids = new Map<string, Cached>();
  readonly #now: () => number;

  constructor(opts: { readonly now?: () => number } = {}) {
    this.#now = opts.now ?? (() => performance.now());
  }

  announce(url: string, params: AnnounceParams, opts: UdpRequestOptions = {}): Promise<AnnounceResponse> {
    return this.#request(url, opts, 'announce', (id, tx) => encodeAnnounce(id, tx, params)).then(
      (r) => (r as Extract<UdpResponse, { action: 'announce' }>).response,
    );
  }

  scrape(
    url: string,
    infoHashes: readonly Uint8Array[],
    opts: UdpRequestOptions = {},
  ): Promise<ScrapeCounts[]> {
    return this.#request(url, opts, 'scrape', (id, tx) => encodeScrape(id, tx, infoHashes)).then((r) => {
      const files = (r as Extract<UdpResponse, { action: 'scrape' }>).files;
      if (files.length !== infoHashes.length)
        throw new TrackerError(
          'badResponse',
          `udp tracker scraped ${files.length} info-hashes, asked ${infoHashes.length}`,
          { url, actual: files.length, limit: infoHashes.length },
        );
      return [...files];
    });
  }

  /** Forgets every connection id (tests; a changed network). */
  forget(): void {
    this.#ids.clear();
  }

  async #request(
    url: string,
    opts: UdpRequestOptions,
    expect: Expect,
    build: (connectionId: bigint, transactionId: number) => Uint8Array,
  ): Promise<UdpResponse> {
    const target = udpTrackerTarget(url);
    const base = opts.retryBaseMs ?? UDP_RETRY_BASE_MS;
    const maxRetries = opts.maxRetries ?? UDP_MAX_RETRIES;
    const controller = new AbortController();
    const abort = (e: TrackerError) => controller.abort(e);
    const onAbort = () =>
      abort(new TrackerError('aborted', 'udp request aborted', { url, cause: opts.signal?.reason }));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              abort(
                new TrackerError('timeout', `udp tracker did not answer within ${opts.timeoutMs} ms`, {
                  url,
                  limit: opts.timeoutMs,
                }),
              ),
            opts.timeoutMs,
          );
    let socket: Socket | undefined;
    let key: string | undefined;
    try {
      const from = opts.localAddress;
      const blocklist =
        opts.blocklist === undefined || opts.blocklist.size === 0 ? undefined : opts.blocklist;
      const address = await resolve(
        target.host,
        url,
        controller.signal,
        from === undefined ? undefined : 4,
        blocklist,
      );
      const family = isIP(address) === 6 ? 6 : 4;
      // A connection id is the tracker's for one source address (BEP 15 ties it to the client's IP).
      key = `${from ?? ''}|${address}|${target.port}`;
      socket = await openSocket(family, address, target.port, url, controller.signal, from);
      const exchange = new Exchange(socket, family, url, controller.signal);
      let n = 0;
      // One transaction id per step, kept across its resends: a late answer to an earlier send counts.
      let tx = newTransactionId();
      for (;;) {
        const cached = this.#ids.get(key);
        if (cached === undefined || cached.until <= this.#now()) {
          this.#ids.delete(key);
          const r = await exchange.once(encodeConnect(tx), tx, 'connect', base * 2 ** n);
          if (r === undefined) {
            if (++n > maxRetries) throw exchange.giveUp(maxRetries, base);
            continue;
          }
          this.#ids.set(key, {
            id: (r as Extract<UdpResponse, { action: 'connect' }>).connectionId,
            until: this.#now() + CONNECTION_ID_TTL_MS,
          });
          n = 0;
          tx = newTransactionId();
          continue;
        }
        const r = await exchange.once(build(cached.id, tx), tx, expect, base * 2 ** n);
        if (r !== undefined) return r;
        if (++n > maxRetries) throw exchange.giveUp(maxRetries, base);
      }
    } catch (e) {
      // A failure may mean the tracker forgot our connection id (restart): connect afresh next time.
      if (key !== undefined) this.#ids.delete(key);
      throw controller.signal.aborted && !(e instanceof TrackerError && e.code === 'failure')
        ? controller.signal.reason
        : e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (socket !== undefined) closeQuietly(socket);
    }
  }
}

export const defaultUdpTrackerClient = new UdpTrackerClient();

export function udpAnnounce(
  url: string,
  params: AnnounceParams,
  opts?: UdpRequestOptions,
): Promise<AnnounceResponse> {
  return defaultUdpTrackerClient.announce(url, params, opts);
}

export function udpScrape(
  url: string,
  infoHashes: readonly Uint8Array[],
  opts?: UdpRequestOptions,
): Promise<ScrapeCounts[]> {
  return defaultUdpTrackerClient.scrape(url, infoHashes, opts);
}
