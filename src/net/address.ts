/** Peer addresses as `host:port` strings (IPv6 as `[::1]:6881`), parsed and checked. */

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
  readonly code = 'badAddress' as const;
  readonly badInput = true;
}

export function parsePeerAddress(s: string): PeerAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(s);
  if (m === null) throw new AddressError(`not a HOST:PORT peer address: '${s}'`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new AddressError(`port out of range in '${s}'`);
  return { host: m[1]!, port };
}

export function formatPeerAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * The host of `host:port` or `[v6]:port`, lower case, as written (an IPv4 peer accepted on a
 * dual-stack socket stays `::ffff:a.b.c.d`: src/net/ban-key.ts knows it for the IPv4 address).
 */
export function hostOf(address: string): string {
  return (
    address.startsWith('[')
      ? address.slice(1, address.lastIndexOf(']'))
      : address.slice(0, address.lastIndexOf(':'))
  ).toLowerCase();
}

/** `address` ("host:port" or "[v6]:port") with its port replaced by `port`. */
export function withPort(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(':'))}:${port}`;
}

/** One address of a network interface, as `os.networkInterfaces()` lists it. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: string;
}

/**
 * The `host:port` addresses at which a listener bound to `host` on `port` reaches itself: every
 * interface's IPv4 address for '0.0.0.0', every address for '::' (dual-stack), else `host` alone.
 */
export function selfPeerAddresses(
  host: string,
  port: number,
  interfaces: readonly InterfaceAddress[],
): string[] {
  const hosts =
    host === '0.0.0.0'
      ? interfaces.filter((i) => i.family === 'IPv4').map((i) => i.address)
      : host === '::'
        ? interfaces.map((i) => i.address)
        : [host];
  return [...new Set(hosts)].map((h) => formatPeerAddress({ host: h, port }));
}
