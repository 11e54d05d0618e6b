/**
 * One announce to any tracker, the client chosen by the URL's scheme: http(s) → http-announce.ts
 * (BEP 3), udp → udp-tracker.ts (BEP 15). Anything else is TrackerError 'badUrl' (e.g. wss://,
 * WebTorrent's trackers, which a TCP client cannot use).
 */
import type { AnnounceParams, AnnounceResponse } from './announce-types.js';
import { type AnnounceOptions, announce as httpAnnounce } from './http-announce.js';
import { TrackerError } from './tracker-error.js';
import { type UdpRequestOptions, udpAnnounce } from './udp-tracker.js';

export interface AnyAnnounceOptions extends AnnounceOptions {
  /** UDP only: the BEP 15 retry schedule; `timeoutMs` still bounds the whole request. */
  readonly udp?: Omit<UdpRequestOptions, 'timeoutMs' | 'signal'>;
}

export type TrackerScheme = 'http' | 'udp';

/** 'http' for http: and https:, 'udp' for udp:, undefined for anything we cannot announce to. */
export function trackerScheme(url: string): TrackerScheme | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 'udp') return 'udp';
  return undefined;
}

export function announceAny(
  url: string,
  params: AnnounceParams,
  opts: AnyAnnounceOptions = {},
): Promise<AnnounceResponse> {
  switch (trackerScheme(url)) {
    case 'http':
      return httpAnnounce(url, params, opts);
    case 'udp':
      // No proxy here carries UDP: refused rather than sent around the proxy (docs/proxy.md).
      if (opts.proxy !== undefined)
        return Promise.reject(
          new TrackerError('proxyNoUdp', `a udp tracker cannot be reached through the proxy: ${url}`, {
            url,
          }),
        );
      return udpAnnounce(url, params, {
        ...opts.udp,
        ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
        ...(opts.blocklist === undefined ? {} : { blocklist: opts.blocklist }),
      });
    default:
      return Promise.reject(new TrackerError('badUrl', `not an http(s) or udp tracker: ${url}`, { url }));
  }
}
