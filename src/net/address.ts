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
