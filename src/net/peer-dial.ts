/**
 * The dial of an outgoing peer connection (tcp-connection.ts): a TCP connect bounded by
 * CONNECT_TIMEOUT_MS, or a uTP one (src/utp: a SYN resent twice, ~7 s), and on a new socket the
 * retries a dial allows:
 * - the encryption policy's (outgoing-preface.ts): a dial that connected and that the peer closed
 *   before sending a byte is tried once the other way, over the same transport;
 * - the transports' (utp-mode.ts): a dial that never connected (refused, timed out), or whose every
 *   handshake the peer closed unanswered, is tried over the next transport, if any.
 * Each is a fixed list walked forward, so a dial never loops. Through a proxy (proxy-dialer.ts) a
 * dial is TCP to the proxy, connected once the proxy's tunnel is up; no uTP (no proxy here carries
 * UDP). The connection attaches each socket this opens and writes it; the dial wires its reads.
 */
import { connect, isIPv4, type Socket } from 'node:net';
import type { UtpSocketManager } from '../utp/utp-socket-manager.js';
import { parsePeerAddress } from './address.js';
import { BLOCKED_CODE, filteredLookup } from './filtered-lookup.js';
import type { IpRangeSet } from './ip-range-set.js';
import type { OutgoingPreface } from './outgoing-preface.js';
import type { PeerStream, PeerTransport } from './peer-stream.js';
import type { ProxyDialer } from './proxy-dialer.js';
import { ProxyError } from './proxy-error.js';
import { readsInto } from './shared-read-buffer.js';

/** A dial not connected this long after it began fails ('connect timeout'). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** What a dial is given (tcp-connection.ts, metadata-connection.ts; a bare dial in a test: `address` alone). */
export interface PeerDialOptions {
  /** The peer, `host:port` (address.ts). */
  readonly address: string;
  /** Which handshake each attempt tries (absent: plain, no retry: a bare connection in a test). */
  readonly plan?: OutgoingPreface | undefined;
  /**
   * The transports in the order to try (utp-mode.ts, dialTransports; default TCP alone). uTP needs
   * `utp`, the manager on our UDP port, and an IPv4 address, and is skipped without them (and under
   * a proxy).
   */
  readonly transports?: readonly PeerTransport[] | undefined;
  readonly utp?: UtpSocketManager | undefined;
  /** Every TCP dial through this proxy (proxy-dialer.ts); no uTP then. */
  readonly proxy?: ProxyDialer | undefined;
  /**
   * TCP dials go from it (`--bind`), never from another; through a proxy, the proxy dialer's own
   * (the connection to the proxy leaves from it).
   */
  readonly localAddress?: string | undefined;
  /** The user's IP filter, asked again for a host name's resolved addresses (filteredLookup). */
  readonly blocklist?: IpRangeSet | undefined;
}

export class PeerDial {
  readonly host: string;
  readonly #port: number;
  /** Which handshake each attempt tries (absent: plain, no retry: a bare connection in a test). */
  readonly plan: OutgoingPreface | undefined;
  readonly #transports: readonly PeerTransport[];
  #transport = 0;
  readonly #utp: UtpSocketManager | undefined;
  readonly #proxy: ProxyDialer | undefined;
  /** The address TCP dials go from (`--bind`, bind-address.ts); uTP goes from the UDP socket's. */
  readonly #localAddress: string | undefined;
  /** Sockets that connected: only those may be retried with the other handshake. */
  readonly #connected = new WeakSet<PeerStream>();
  /** The socket the retry was decided for, and the decision: deciding moves a plan on. */
  #decidedFor: PeerStream | undefined;
  #retry = false;
  /** The user's IP filter, asked again for a host name's resolved addresses (filteredLookup). */
  readonly #blocklist: IpRangeSet | undefined;

