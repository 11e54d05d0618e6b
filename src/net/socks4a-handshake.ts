/**
 * A SOCKS4a client's CONNECT (SOCKS 4 with the 4A extension: the proxy resolves a name); pure
 * (proxy-handshake.ts). One request, one 8-byte reply: 90 granted, 91 rejected or failed, 92 and 93
 * the proxy's identd check. IPv4 targets are sent as addresses, names as 4A's 0.0.0.1 and the name;
 * SOCKS4 has no IPv6.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ProxyError } from './proxy-error.js';
import { type HandshakeStep, type ProxyHandshake, ReplyReader } from './proxy-handshake.js';

export const SOCKS4_REPLY_BYTES = 8;

export class Socks4aHandshake implements ProxyHandshake {
  readonly #request: Uint8Array;
  readonly #reply = new ReplyReader(SOCKS4_REPLY_BYTES);
  #done = false;

  /** `user`: the request's USERID (a URL's user name; empty without one). */
  constructor(host: string, port: number, user = '') {
    if (isIPv6(host))
      throw new ProxyError('proxyUnsupported', `SOCKS4a cannot reach an IPv6 address (${host})`);
    const name = Buffer.from(host);
    const id = Buffer.from(user);
    if (name.length > 255 || id.length > 255 || id.includes(0) || name.includes(0))
      throw new ProxyError('proxyUnsupported', 'a host or user name SOCKS4a cannot carry');
    const ip = isIPv4(host) ? host.split('.').map(Number) : [0, 0, 0, 1];
    this.#request = Uint8Array.of(
      4,
      1,
      port >> 8,
      port & 0xff,
      ...ip,
      ...id,
      0,
      ...(isIPv4(host) ? [] : [...name, 0]),
    );
  }

  start(): Uint8Array {
    return this.#request;
  }

  push(chunk: Uint8Array): HandshakeStep {
    if (this.#done) throw new ProxyError('proxyProtocol', 'SOCKS4a handshake already done');
    const rest = this.#reply.fill(chunk, SOCKS4_REPLY_BYTES);
    if (this.#reply.length < SOCKS4_REPLY_BYTES) return { kind: 'wait' };
    const [vn, cd] = this.#reply.bytes;
    if (vn !== 0) throw new ProxyError('proxyProtocol', `not a SOCKS4 reply (version ${vn})`);
    if (cd === 91) throw new ProxyError('proxyRefused', 'SOCKS4a proxy: request rejected or failed');
    if (cd === 92 || cd === 93)
      throw new ProxyError('proxyAuth', 'SOCKS4a proxy: the identd check of our user id failed');
    if (cd !== 90) throw new ProxyError('proxyProtocol', `SOCKS4a proxy: unknown reply ${cd}`);
    this.#done = true;
    return { kind: 'done', rest };
  }
}
