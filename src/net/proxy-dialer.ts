/**
 * Connections through a proxy (proxy.ts): a TCP connection to the proxy, its handshake
 * (socks5-handshake.ts, socks4a-handshake.ts, http-connect.ts) and then the target's bytes on the
 * same socket. Peer dials (peer-dial.ts) read it through the shared read buffer as a direct dial
 * does; the HTTP clients (trackers, web seeds) get it through an Agent (proxied-agent.ts). Every failure is a ProxyError, each one told to `onFailure` (the session says it).
 * Under `--bind` (docs/bind.md) the connection to the proxy leaves from the bound address.
 * A name looked up here (socks5://) goes through the IP filter's lookup (filtered-lookup.ts), as a
 * direct dial's: a name resolving only to blocked addresses fails `blocked`, the proxy asked nothing.
 */
import { lookup } from 'node:dns';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BLOCKED_CODE, filteredLookup } from './filtered-lookup.js';
import type { IpRangeSet } from './ip-range-set.js';
import { CONNECT_TIMEOUT_MS } from './peer-dial.js';
import { describeProxy, type ProxySettings, proxyHandshake, resolvesLocally } from './proxy.js';
import { ProxyError } from './proxy-error.js';
import type { ProxyHandshake } from './proxy-handshake.js';
import { readsInto } from './shared-read-buffer.js';

/**
 * How a tunnel's socket is read once it is up: into `buffer` (Node's onread) if given, else by
 * 'data', each read to `onData`; without `onData` the socket is handed over unread (the target's
 * first bytes, if any came with the proxy's reply, put back), for node:http to read.
 */
export interface TunnelRead {
  readonly onData?: ((chunk: Uint8Array) => void) | undefined;
  readonly buffer?: Uint8Array | undefined;
}

/** What a dialer is told besides its proxy (each optional). */
export interface ProxyDialerOptions {
  /** Every failure to reach a target through the proxy (the session says each kind once). */
  readonly onFailure?: ((err: ProxyError) => void) | undefined;
  /**
   * A target's host name looked up here, by our DNS, before the proxy is asked (socks5://, curl's
   * meaning: resolvesLocally), called as the lookup starts: the query leaves from here, around
   * the proxy (the session says so once, and that socks5h:// would not).
   */
  readonly onLocalLookup?: ((host: string) => void) | undefined;
  /** A tunnel not up this long after it began fails ('connect timeout'), as a plain dial does. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * The address our connections to the proxy leave from (`--bind`: bind-address.ts), an IPv4 one:
   * the proxy's name is then looked up for IPv4 only. Default: the kernel's choice.
   */
  readonly localAddress?: string | undefined;
  /**
   * The user's IP filter (docs/blocklist.md), for the names looked up here: their blocked addresses
   * dropped (filteredLookup), a name left with none fails `blocked` - not the proxy's failure.
   */
  readonly blocklist?: IpRangeSet | undefined;
}

export class ProxyDialer {
  readonly onFailure: ((err: ProxyError) => void) | undefined;
  readonly connectTimeoutMs: number;
  readonly localAddress: string | undefined;

  constructor(
    readonly settings: ProxySettings,
    readonly options: ProxyDialerOptions = {},
  ) {
    this.onFailure = options.onFailure;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.localAddress = options.localAddress;
  }

  /** The same proxy and reports, connecting from `localAddress` (`--bind`). */
  from(localAddress: string): ProxyDialer {
    return new ProxyDialer(this.settings, { ...this.options, localAddress });
  }

  /** The same proxy and reports, the names it looks up filtered by `blocklist` (none if empty). */
  filtering(blocklist: IpRangeSet | undefined): ProxyDialer {
    if (blocklist === undefined || blocklist.size === 0) return this;
    return new ProxyDialer(this.settings, { ...this.options, blocklist });
  }

