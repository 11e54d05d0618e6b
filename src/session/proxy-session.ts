/**
 * A session under a proxy (docs/proxy.md): every TCP connection we make and every HTTP(S) request
 * through it (src/net/proxy-dialer.ts), and what the proxy cannot carry — UDP: uTP, the DHT, Local
 * Service Discovery's multicast (BEP 14), udp:// trackers — off rather than sent around it, as
 * libtorrent's proxied, anonymous setups. Said once
 * (`proxy.udpOff`, said by the caller); each kind of proxy failure said the first time it is met (`proxy.failed`).
 * Several torrents in one process (many-torrents.ts) share one dialer, and the host says both, once
 * for the process. Incoming connections are still taken (libtorrent's default).
 */

import { describeProxy, type ProxySettings } from '../net/proxy.js';
import { ProxyDialer } from '../net/proxy-dialer.js';
import type { DownloadEvent } from './download-event.js';
import type { DownloadOptions } from './download-options.js';

export interface ProxiedSession<O extends DownloadOptions> {
  /** The options with what the proxy cannot carry turned off (the given ones without a proxy). */
  readonly options: O;
  readonly dialer: ProxyDialer | undefined;
  /** Tracker tiers without what the proxy cannot carry (udp://). */
  readonly tiers: (tiers: string[][]) => string[][];
  /** `proxy.udpOff`, for the caller to say where its events begin (after `metadata`). */
  readonly udpOff?: DownloadEvent;
}

export function proxiedSession<O extends DownloadOptions>(
  options: O,
  emit: (e: DownloadEvent) => void,
  udpTrackers: number,
  /** `--bind`'s address, resolved: the connections to the proxy leave from it (a given dialer's own). */
  localAddress?: string,
): ProxiedSession<O> {
  const proxy = options.proxy;
  if (proxy === undefined) return { options, dialer: undefined, tiers: (t) => t };
  // A given dialer (a magnet link's fetch, or the host of several torrents: many-torrents.ts) has
  // said, and says, all there is to say of the proxy.
  const dialer = options.proxyDialer ?? sayingDialer(proxy, emit, localAddress);
  const udpOff = options.proxyDialer === undefined ? udpOffEvent(proxy, options, udpTrackers) : undefined;
  const { dht: _dht, dhtNode: _node, lsd: _lsd, lsdService: _service, ...rest } = options;
  return {
    ...(udpOff === undefined ? {} : { udpOff }),
    options: { ...rest, utp: 'off' } as O,
    dialer,
    tiers: (tiers) =>
      tiers.map((tier) => tier.filter((url) => !/^udp:/i.test(url))).filter((tier) => tier.length > 0),
  };
}

/**
 * A dialer through `proxy` whose failures are said (`proxy.failed`) once per kind, and a host name
 * looked up here under socks5:// once (`proxy.localDns`, the first name).
 */
export function sayingDialer(
  proxy: ProxySettings,
  emit: (e: DownloadEvent) => void,
  localAddress?: string,
): ProxyDialer {
  const said = new Set<string>();
  return new ProxyDialer(proxy, {
    onFailure: (err) => {
      if (said.has(err.code)) return;
      said.add(err.code);
      emit({ type: 'proxy.failed', code: err.code, message: err.message });
    },
    onLocalLookup: (host) => {
      if (said.has('localDns')) return;
      said.add('localDns');
      emit({ type: 'proxy.localDns', proxy: describeProxy(proxy), host });
    },
    localAddress,
  });
}

/**
 * `proxy.udpOff`: what of `options` would have used UDP and is off under the proxy (`udpTrackers`:
 * the udp:// URLs among the trackers); undefined when none would have been on.
 */
export function udpOffEvent(
  proxy: ProxySettings,
  options: Pick<DownloadOptions, 'utp' | 'dht' | 'dhtNode' | 'lsd' | 'lsdService' | 'trackers'>,
  udpTrackers: number,
): DownloadEvent | undefined {
  const off: ('utp' | 'dht' | 'lsd' | 'udpTrackers')[] = [];
  if (options.utp !== 'off') off.push('utp');
  if (options.dht !== undefined || options.dhtNode !== undefined) off.push('dht');
  if (options.lsd !== undefined || options.lsdService !== undefined) off.push('lsd');
  if (udpTrackers > 0 && options.trackers !== false) off.push('udpTrackers');
  return off.length === 0 ? undefined : { type: 'proxy.udpOff', proxy: describeProxy(proxy), off };
}

/** udp:// URLs among the tiers (what a proxy turns off). */
export function countUdpTrackers(tiers: readonly (readonly string[])[]): number {
  return tiers.reduce((n, tier) => n + tier.filter((url) => /^udp:/i.test(url)).length, 0);
}
