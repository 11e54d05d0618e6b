/**
 * An HTTP proxy's tunnel: `CONNECT host:port HTTP/1.1` (RFC 9110 §9.3.6), Basic credentials in
 * Proxy-Authorization when the URL has them; pure (proxy-handshake.ts). The answer's head is read up
 * to its blank line, at most MAX_CONNECT_HEAD_BYTES: a 2xx opens the tunnel (what follows the head
 * is the target's), 407 is the credentials refused, 403 the proxy's rules, any other the target
 * not reached.
 */
import { isIPv6 } from 'node:net';
import { ProxyError } from './proxy-error.js';
import type { HandshakeStep, ProxyHandshake } from './proxy-handshake.js';

/** The longest answer head read before the tunnel opens (tinyproxy's is ~60 bytes). */
export const MAX_CONNECT_HEAD_BYTES = 8192;

export interface HttpProxyCredentials {
  readonly user: string;
  readonly password: string;
}

export class HttpConnectHandshake implements ProxyHandshake {
  readonly #request: Uint8Array;
  readonly #head = new Uint8Array(MAX_CONNECT_HEAD_BYTES);
  #have = 0;
  #done = false;

  constructor(host: string, port: number, credentials?: HttpProxyCredentials) {
    if (/[\s\0]/.test(host))
      throw new ProxyError('proxyUnsupported', `not a host name: ${JSON.stringify(host)}`);
    const authority = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
    const auth =
      credentials === undefined
        ? ''
        : `Proxy-Authorization: Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}\r\n`;
    this.#request = Buffer.from(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`,
      'latin1',
    );
  }

  start(): Uint8Array {
    return this.#request;
  }

  push(chunk: Uint8Array): HandshakeStep {
    if (this.#done) throw new ProxyError('proxyProtocol', 'HTTP CONNECT already done');
    // Look for the blank line from where the previous read's bytes could have begun it.
    const from = Math.max(0, this.#have - 3);
    const take = Math.min(chunk.length, MAX_CONNECT_HEAD_BYTES - this.#have);
    this.#head.set(chunk.subarray(0, take), this.#have);
    this.#have += take;
    const end = indexOfBlankLine(this.#head, from, this.#have);
    if (end < 0) {
      if (this.#have >= MAX_CONNECT_HEAD_BYTES)
        throw new ProxyError('proxyTooLarge', `HTTP proxy answer head over ${MAX_CONNECT_HEAD_BYTES} bytes`);
      return { kind: 'wait' };
    }
    // The head's bytes of this chunk: those held past the previous reads' count, up to `end`.
    const usedOfChunk = end - (this.#have - take);
    const status = statusOf(Buffer.from(this.#head.subarray(0, end)).toString('latin1'));
    this.#done = true;
    if (status >= 200 && status < 300) return { kind: 'done', rest: chunk.subarray(usedOfChunk) };
    if (status === 407) throw new ProxyError('proxyAuth', 'HTTP proxy: 407 Proxy Authentication Required');
    if (status === 403) throw new ProxyError('proxyRefused', 'HTTP proxy: 403 Forbidden');
    throw new ProxyError('proxyTargetUnreachable', `HTTP proxy answered CONNECT with ${status}`);
  }
}

/** The index just past the first CRLF CRLF in buf[from, to), or -1. */
function indexOfBlankLine(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++)
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4;
  return -1;
}

function statusOf(head: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r\n/.exec(head);
  if (m === null) throw new ProxyError('proxyProtocol', 'HTTP proxy: not an HTTP/1.x status line');
  return Number(m[1]);
}