  /**
   * A socket to the proxy that asks it for a tunnel to `host:port`: `onTunnel` once the tunnel is up,
   * and every byte after it to `read.onData` (the target's first bytes, if they came with the
   * proxy's reply, right after `onTunnel`). A failure destroys the socket with a ProxyError; a
   * system error before the tunnel is up is the proxy's (`proxyUnreachable`, told to onFailure); a
   * tunnel not up within `connectTimeoutMs` of the dial is destroyed ('connect timeout').
   */
  open(host: string, port: number, read: TunnelRead, onTunnel: () => void): Socket {
    let handshake: ProxyHandshake | undefined;
    let up = false;
    // A deadline, not the socket's idle timer: a proxy that sends its reply a byte at a time
    // (an HTTP head may be 8 KiB) kept an idle timer from ever firing.
    const deadline = setTimeout(() => {
      if (!up) s.destroy(new Error('connect timeout'));
    }, this.connectTimeoutMs);
    deadline.unref();
    const fail = (e: ProxyError) => {
      if (s.destroyed) return;
      this.onFailure?.(e);
      s.destroy(e);
    };
    const feed = (chunk: Uint8Array) => {
      if (up) return read.onData?.(chunk);
      if (handshake === undefined) return fail(new ProxyError('proxyProtocol', 'the proxy spoke first'));
      let step: ReturnType<ProxyHandshake['push']>;
      try {
        step = handshake.push(chunk);
      } catch (e) {
        if (e instanceof ProxyError) return fail(e);
        throw e;
      }
      if (step.kind === 'send') s.write(step.bytes);
      else if (step.kind === 'done') {
        up = true;
        clearTimeout(deadline);
        if (buffer === undefined) {
          // Read by 'readable' until now: from here the socket flows to its reader (Node resumes
          // it once a 'data' listener is there and no 'readable' one is).
          s.removeListener('readable', onReadable);
          if (read.onData === undefined) {
            if (step.rest.length > 0) s.unshift(step.rest);
            return onTunnel();
          }
          s.on('data', read.onData);
        }
        onTunnel();
        if (step.rest.length > 0 && !s.destroyed) read.onData?.(step.rest);
      }
    };
    /** Without a buffer the handshake reads by 'readable', so no byte flows past it. */
    const onReadable = () => {
      for (let c: Buffer | null = s.read(); c !== null; c = up ? null : s.read()) feed(c);
    };
    const buffer = read.buffer;
    const s = connect({
      host: this.settings.host,
      port: this.settings.port,
      noDelay: true,
      ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress, family: 4 }),
      ...readsInto(buffer, feed),
    });
    if (buffer === undefined) s.on('readable', onReadable);
    s.once('close', () => clearTimeout(deadline));
    s.once('connect', () => {
      const begin = (target: string) => {
        try {
          handshake = proxyHandshake(this.settings, target, port);
        } catch (e) {
          if (e instanceof ProxyError) return fail(e);
          throw e;
        }
        s.write(handshake.start());
      };
      if (!resolvesLocally(this.settings, host)) return begin(host);
      this.options.onLocalLookup?.(host);
      const blocklist = this.options.blocklist;
      (blocklist === undefined ? lookup : filteredLookup(blocklist))(host, { family: 0 }, (err, address) => {
        if (s.destroyed) return;
        if (err?.code === BLOCKED_CODE) s.destroy(err);
        else if (err !== null)
          fail(new ProxyError('proxyTargetUnreachable', `${host}: ${err.code ?? err.message}`));
        else begin(address as string);
      });
    });
    s.on('end', () => {
      if (!up) fail(new ProxyError('proxyClosed', `${describeProxy(this.settings)} closed before its reply`));
    });
    // A system error (refused, reset, unknown host) before the tunnel is up is the proxy's; the
    // dial's own connect timeout is not (the proxy may be waiting on a slow target), nor a name
    // the filter found blocked.
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!up && !(e instanceof ProxyError) && e.code !== undefined && e.code !== BLOCKED_CODE)
        this.onFailure?.(this.unreachable(e));
    });
    return s;
  }

  /** The error a socket error before the tunnel is up stands for: the proxy could not be reached. */
  unreachable(e: NodeJS.ErrnoException): ProxyError {
    return new ProxyError(
      'proxyUnreachable',
      `proxy ${describeProxy(this.settings)}: ${e.code ?? e.message}`,
    );
  }

  /**
   * A tunnel to `host:port`, called back once it is up (for node:http's createConnection); not up
   * within `connectTimeoutMs` it fails ('connect timeout', open's deadline) - node:http applies
   * a request's own timeout, and its abort, only to a socket it has been given, so a proxy that
   * took the connection and never answered held the request (an announce, a scrape, a web seed's
   * GET) and its socket for good. The socket is returned, to be destroyed if the request is dropped.
   */
  tunnel(host: string, port: number, done: (err: Error | null, socket?: Duplex) => void): Socket {
    let settled = false;
    // Until the tunnel is up, its failure is the request's.
    const onError = (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      done(
        e instanceof ProxyError || e.code === undefined || e.code === BLOCKED_CODE ? e : this.unreachable(e),
      );
    };
    const s = this.open(host, port, {}, () => {
      settled = true;
      s.removeListener('error', onError);
      done(null, s);
    });
    s.on('error', onError);
    return s;
  }
}
