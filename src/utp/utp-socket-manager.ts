/**
 * Every uTP connection on one UDP port (libtorrent's utp_socket_manager): datagrams in, routed to their
 * connection by (address, port, connection id); a SYN for no connection is a new incoming one; DATA
 * for no connection, and a SYN we refuse, are answered by ST_RESET (utp-resets.ts: the peer stops
 * sending) — acks and FINs are not, as they still come after a clean close. Dials pick a receive id
 * no connection to that peer uses. One ticker drives every connection's timers (TICK_MS; libutp
 * checks every 500 ms).
 *
 * Bounded whatever arrives: at most `maxConnections` connections (a SYN past it is reset), each
 * bounded by utp-connection.ts.
 */
import { decodeUtpPacket, ST_RESET, ST_SYN, type UtpPacket } from './utp-packet.js';
import { answeredByReset, UtpResets } from './utp-resets.js';
import { UtpSocket, type UtpSocketHost } from './utp-socket.js';

export const TICK_MS = 100;
export const DEFAULT_MAX_UTP_CONNECTIONS = 1000;

/** The datagram side: a UDP socket, or the endpoint shared with the DHT. */
export interface UtpDatagrams {
  send(bytes: readonly Uint8Array[], port: number, host: string): void;
}

export interface UtpSocketManagerOptions {
  readonly maxConnections?: number;
  /** The clock (ms); performance.now by default. */
  readonly now?: () => number;
}

export class UtpSocketManager implements UtpSocketHost {
  readonly #datagrams: UtpDatagrams;
  readonly #sockets = new Map<string, UtpSocket>();
  readonly #keys = new WeakMap<UtpSocket, string>();
  readonly #maxConnections: number;
  readonly #now: () => number;
  #onConnection: ((socket: UtpSocket) => void) | undefined;
  #ticker: NodeJS.Timeout | undefined;
  readonly #resets: UtpResets;
  #closed = false;

  constructor(datagrams: UtpDatagrams, opts: UtpSocketManagerOptions = {}) {
    this.#datagrams = datagrams;
    this.#maxConnections = opts.maxConnections ?? DEFAULT_MAX_UTP_CONNECTIONS;
    this.#now = opts.now ?? (() => performance.now());
    this.#resets = new UtpResets(
      (header, to) => this.#datagrams.send([header], to.port, to.address),
      this.#now,
    );
  }

  /** Open connections. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Incoming connections go to `handler` (none: every SYN is reset). */
  onConnection(handler: ((socket: UtpSocket) => void) | undefined): void {
    this.#onConnection = handler;
  }

  /** A datagram that is not the DHT's. */
  receive(bytes: Uint8Array, from: { address: string; port: number }): void {
    if (this.#closed) return;
    const p = decodeUtpPacket(bytes);
    if (typeof p === 'string') return;
    if (p.type === ST_SYN) {
      this.#incoming(p, from);
      return;
    }
    const socket =
      this.#sockets.get(key(from.address, from.port, p.connectionId)) ??
      (p.type === ST_RESET ? this.#sentWith(p.connectionId, from) : undefined);
    if (socket !== undefined) socket.receivePacket(p);
    // DATA for no connection is answered by ST_RESET (its sender stops); a STATE or FIN is not: acks
    // and the FIN answering ours still come after we closed cleanly, and a RESET to them would turn
    // the peer's clean close into ECONNRESET.
    else if (answeredByReset(p)) this.#resets.answer(p, from);
  }

  /**
   * The connection that sends with `id` to `from`. A RESET answering a packet the peer has no
   * connection for carries the id that packet came with — our send id, not the receive id our
   * connections are found by (an initiator receives on its send id - 1, a responder on + 1): libutp
   * looks a RESET up all three ways.
   */
  #sentWith(id: number, from: { address: string; port: number }): UtpSocket | undefined {
    for (const receiveId of [id - 1, id + 1]) {
      const socket = this.#sockets.get(key(from.address, from.port, receiveId));
      if (socket?.connection.sendId === id) return socket;
    }
    return undefined;
  }

  /** A new outgoing connection to `host:port`; 'connect' when the peer answers, 'error' if it never does. */
  connect(port: number, host: string): UtpSocket {
    if (this.#closed) throw new Error('uTP socket manager closed');
    let receiveId = 0;
    for (let tries = 0; ; tries++) {
      receiveId = Math.floor(Math.random() * 0x10000);
      const taken =
        this.#sockets.has(key(host, port, receiveId)) ||
        this.#sockets.has(key(host, port, (receiveId + 1) & 0xffff));
      if (!taken || tries > 64) break;
    }
    const socket = new UtpSocket(
      this,
      { address: host, port },
      { receiveId, sendId: receiveId + 1 },
      this.#now,
    );
    this.#add(key(host, port, receiveId), socket);
    socket.connection.connect();
    return socket;
  }

  send(header: Uint8Array, payload: Uint8Array, port: number, host: string): void {
    if (this.#closed) return;
    this.#datagrams.send(payload.length === 0 ? [header] : [header, payload], port, host);
  }

  forget(socket: UtpSocket): void {
    const k = this.#keys.get(socket);
    if (k !== undefined && this.#sockets.get(k) === socket) this.#sockets.delete(k);
    if (this.#sockets.size === 0 && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  /** Ends every connection (`destroy()`: our FIN to each) and stops. */
  close(): void {
    if (this.#closed) return;
    for (const socket of [...this.#sockets.values()]) socket.destroy();
    this.#closed = true;
    this.#sockets.clear();
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #incoming(syn: UtpPacket, from: { address: string; port: number }): void {
    const receiveId = (syn.connectionId + 1) & 0xffff;
    const k = key(from.address, from.port, receiveId);
    const existing = this.#sockets.get(k);
    if (existing !== undefined) {
      existing.receivePacket(syn); // a resent SYN: acknowledged again
      return;
    }
    const handler = this.#onConnection;
    if (handler === undefined || this.#sockets.size >= this.#maxConnections) {
      this.#resets.answer(syn, from);
      return;
    }
    const socket = new UtpSocket(this, from, { receiveId, sendId: syn.connectionId }, this.#now);
    this.#add(k, socket);
    socket.connection.accept(syn);
    handler(socket);
  }

  #add(k: string, socket: UtpSocket): void {
    this.#sockets.set(k, socket);
    this.#keys.set(socket, k);
    // A socket's errors are its owner's; this keeps an unowned one (refused by the session) from throwing.
    socket.on('error', () => {});
    this.#ticker ??= setInterval(() => this.#tick(), TICK_MS).unref();
  }

  #tick(): void {
    for (const socket of [...this.#sockets.values()]) socket.connection.tick();
  }
}

function key(address: string, port: number, connectionId: number): string {
  return `${address}:${port}/${connectionId & 0xffff}`;
}
