/**
 * The socket side of one UDP tracker request (BEP 15): resolving the tracker, a dgram socket
 * connected to it, and `Exchange.once`, which sends one datagram and waits for the answer with our
 * transaction id and action (see udp-tracker.ts for the rules it follows).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { BLOCKED_CODE, filteredLookup } from '../net/filtered-lookup.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import { TrackerError, trackerBlocked } from './tracker-error.js';
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  decodeUdpResponse,
  type UdpResponse,
} from './udp-codec.js';

/** The answer a request waits for. */
export type Expect = 'connect' | 'announce' | 'scrape';

/**
 * The tracker's address: `host` itself if it is one, else the first its name resolves to. With the
 * user's IP filter, an address in it, or a name resolving only to addresses in it (the lookup
 * drops them: filtered-lookup.ts), is TrackerError `blocked`, before any datagram.
 */
export async function resolve(
  host: string,
  url: string,
  signal: AbortSignal,
  family?: 4,
  blocklist?: IpRangeSet,
): Promise<string> {
  if (isIP(host) !== 0) {
    if (blocklist?.hasHost(host) === true) throw trackerBlocked(url, host);
    return host;
  }
  try {
    const options = family === undefined ? {} : { family };
    const address =
      blocklist === undefined
        ? (await lookup(host, options)).address
        : await new Promise<string>((ok, fail) =>
            filteredLookup(blocklist)(host, options, (err, a) =>
              err === null ? ok(a as string) : fail(err),
            ),
          );
    signal.throwIfAborted();
    return address;
  } catch (cause) {
    if (signal.aborted) throw signal.reason;
    if ((cause as NodeJS.ErrnoException).code === BLOCKED_CODE) throw trackerBlocked(url, host);
    throw new TrackerError('network', `udp tracker ${host}: ${(cause as Error).message}`, { url, cause });
  }
}

export function openSocket(
  family: 4 | 6,
  address: string,
  port: number,
  url: string,
  signal: AbortSignal,
  localAddress?: string,
): Promise<Socket> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise<Socket>((ok, fail) => {
    const onError = (cause: Error) => {
      signal.removeEventListener('abort', onAbort);
      closeQuietly(socket);
      fail(new TrackerError('network', `udp tracker ${address}:${port}: ${cause.message}`, { url, cause }));
    };
    const onAbort = () => {
      socket.off('error', onError);
      closeQuietly(socket);
      fail(signal.reason);
    };
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    const connect = () =>
      socket.connect(port, address, () => {
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
        // An ICMP error between two exchanges must not crash the process; the next send sees it.
        socket.on('error', () => {});
        ok(socket);
      });
    // `--bind`: from that address (any port), never another; an IPv6 tracker then fails to connect.
    if (localAddress === undefined) connect();
    else socket.bind(0, localAddress, connect);
  });
}

export function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

const ACTION_OF: Record<Expect, number> = {
  connect: ACTION_CONNECT,
  announce: ACTION_ANNOUNCE,
  scrape: ACTION_SCRAPE,
};

export function newTransactionId(): number {
  return randomBytes(4).readUInt32BE(0);
}

/** Sends one request and waits for its answer, on one connected socket. */
export class Exchange {
  #lastGarbage: TrackerError | undefined;
  constructor(
    readonly socket: Socket,
    readonly family: 4 | 6,
    readonly url: string,
    readonly signal: AbortSignal,
  ) {}

  /** The answer, or undefined after `waitMs` without one. Rejects on error action, socket error, abort. */
  once(packet: Uint8Array, tx: number, expect: Expect, waitMs: number): Promise<UdpResponse | undefined> {
    const { socket, signal, url } = this;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<UdpResponse | undefined>((ok, fail) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (msg: Buffer) => {
        // Another transaction's (a late answer to an earlier send of another step, or a flood): not
        // decoded at all, so a datagram of 10,000 peers under a wrong id costs 8 bytes' look.
        if (msg.length >= 8 && msg.readUInt32BE(4) !== tx) return;
        let r: UdpResponse;
        try {
          r = decodeUdpResponse(msg, this.family);
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
          // Our transaction id and the action we asked for, but a broken body: the tracker did
          // answer, badly (opentracker answers a torrent it does not serve with a bare 8-byte
          // announce header). Anything else (shorter than a header, another action) may not be
          // ours: remembered, but the wait goes on.
          if (msg.length >= 8 && msg.readUInt32BE(0) === ACTION_OF[expect]) {
            done();
            fail(new TrackerError('badResponse', e.message, { url, cause: e }));
          } else this.#lastGarbage = e;
          return;
        }
        if (r.action === 'error') {
          done();
          fail(new TrackerError('failure', r.message, { url }));
        } else if (r.action === expect) {
          done();
          ok(r);
        }
      };
      const onError = (cause: NodeJS.ErrnoException) => {
        done();
        fail(new TrackerError('network', `udp tracker: ${cause.code ?? cause.message}`, { url, cause }));
      };
      const onAbort = () => {
        done();
        fail(signal.reason);
      };
      const timer = setTimeout(() => {
        done();
        ok(undefined);
      }, waitMs);
      socket.on('message', onMessage);
      socket.on('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.send(packet, (err) => {
        if (err) onError(err);
      });
    });
  }

  giveUp(maxRetries: number, base: number): TrackerError {
    const sends = maxRetries + 1;
    const waited = base * (2 ** sends - 1);
    return (
      this.#lastGarbage ??
      new TrackerError('timeout', `udp tracker did not answer ${sends} sends over ${waited} ms`, {
        url: this.url,
        limit: waited,
      })
    );
  }
}

/** The process-wide client, so the connection-id cache is shared. */
