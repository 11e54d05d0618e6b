/**
 * The dial of an outgoing peer connection (tcp-connection.ts): the TCP connect to the peer's
 * address, bounded by CONNECT_TIMEOUT_MS, and — on a new socket — the one retry the encryption policy
 * allows (outgoing-preface.ts: a dial the peer closed before sending a byte is tried once the other
 * way). Only a socket that connected may be retried: a refused or timed-out dial is the connection's
 * failure. The connection attaches each socket this opens and reads and writes it; nothing here runs
 * per read or per write.
 */
import { connect, type OnReadOpts, type Socket } from 'node:net';
import { parsePeerAddress } from './address.js';
import type { OutgoingPreface } from './outgoing-preface.js';

/** A dial not connected this long after it began fails ('connect timeout'). */
export const CONNECT_TIMEOUT_MS = 10_000;

export class PeerDial {
  readonly host: string;
  readonly #port: number;
  /** Which handshake each attempt tries (absent: plain, no retry: a bare connection in a test). */
  readonly plan: OutgoingPreface | undefined;
  /** Sockets that connected: only those may be retried. */
  readonly #connected = new WeakSet<Socket>();
  /** The socket the retry was decided for, and the decision: `plan.retry()` moves the plan on. */
  #decidedFor: Socket | undefined;
  #retry = false;

  constructor(address: string, plan: OutgoingPreface | undefined) {
    const { host, port } = parsePeerAddress(address);
    this.host = host;
    this.#port = port;
    this.plan = plan;
  }

  /**
   * A new socket to the peer (Nagle off: requests must leave at once), reading through `onread` if
   * given; destroyed if it has not connected within CONNECT_TIMEOUT_MS; `onConnect` when it has.
   */
  open(onread: OnReadOpts | undefined, onConnect: () => void): Socket {
    const s = connect({
      host: this.host,
      port: this.#port,
      noDelay: true,
      ...(onread === undefined ? {} : { onread }),
    });
    s.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!this.#connected.has(s)) s.destroy(new Error('connect timeout'));
    });
    s.once('connect', () => {
      this.#connected.add(s);
      s.setTimeout(0);
      onConnect();
    });
    return s;
  }

  /**
   * Whether `s` closing (or failing) is retried on a new socket: it connected, the peer sent
   * nothing and the plan has another handshake to try. Asked once per socket — its error comes
   * before its close, and the answer holds for both; false once the connection is closed.
   */
  retrying(s: Socket, closed: boolean): boolean {
    if (this.#decidedFor !== s) {
      this.#decidedFor = s;
      this.#retry = !closed && this.#connected.has(s) && this.plan?.retry() === true;
    }
    return this.#retry;
  }
}
