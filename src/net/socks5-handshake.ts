/**
 * A SOCKS5 client's side of the CONNECT handshake (RFC 1928), with RFC 1929's user name and
 * password when the proxy asks for them; pure (proxy-handshake.ts). The method selection, the
 * sub-negotiation and the request each wait for the proxy's reply; a reply is at most
 * SOCKS5_MAX_REPLY_BYTES, and bytes the proxy sends out of turn are a protocol error. The target is
 * sent as an IPv4 or IPv6 address, or as a domain name for the proxy to resolve (socks5h://).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv6 } from './ban-key.js';
import { ProxyError } from './proxy-error.js';
import { type HandshakeStep, type ProxyHandshake, ReplyReader } from './proxy-handshake.js';

/** The longest reply: VER REP RSV ATYP, a 255-byte domain name with its length, the port. */
export const SOCKS5_MAX_REPLY_BYTES = 4 + 1 + 255 + 2;

const VERSION = 5;
const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;
const CMD_CONNECT = 1;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;

/** RFC 1928 §6's REP values, by what they mean for the peer. */
const REPLIES: Record<number, { code: ProxyError['code']; text: string }> = {
  1: { code: 'proxyTargetUnreachable', text: 'general SOCKS server failure' },
  2: { code: 'proxyRefused', text: 'connection not allowed by ruleset' },
  3: { code: 'proxyTargetUnreachable', text: 'network unreachable' },
  4: { code: 'proxyTargetUnreachable', text: 'host unreachable' },
  5: { code: 'proxyRefused', text: 'connection refused' },
  6: { code: 'proxyTargetUnreachable', text: 'TTL expired' },
  7: { code: 'proxyUnsupported', text: 'command not supported' },
  8: { code: 'proxyUnsupported', text: 'address type not supported' },
};

export interface Socks5Credentials {
  readonly user: string;
  readonly password: string;
}

type Stage = 'method' | 'auth' | 'connect' | 'done';

export class Socks5Handshake implements ProxyHandshake {
  readonly #request: Uint8Array;
  readonly #credentials: Socks5Credentials | undefined;
  readonly #reply = new ReplyReader(SOCKS5_MAX_REPLY_BYTES);
  #stage: Stage = 'method';

  /** `host`: an IP address, or a name the proxy resolves (at most 255 bytes). */
  constructor(host: string, port: number, credentials?: Socks5Credentials) {
    this.#request = connectRequest(host, port);
    if (credentials !== undefined) {
      const u = Buffer.byteLength(credentials.user);
      const p = Buffer.byteLength(credentials.password);
      if (u < 1 || u > 255 || p < 1 || p > 255)
        throw new ProxyError('proxyAuth', 'SOCKS5 user name and password must be 1 to 255 bytes each');
    }
    this.#credentials = credentials;
  }

