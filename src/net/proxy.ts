/**
 * A proxy for the connections we make (qBittorrent's "Connection > Proxy", aria2's --all-proxy):
 * its URL read and checked, and which handshake reaches a target through it. The schemes mean what
 * they mean to curl:
 * - `socks5://` SOCKS5 (RFC 1928), host names resolved here and sent as addresses;
 * - `socks5h://` SOCKS5, host names sent for the proxy to resolve;
 * - `socks4a://` SOCKS4 with 4A's names resolved by the proxy (IPv4 only);
 * - `http://` an HTTP proxy's CONNECT tunnel, the proxy resolving names.
 * `user:password@` before the host: RFC 1929 for SOCKS5, SOCKS4's user id, Basic for HTTP.
 * None of these carries UDP: under a proxy uTP, the DHT and UDP trackers are off (docs/proxy.md).
 */
import { isIP } from 'node:net';
import { HttpConnectHandshake } from './http-connect.js';
import type { ProxyHandshake } from './proxy-handshake.js';
import { Socks4aHandshake } from './socks4a-handshake.js';
import { Socks5Handshake } from './socks5-handshake.js';

export const PROXY_PROTOCOLS = ['socks5', 'socks5h', 'socks4a', 'http'] as const;
export type ProxyProtocol = (typeof PROXY_PROTOCOLS)[number];

export interface ProxySettings {
  readonly protocol: ProxyProtocol;
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
}

/** A proxy URL we cannot use (the CLI's usage error, exit 2). */
export class ProxyUrlError extends Error {
  override readonly name = 'ProxyUrlError';
  readonly code = 'badProxyUrl' as const;
  readonly badInput = true;
}

/** The port a URL without one means: SOCKS's 1080, an HTTP proxy's usual 8080. */
const DEFAULT_PORTS: Record<ProxyProtocol, number> = {
  socks5: 1080,
  socks5h: 1080,
  socks4a: 1080,
  http: 8080,
};

/** `scheme://[user[:password]@]host[:port]`, nothing after but an optional `/`. */
export function parseProxyUrl(s: string): ProxySettings {
  const bad = (why: string) =>
    new ProxyUrlError(
      `--proxy: ${why} (want socks5://, socks5h://, socks4a:// or http://[user:password@]host:port): ${JSON.stringify(withoutPassword(s))}`,
    );
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw bad('not a URL');
  }
  const protocol = u.protocol.slice(0, -1).toLowerCase();
  if (!(PROXY_PROTOCOLS as readonly string[]).includes(protocol)) throw bad(`no ${protocol}:// proxies`);
  if (u.hostname === '') throw bad('no host');
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '')
    throw bad('a proxy URL has no path, query or fragment');
  const p = protocol as ProxyProtocol;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (user === '' && password !== '') throw bad('a password without a user name');
  if (p === 'socks5' || p === 'socks5h') {
    if (Buffer.byteLength(user) > 255 || Buffer.byteLength(password) > 255)
      throw bad('SOCKS5 user name and password are at most 255 bytes each');
    if (user !== '' && password === '') throw bad('SOCKS5 wants a password with the user name');
  }
  if (p === 'socks4a' && password !== '') throw bad('SOCKS4a has a user id, no password');
  return {
    protocol: p,
    host,
    port: u.port === '' ? DEFAULT_PORTS[p] : Number(u.port),
    ...(user === '' ? {} : { user }),
    ...(password === '' ? {} : { password }),
  };
}

/**
 * A URL as given, all between the user name's `:` and the last `@` (the password, whatever it
 * holds) shown as `***`: a URL we refuse is echoed in the usage error, and the process's command
 * line is rewritten so (src/cli/proxy-title.ts). As loose as the URL parser that reads the
 * password (WHATWG): a user name may hold `@` (an e-mail address: the last `@` ends the
 * credentials), `http:` may come with no slashes or with backslashes, a newline is dropped.
 */
export function withoutPassword(s: string): string {
  return s.replace(/^([^:]*:[/\\]*[^:]*:)[\s\S]*@/, '$1***@');
}

/** The proxy as it may be printed: its credentials left out. */
export function describeProxy(p: ProxySettings): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return `${p.protocol}://${p.user === undefined ? '' : `${p.user}:***@`}${host}:${p.port}`;
}

/**
 * Whether a target's name is looked up here before the handshake (socks5://, curl's meaning);
 * every other scheme hands the name to the proxy.
 */
export function resolvesLocally(p: ProxySettings, host: string): boolean {
  return p.protocol === 'socks5' && isIP(host) === 0;
}

/** The handshake that asks the proxy for a tunnel to `host:port` (an address, or a name it resolves). */
export function proxyHandshake(p: ProxySettings, host: string, port: number): ProxyHandshake {
  const credentials = p.user === undefined ? undefined : { user: p.user, password: p.password ?? '' };
  switch (p.protocol) {
    case 'socks5':
    case 'socks5h':
      return new Socks5Handshake(host, port, credentials);
    case 'socks4a':
      return new Socks4aHandshake(host, port, p.user);
    case 'http':
      return new HttpConnectHandshake(host, port, credentials);
  }
}
