/**
 * The client's one UDP socket, shared by the DHT (BEP 5's KRPC) and uTP (BEP 29), as libtorrent,
 * Transmission and qBittorrent run them. It is bound to the TCP listening port's number because
 * that is the only port a peer knows us by: a peer dials uTP at the port it learned from a tracker,
 * ut_pex or a DHT announce (all of them the TCP one), and the DHT's `port` message (BEP 5) names
 * that same port for our DHT node. libtorrent's utp_socket_manager and its dht share one such
 * socket; two sockets would need two ports, and peers would find only one of them.
 *
 * Incoming datagrams are told apart by their first byte: a KRPC message is a bencoded dictionary,
 * so it starts with 'd' (0x64); a uTP packet starts with type << 4 | version 1 (0x01, 0x11, 0x21,
 * 0x31, 0x41), never 'd'. One handler per kind; a KRPC datagram nobody handles is dropped, and so is
 * an empty one. A uTP packet while no uTP handler is set (`--utp off`: the socket is the DHT's alone)
 * is answered as a port without uTP connections answers it (src/utp/utp-resets.ts): a SYN or DATA
 * by ST_RESET, so a peer that dials uTP first (libtorrent does) turns to TCP at once instead of
 * resending its SYN for ~3 s (libtorrent's uTP connect timeout); anything else is dropped.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeUtpPacket } from '../utp/utp-packet.js';
import { answeredByReset, UtpResets } from '../utp/utp-resets.js';

/** The socket's receive and send buffers we ask for (the kernel may give less). */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/** The first byte of a bencoded dictionary: a KRPC message (BEP 5). */
const KRPC_FIRST_BYTE = 0x64;

/** Where a datagram came from. */
export interface DatagramSource {
  readonly address: string;
  readonly port: number;
}

export type DatagramHandler = (msg: Buffer, from: DatagramSource) => void;

export class UdpEndpoint {
  /** The bound port (the one asked for, or the one given for 0). */
  readonly port: number;
  /** The bound address: '0.0.0.0' (every IPv4 interface) unless asked otherwise. */
  readonly host: string;
  readonly #socket: Socket;
  #krpc: DatagramHandler | undefined;
  #utp: DatagramHandler | undefined;
  /** The answers to uTP packets while no uTP handler is set. */
  readonly #resets = new UtpResets(
    (header, to) => this.send(header, to.port, to.address),
    () => performance.now(),
  );
  #closing: Promise<void> | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    const { address, port } = socket.address();
    this.port = port;
    this.host = address;
    socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
    // uTP arrives in bursts of hundreds of datagrams while the event loop hashes or writes: the
    // default receive buffer (~200 KB on Linux) overflows and every drop costs a resend. The kernel
    // caps what is asked at net.core.rmem_max / wmem_max (libtorrent asks the same way).
    for (const set of [
      () => socket.setRecvBufferSize(UDP_BUFFER_BYTES),
      () => socket.setSendBufferSize(UDP_BUFFER_BYTES),
    ])
      try {
        set();
      } catch {
        // Refused: the default stays.
      }
    // An ICMP port unreachable for one send must not end anything: a DHT query times out, a uTP
    // connection retransmits.
    socket.on('error', () => {});
  }

  /** Binds a udp4 socket at `port` (0 = any) on `host` (default '0.0.0.0'); rejects (EADDRINUSE …) when it cannot. */
  static open(opts: { readonly port: number; readonly host?: string }): Promise<UdpEndpoint> {
    const socket = createSocket({ type: 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', (err) => {
        try {
          socket.close();
        } catch {}
        reject(err);
      });
      socket.bind(opts.port, opts.host ?? '0.0.0.0', () => {
        socket.removeAllListeners('error');
        resolve(new UdpEndpoint(socket));
      });
    });
  }

  /** Sends one datagram (its parts joined, when several); errors, and sends after close, are dropped. */
  send(bytes: Uint8Array | readonly Uint8Array[], port: number, host: string): void {
    if (this.#closing !== undefined) return;
    try {
      this.#socket.send(bytes, port, host, () => {});
    } catch {
      // A port or address the socket refuses at once (port 0): as lost as an unreachable one.
    }
  }

  /** KRPC datagrams (first byte 'd') go to `handler`; returns what stops that. One handler at a time. */
  onKrpc(handler: DatagramHandler): () => void {
    if (this.#krpc !== undefined) throw new Error('a KRPC handler is set already'); // a bug
    this.#krpc = handler;
    return () => {
      if (this.#krpc === handler) this.#krpc = undefined;
    };
  }

  /**
   * Every other datagram (uTP packets) goes to `handler`, instead of the SYN and DATA being reset;
   * returns what stops that. One handler at a time.
   */
  onUtp(handler: DatagramHandler): () => void {
    if (this.#utp !== undefined) throw new Error('a uTP handler is set already'); // a bug
    this.#utp = handler;
    return () => {
      if (this.#utp === handler) this.#utp = undefined;
    };
  }

  #onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closing !== undefined || msg.length === 0) return;
    const from = { address: rinfo.address, port: rinfo.port };
    if (msg[0] === KRPC_FIRST_BYTE) this.#krpc?.(msg, from);
    else if (this.#utp !== undefined) this.#utp(msg, from);
    else this.#refuseUtp(msg, from);
  }

  /** A uTP packet with no uTP on this socket: no connection owns it. */
  #refuseUtp(msg: Buffer, from: DatagramSource): void {
    const p = decodeUtpPacket(msg);
    if (typeof p !== 'string' && answeredByReset(p)) this.#resets.answer(p, from);
  }

  /** Closes the socket; a second call waits for the first. */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => this.#socket.close(() => resolve()));
    return this.#closing;
  }
}