  start(): Uint8Array {
    return Uint8Array.of(VERSION, 1, this.#credentials === undefined ? NO_AUTH : USER_PASS);
  }

  push(chunk: Uint8Array): HandshakeStep {
    switch (this.#stage) {
      case 'method':
        return this.#method(chunk);
      case 'auth':
        return this.#auth(chunk);
      case 'connect':
        return this.#connect(chunk);
      default:
        throw new ProxyError('proxyProtocol', 'SOCKS5 handshake already done');
    }
  }

  #method(chunk: Uint8Array): HandshakeStep {
    const rest = this.#reply.fill(chunk, 2);
    if (this.#reply.length < 2) return { kind: 'wait' };
    outOfTurn(rest);
    const [ver, method] = this.#reply.bytes;
    this.#reply.clear();
    if (ver !== VERSION) throw new ProxyError('proxyProtocol', `not a SOCKS5 proxy (version ${ver})`);
    if (method === NO_ACCEPTABLE)
      throw new ProxyError(
        'proxyAuth',
        this.#credentials === undefined
          ? 'the SOCKS5 proxy wants a user name and password'
          : 'the SOCKS5 proxy takes no user name and password',
      );
    if (method === NO_AUTH) return this.#send('connect', this.#request);
    if (method === USER_PASS && this.#credentials !== undefined)
      return this.#send('auth', authRequest(this.#credentials));
    throw new ProxyError('proxyProtocol', `the SOCKS5 proxy chose a method we did not offer (${method})`);
  }

  #auth(chunk: Uint8Array): HandshakeStep {
    const rest = this.#reply.fill(chunk, 2);
    if (this.#reply.length < 2) return { kind: 'wait' };
    outOfTurn(rest);
    const status = this.#reply.bytes[1];
    this.#reply.clear();
    if (status !== 0)
      throw new ProxyError('proxyAuth', `the SOCKS5 proxy refused the user name and password (${status})`);
    return this.#send('connect', this.#request);
  }

  #connect(chunk: Uint8Array): HandshakeStep {
    let rest = this.#reply.fill(chunk, 4);
    if (this.#reply.length < 4) return { kind: 'wait' };
    const [ver, rep, , atyp] = this.#reply.bytes;
    if (ver !== VERSION) throw new ProxyError('proxyProtocol', `not a SOCKS5 reply (version ${ver})`);
    if (rep !== 0) {
      const r = REPLIES[rep!];
      throw new ProxyError(r?.code ?? 'proxyProtocol', `SOCKS5 proxy: ${r?.text ?? `unknown reply ${rep}`}`);
    }
    let need: number;
    if (atyp === ATYP_IPV4) need = 4 + 4 + 2;
    else if (atyp === ATYP_IPV6) need = 4 + 16 + 2;
    else if (atyp === ATYP_DOMAIN) {
      rest = this.#reply.fill(rest, 5);
      if (this.#reply.length < 5) return { kind: 'wait' };
      need = 5 + this.#reply.bytes[4]! + 2;
    } else throw new ProxyError('proxyProtocol', `SOCKS5 reply with an unknown address type ${atyp}`);
    rest = this.#reply.fill(rest, need);
    if (this.#reply.length < need) return { kind: 'wait' };
    this.#stage = 'done';
    this.#reply.clear();
    return { kind: 'done', rest };
  }

  #send(stage: Stage, bytes: Uint8Array): HandshakeStep {
    this.#stage = stage;
    return { kind: 'send', bytes };
  }
}

/** Bytes after a reply that must be answered before the proxy says more. */
function outOfTurn(rest: Uint8Array): void {
  if (rest.length > 0)
    throw new ProxyError('proxyProtocol', `the SOCKS5 proxy sent ${rest.length} bytes out of turn`);
}

function authRequest(c: Socks5Credentials): Uint8Array {
  const u = Buffer.from(c.user);
  const p = Buffer.from(c.password);
  return Uint8Array.of(1, u.length, ...u, p.length, ...p);
}

function connectRequest(host: string, port: number): Uint8Array {
  const portBytes = [port >> 8, port & 0xff];
  if (isIPv4(host))
    return Uint8Array.of(VERSION, CMD_CONNECT, 0, ATYP_IPV4, ...host.split('.').map(Number), ...portBytes);
  if (isIPv6(host))
    return Uint8Array.of(VERSION, CMD_CONNECT, 0, ATYP_IPV6, ...ipv6Bytes(host), ...portBytes);
  const name = Buffer.from(host);
  if (name.length < 1 || name.length > 255)
    throw new ProxyError('proxyUnsupported', `a host name SOCKS5 cannot carry: ${JSON.stringify(host)}`);
  return Uint8Array.of(VERSION, CMD_CONNECT, 0, ATYP_DOMAIN, name.length, ...name, ...portBytes);
}

/** The 16 bytes of an IPv6 address (ban-key.ts reads its groups). */
function ipv6Bytes(host: string): number[] {
  return (parseIpv6(host) ?? []).flatMap((g) => [g >> 8, g & 0xff]);
}