  constructor({ address, plan, transports = ['tcp'], utp, proxy, localAddress, blocklist }: PeerDialOptions) {
    const { host, port } = parsePeerAddress(address);
    this.#blocklist = blocklist === undefined || blocklist.size === 0 ? undefined : blocklist;
    this.host = host;
    this.#port = port;
    this.plan = plan;
    // Under socks5:// the proxy dialer looks the name up: through the filter too.
    this.#proxy = proxy?.filtering(this.#blocklist);
    this.#utp = proxy === undefined ? utp : undefined;
    this.#localAddress = localAddress;
    // uTP only to an IPv4 address: our UDP socket is IPv4, and the manager knows a connection by
    // the address its datagrams come from (a dial to a host name would never hear its answer).
    this.#transports =
      this.#utp === undefined || !isIPv4(host) ? transports.filter((t) => t === 'tcp') : transports;
    if (this.#transports.length === 0) this.#transports = ['tcp'];
  }

  /** The transport the next `open` uses. */
  get transport(): PeerTransport {
    return this.#transports[this.#transport]!;
  }

  /**
   * A new socket to the peer over the current transport (TCP: Nagle off, destroyed if not connected
   * within CONNECT_TIMEOUT_MS — through a proxy, connected once its tunnel is up); every read to
   * `onData` (TCP: through Node's onread into `buffer`, if given); `onConnect` once connected.
   */
  open(
    onData: (chunk: Uint8Array) => void,
    buffer: Uint8Array | undefined,
    onConnect: () => void,
  ): PeerStream {
    if (this.transport === 'utp') {
      const s = this.#utp!.connect(this.#port, this.host);
      s.on('data', onData);
      s.once('connect', () => {
        this.#connected.add(s);
        onConnect();
      });
      return s;
    }
    const connected = () => {
      this.#connected.add(s);
      s.setTimeout(0);
      onConnect();
    };
    const s: Socket =
      this.#proxy !== undefined
        ? this.#proxy.open(this.host, this.#port, { onData, buffer }, connected)
        : connect({
            host: this.host,
            port: this.#port,
            noDelay: true,
            ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
            ...(this.#blocklist === undefined ? {} : { lookup: filteredLookup(this.#blocklist) }),
            ...readsInto(buffer, onData),
          });
    if (this.#proxy === undefined) {
      if (buffer === undefined) s.on('data', onData);
      s.once('connect', connected);
    }
    s.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!this.#connected.has(s)) s.destroy(new Error('connect timeout'));
    });
    return s;
  }

  /**
   * The proxy's failure a socket's error stands for, if any (the peer's close reason is then its
   * code, docs/proxy.md): a ProxyError itself; through a proxy, a system error before the tunnel is
   * up, the proxy unreachable (the dial's own connect timeout is not the proxy's, nor a name the
   * filter found blocked).
   */
  proxyFailure(s: PeerStream, err: NodeJS.ErrnoException): ProxyError | undefined {
    if (err instanceof ProxyError) return err;
    if (
      this.#proxy !== undefined &&
      !this.#connected.has(s) &&
      err.code !== undefined &&
      err.code !== BLOCKED_CODE
    )
      return this.#proxy.unreachable(err);
    return undefined;
  }

  /**
   * Whether `s` closing (or failing) is retried on a new socket: it connected, the peer sent nothing
   * and the plan has another handshake to try; or it never connected, or every handshake was closed
   * unanswered, and another transport is left.
   * Asked once per socket — its error comes before its close, and the answer holds for both; false
   * once the connection is closed.
   */
  retrying(s: PeerStream, closed: boolean): boolean {
    if (this.#decidedFor !== s) {
      this.#decidedFor = s;
      const plan = this.plan;
      if (closed) this.#retry = false;
      else if (this.#connected.has(s) && plan?.retry() === true) this.#retry = true;
      else if (this.#connected.has(s) && plan?.answered !== false) this.#retry = false;
      else if (this.#transport + 1 < this.#transports.length) {
        // Never connected, or every handshake closed unanswered (libtorrent with incoming TCP
        // off accepts and closes): the next transport, its handshakes from the first.
        this.#transport++;
        plan?.restart();
        this.#retry = true;
      } else this.#retry = false;
    }
    return this.#retry;
  }
}
