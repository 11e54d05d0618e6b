/**
 * A uTP connection as a Node stream (a Duplex, as a TCP socket is): what the peer connection
 * (src/net/tcp-connection.ts) and its send queue already use — `write` with callbacks and `cork`,
 * `writableLength` and 'drain', `pause`/`resume`, `end`, `destroy`, 'data', 'error', 'close',
 * `remoteAddress` — so the BitTorrent protocol above runs unchanged over uTP. The protocol is
 * utp-connection.ts; datagrams come from, and go out through, the socket manager
 * (utp-socket-manager.ts), which also ticks every connection's timers.
 *
 * Reading: bytes the connection hands on in one batch of datagrams are pushed as one chunk (a copy,
 * never a view of a datagram) once the batch is read (setImmediate), with the ack the batch owes.
 * Pushed and unread bytes count against the receive window we advertise (`readableLength`), so a
 * paused reader closes the peer's window as TCP's does. Writing: a write is taken into the
 * connection's queue at once while it holds less than SEND_BUFFER_BYTES; past that its callback
 * waits for acks (the stream's writableLength then grows, which the send queue reads as congestion).
 *
 * Ending: as a TCP socket without half-open, the peer's FIN ends the readable side and ends ours
 * (our FIN after what we wrote); the stream closes once both FINs are acknowledged and its reader
 * took the peer's end. `destroy()` before that sends our FIN once and forgets the connection;
 * `destroy(error)` sends ST_RESET.
 */
import { Duplex } from 'node:stream';
import { isLocalHost } from '../net/local-address.js';
import { UtpConnection, type UtpConnectionIo } from './utp-connection.js';
import type { UtpError } from './utp-error.js';
import type { UtpPacket } from './utp-packet.js';

/** Bytes a write may queue in the connection before its callback waits for acks. */
export const SEND_BUFFER_BYTES = 256 * 1024;

/** What a socket needs of its manager. */
export interface UtpSocketHost {
  send(header: Uint8Array, payload: Uint8Array, port: number, host: string): void;
  /** The socket closed: forget its connection id. */
  forget(socket: UtpSocket): void;
}

export class UtpSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly connection: UtpConnection;
  readonly #host: UtpSocketHost;
  /** Bytes handed on in this batch of datagrams, pushed together once it is read. */
  #incoming: Uint8Array[] = [];
  /** Their bytes (asked for every packet received and sent: kept, not summed each time). */
  #incomingLength = 0;
  #batchScheduled = false;
  #writeCallback: ((error?: Error | null) => void) | undefined;
  #finalCallback: ((error?: Error | null) => void) | undefined;
  #ended = false;

  constructor(
    host: UtpSocketHost,
    remote: { address: string; port: number },
    ids: { receiveId: number; sendId: number },
    now: () => number,
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 64 * 1024 });
    this.#host = host;
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    const io: UtpConnectionIo = {
      now,
      send: (header, payload) => host.send(header, payload, remote.port, remote.address),
      data: (bytes) => {
        this.#incoming.push(bytes);
        this.#incomingLength += bytes.length;
        this.#scheduleBatch();
      },
      buffered: () => this.readableLength + this.#incomingLength,
      connected: () => this.emit('connect'),
      writable: () => this.#releaseWrite(),
      end: () => {
        this.#ended = true;
        this.#scheduleBatch();
      },
      // Our FIN acknowledged: the writing side is done. The stream closes once its reader also took
      // the peer's end (autoDestroy), as a TCP socket's does: not before, or what came with the
      // peer's FIN is lost to a reader that paused.
      finished: () => {
        const cb = this.#finalCallback;
        this.#finalCallback = undefined;
        cb?.();
      },
      closed: (error?: UtpError) => {
        if (!this.destroyed) this.destroy(error);
      },
    };
    this.connection = new UtpConnection({ ...ids, io, localPeer: isLocalHost(remote.address) });
  }

  /** A datagram of this connection, from the manager. */
  receivePacket(p: UtpPacket): void {
    this.connection.receive(p);
    this.#scheduleBatch();
  }

  /** TCP's Nagle switch: uTP sends at once already. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.connection.write(chunk);
    this.#afterWrite(callback);
  }

  override _writev(
    chunks: { chunk: Uint8Array; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    for (const { chunk } of chunks) this.connection.write(chunk);
    this.#afterWrite(callback);
  }

  override _read(): void {
    this.connection.windowOpened();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connection.peerEnded) {
      // The peer closed first: our FIN answers it, and nothing waits for its ack (the peer is
      // done; a TCP socket in the same place is gone once its FIN is sent).
      this.connection.closeNow();
      callback();
      return;
    }
    this.#finalCallback = callback;
    this.connection.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.connection.done || this.connection.state === 'closed') this.connection.release();
    else if (error === null)
      this.connection.closeNow(); // as a TCP socket's close: FIN, not RST
    else this.connection.abort();
    const pending = this.#writeCallback;
    this.#writeCallback = undefined;
    pending?.(error);
    this.#host.forget(this);
    callback(error);
  }

  #afterWrite(callback: (error?: Error | null) => void): void {
    if (this.connection.queuedBytes < SEND_BUFFER_BYTES) callback();
    else this.#writeCallback = callback;
  }

  #releaseWrite(): void {
    if (this.#writeCallback === undefined || this.connection.queuedBytes >= SEND_BUFFER_BYTES) return;
    const cb = this.#writeCallback;
    this.#writeCallback = undefined;
    cb();
  }

  #scheduleBatch(): void {
    if (this.#batchScheduled) return;
    this.#batchScheduled = true;
    setImmediate(() => {
      this.#batchScheduled = false;
      if (this.destroyed) return;
      const incoming = this.#incoming;
      if (incoming.length > 0) {
        this.#incoming = [];
        this.#incomingLength = 0;
        // A copy even of one datagram's bytes: they are a view of it, which a peer can make far larger
        // than its payload (a 64 KiB extension chain before 1 byte), and unread chunks wait here as
        // long as the reader does while the window counts only their bytes.
        this.push(Buffer.concat(incoming));
      }
      this.connection.sendAck();
      if (this.#ended) {
        this.#ended = false;
        this.push(null);
      }
    });
  }
}
