/**
 * One uTP connection's protocol (BEP 29), without sockets or timers: packets in (`receive`), bytes to
 * send in (`write`, `end`), the clock read through `io.now` and advanced by `tick` — and out through
 * `io`: packets to send, in-order bytes, the peer's end, the close. The socket (utp-socket.ts) gives
 * it datagrams and a ticker; tests give it another connection and a lossy wire.
 *
 * Connection ids: the initiator picks `recvId` at random and sends its SYN with it; it sends every
 * later packet with `recvId + 1`. The responder receives on `syn.connection_id + 1` and sends with
 * `syn.connection_id`. Sequence numbers are per packet (16 bits, wrapping): SYN, DATA and FIN take
 * one, STATE (a bare ack) does not; the responder's STATE answering the SYN (and every STATE it sends
 * until the initiator is heard from) carries the number its first DATA will have, so the initiator,
 * which connects on that STATE only, takes `seq_nr - 1` as acknowledged (as libutp and libtorrent do).
 *
 * Sending: bytes queue (copied: the caller's buffer may be reused once `write` returns) until the
 * window — the smaller of our congestion window (ledbat-window.ts) and the peer's advertised receive
 * window — has room, then leave in packets of at most `packetPayload` bytes, each kept until
 * acknowledged, cumulatively by `ack_nr` or by the selective ack. A hole with three packets
 * selectively acknowledged past it, or three duplicate acks, is resent at once and halves the window
 * (once per window of packets); a retransmission timeout (retransmit-timeout.ts) resends from the
 * oldest with a window of one packet. Too many timeouts in a row end the connection (ETIMEDOUT); a
 * probe into a closed window that the peer answers (window 0) is not one, and shrinks nothing: the
 * ack that reopens the window resends the probe the peer dropped at once.
 *
 * Receiving: a DATA packet in order is handed on; one ahead of it waits in the reorder buffer —
 * bounded in packets and bytes, as is everything the peer can make us hold — and is selectively
 * acknowledged. Acks are owed, not sent at once: every packet we send carries our `ack_nr`, and the
 * socket calls `sendAck()` once a batch of datagrams is read, so a burst costs one STATE. Our receive
 * window is what the reorder buffer and the unread bytes (`io.buffered`) leave of `receiveWindow`;
 * data past it is dropped unacknowledged (a peer that ignores our window fills nothing).
 *
 * Ending: `end()` queues our FIN after the data; it is acknowledged like data (`io.finished`). The
 * peer's FIN, once everything before it arrived, is `io.end` (the reading side's end). `abort()`
 * sends ST_RESET; a RESET from the peer is `io.closed` with ECONNRESET (ECONNREFUSED while our SYN
 * waits).
 */
import { LedbatWindow } from './ledbat-window.js';
import { ReorderBuffer } from './reorder-buffer.js';
import { RetransmitTimeout } from './retransmit-timeout.js';
import { UtpError } from './utp-error.js';
import {
  encodeUtpHeader,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  seqAdd,
  seqBefore,
  seqDistance,
  type UtpPacket,
  type UtpPacketType,
} from './utp-packet.js';
import { UtpWriteQueue } from './utp-write-queue.js';

/**
 * Payload bytes per packet: a 1,400-byte datagram less the 20-byte header, under the Internet's
 * common MTU with IPv4 and UDP headers (libutp's 1,402 - 20; libtorrent starts at the same size).
 */
export const UTP_PACKET_PAYLOAD = 1380;
/** The most bytes we take ahead of what is read (the receive window we advertise). */
export const UTP_RECEIVE_WINDOW = 1024 * 1024;
/** The most packets in flight, and the most held out of order (under half the 16-bit space). */
export const MAX_PACKETS_IN_FLIGHT = 1024;
export const MAX_REORDER_PACKETS = 1024;
/**
 * The most packets in flight, sent or held by the peer out of order, to a peer on our own network
 * (loopback, a LAN: UtpConnectionOptions.localPeer). No router queue spreads a burst out there: it
 * lands in the receiver's UDP socket buffer at once, and Linux's default (net.core.rmem_default,
 * 208 KiB of ~2.3 KiB per 1,400-byte datagram) holds ~90 packets; the rest is lost. libtorrent 2.0
 * with its default buffer, losing bursts that way, stops acknowledging the connection until it
 * times out (measured on 127.0.0.1: a 200 MB download from us stalled at 1–80 % with 1,024 packets
 * allowed, completed 3 times of 3 with 64). 64 packets is ~88 KB: ~88 MB/s at a 1 ms round trip.
 */
export const LOCAL_PEER_PACKETS_IN_FLIGHT = 64;
/** Resends of our SYN before giving up (libtorrent's utp_syn_resends). */
export const SYN_RESENDS = 2;
/** Retransmission timeouts in a row before the connection is given up (libtorrent's utp_num_resends). */
export const MAX_TIMEOUTS = 5;
/** A STATE after this long without sending anything, so that NAT mappings stay open (libutp: 29 s). */
export const KEEPALIVE_MS = 29_000;
const DUPLICATE_ACKS_BEFORE_RESEND = 3;

export interface UtpConnectionIo {
  /** The clock (ms). */
  now(): number;
  /** A packet to send: its header and payload (a view: send it before returning, or copy). */
  send(header: Uint8Array, payload: Uint8Array): void;
  /** Bytes in order from the peer (a view of its datagram). */
  data(bytes: Uint8Array): void;
  /** Received bytes handed on but not read yet (they count against our receive window). */
  buffered(): number;
  /** The connection is open (the initiator's SYN acknowledged; at once for the responder). */
  connected(): void;
  /** Packets were acknowledged: the queue shrank, the writer may write more (the socket decides). */
  writable(): void;
  /** The peer's FIN and everything before it arrived: no more bytes will come. */
  end(): void;
  /** Our FIN was acknowledged: everything we wrote arrived. */
  finished(): void;
  /** The connection ended: by an error, or (no error) after `abort()`. Nothing is sent after this. */
  closed(error?: UtpError): void;
}

export interface UtpConnectionOptions {
  readonly receiveId: number;
  readonly sendId: number;
  readonly io: UtpConnectionIo;
  readonly packetPayload?: number;
  readonly receiveWindow?: number;
  /** Our first sequence number (random by default). */
  readonly initialSeq?: number;
  /** The peer is on our own network (loopback, a LAN): LOCAL_PEER_PACKETS_IN_FLIGHT applies. */
  readonly localPeer?: boolean;
}

interface OutPacket {
  readonly type: UtpPacketType;
  readonly payload: Uint8Array;
  sentAt: number;
  transmissions: number;
  /** Counted in the bytes in flight (false once a timeout marks it for resending). */
  inFlight: boolean;
  /** Already resent for a hole or duplicate acks (fast retransmit happens once per packet). */
  fastResent: boolean;
  /** Selectively acknowledged: the peer holds it out of order. */
  sacked: boolean;
}

type State = 'idle' | 'synSent' | 'connected' | 'closed';

export class UtpConnection {
  readonly receiveId: number;
  readonly sendId: number;
  readonly #io: UtpConnectionIo;
  readonly #packetPayload: number;
  readonly #receiveWindow: number;
  readonly #maxPacketsInFlight: number;
  #state: State = 'idle';

  // Sending.
  #seqNr: number;
  /** Sent and not acknowledged, in sequence order. */
  readonly #outgoing = new Map<number, OutPacket>();
  #bytesInFlight = 0;
  /** Bytes written and not yet packetised. */
  readonly #queue = new UtpWriteQueue();
  #finQueued = false;
  #finSeq: number | undefined;
  #peerWindow = UTP_PACKET_PAYLOAD;
  readonly #cwnd: LedbatWindow;
  readonly #rto = new RetransmitTimeout();
  #deadline = Number.POSITIVE_INFINITY;
  #timeouts = 0;
  #synResends = 0;
  #lastAckReceived = -1;
  #duplicateAcks = 0;
  /** Losses below this sequence number were of the window already halved. */
  #lossSeq: number;
  #lastSent = 0;
  #probe = false;
  /**
   * Responder: the seq_nr our STATE answering the SYN carried (our first DATA's), until the initiator
   * is heard from past its SYN. Every STATE carries it till then: one of them may be the first the
   * initiator gets, and it takes that number as where ours start.
   */
  #synAckSeq: number | undefined;

  // Receiving.
  #ackNr = 0;
  readonly #reorder = new ReorderBuffer();
  #eofSeq: number | undefined;
  #gotEnd = false;
  #finished = false;
  #ackOwed = false;
  /** Our clock minus the peer's timestamp in its last packet (µs): the timestamp_difference we send. */
  #replyMicro = 0;

  /** Statistics for tests and observers. */
  readonly stats = { packetsSent: 0, packetsResent: 0, packetsReceived: 0, timeouts: 0, fastResends: 0 };

  constructor(o: UtpConnectionOptions) {
    this.receiveId = o.receiveId & 0xffff;
    this.sendId = o.sendId & 0xffff;
    this.#io = o.io;
    this.#packetPayload = o.packetPayload ?? UTP_PACKET_PAYLOAD;
    this.#receiveWindow = o.receiveWindow ?? UTP_RECEIVE_WINDOW;
    this.#maxPacketsInFlight = o.localPeer === true ? LOCAL_PEER_PACKETS_IN_FLIGHT : MAX_PACKETS_IN_FLIGHT;
    this.#seqNr = (o.initialSeq ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
    this.#lossSeq = seqAdd(this.#seqNr, -1);
    this.#cwnd = new LedbatWindow(
      this.#packetPayload,
      MAX_PACKETS_IN_FLIGHT * this.#packetPayload,
      o.io.now(),
    );
  }

  get state(): State {
    return this.#state;
  }

  /** Bytes written and not yet sent, plus sent and not acknowledged. */
  get pendingBytes(): number {
    return this.#queue.length + this.#bytesInFlight;
  }

  /** Written bytes not yet packetised. */
  get queuedBytes(): number {
    return this.#queue.length;
  }

  get congestionWindow(): number {
    return this.#cwnd.window;
  }

  /** Initiator: send the SYN. */
  connect(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'synSent';
    this.#sendNew(ST_SYN, new Uint8Array(0));
  }

  /** Responder: the peer's SYN arrived; acknowledge it. */
  accept(syn: UtpPacket): void {
    if (this.#state !== 'idle') return;
    this.#state = 'connected';
    this.#ackNr = syn.seqNr;
    this.#peerWindow = syn.windowSize;
    this.#replyMicro = (this.#micros() - syn.timestamp) >>> 0;
    this.#synAckSeq = this.#seqNr;
    this.#sendState();
    this.#io.connected();
  }

  /** Bytes to send, in order, after everything written before. */
  write(bytes: Uint8Array): void {
    if (this.#state === 'closed' || this.#finQueued || bytes.length === 0) return;
    this.#queue.push(bytes); // copied: the caller may reuse its buffer (utp-write-queue.ts)
    this.#flush();
  }

  /** Our FIN after everything written. */
  end(): void {
    if (this.#state === 'closed' || this.#finQueued) return;
    this.#finQueued = true;
    this.#flush();
  }

  /**
   * Ends at once without an error (a socket destroyed by its owner): our FIN, sent once and never
   * resent, then closed. A peer that has everything we sent ends cleanly, as after a TCP close; one
   * still missing some of it hears ST_RESET when it asks again (the manager no longer knows us).
   */
  closeNow(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connected' && this.#finSeq === undefined)
      this.#sendHeader(ST_FIN, this.#seqNr, new Uint8Array(0));
    this.#close();
  }

  /** Ends at once: ST_RESET to the peer (unless nothing was ever sent), then closed. */
  abort(): void {
    if (this.#state === 'closed') return;
    if (this.#state !== 'idle') this.#sendHeader(ST_RESET, this.#seqNr, new Uint8Array(0));
    this.#close();
  }

  /** A packet for this connection. */
  receive(p: UtpPacket): void {
    if (this.#state === 'closed' || this.#state === 'idle') return;
    this.stats.packetsReceived++;
    const now = this.#io.now();
    if (p.type === ST_RESET) {
      this.#close(
        this.#state === 'synSent'
          ? new UtpError('ECONNREFUSED', 'uTP connection refused (ST_RESET answered our SYN)')
          : new UtpError('ECONNRESET', 'uTP connection reset by the peer'),
      );
      return;
    }
    this.#replyMicro = (this.#micros() - p.timestamp) >>> 0;
    if (p.type === ST_SYN) {
      // Our STATE answering it was lost: acknowledge it again.
      if (p.seqNr === this.#ackNr) this.#sendState();
      return;
    }
    this.#synAckSeq = undefined; // the initiator sends nothing past its SYN before a STATE of ours reached it
    if (this.#state === 'synSent') {
      const synSeq = seqAdd(this.#seqNr, -1);
      // Only the responder's STATE answers our SYN: it carries the number its first DATA will have.
      // A DATA or FIN that overtook it says nothing of where the responder's numbers start (taking
      // its seq_nr - 1 would skip the packets before it): ignored, the responder resends it
      // (libtorrent waits for the STATE in the same way).
      if (p.type !== ST_STATE || p.ackNr !== synSeq) return;
      this.#state = 'connected';
      this.#ackNr = seqAdd(p.seqNr, -1);
      this.#acknowledge(p, now);
      this.#io.connected();
      if (this.#state === 'connected') this.#flush();
      return;
    }
    this.#acknowledge(p, now);
    if (this.#state !== 'connected') return;
    if (p.type === ST_DATA || p.type === ST_FIN) this.#sequenced(p);
    this.#flush();
    this.#finishIfDone();
  }

  /** Sends the ack owed for what was received since the last packet we sent (one STATE). */
  sendAck(): void {
    if (this.#ackOwed && this.#state === 'connected') this.#sendState();
  }

  /**
   * The reader took bytes: while at least half the window is free, a STATE announces it. This is a
   * STATE per read, often beside the batch's ack; sent only when the announced window was under
   * half, the property tests found transfers at 25 % loss that never finished (a lost update left
   * the sender waiting): the repeats are what recovers them.
   */
  windowOpened(): void {
    if (this.#state === 'connected' && this.#advertisedWindow() >= this.#receiveWindow / 2) this.#sendState();
  }

  /** Timers: retransmission, the zero-window probe, the keepalive. */
  tick(): void {
    if (this.#state === 'closed' || this.#state === 'idle') return;
    const now = this.#io.now();
    if (now >= this.#deadline) this.#timeout(now);
    else if (this.#state === 'connected' && now - this.#lastSent >= KEEPALIVE_MS) this.#sendState();
  }

  #timeout(now: number): void {
    this.stats.timeouts++;
    if (this.#state === 'synSent') {
      if (this.#synResends++ >= SYN_RESENDS) {
        this.#close(new UtpError('ETIMEDOUT', 'uTP connect timed out (no answer to our SYN)'));
        return;
      }
      this.#rto.backOff();
      const syn = this.#outgoing.get(seqAdd(this.#seqNr, -1));
      if (syn !== undefined) this.#transmit(seqAdd(this.#seqNr, -1), syn, now);
      this.#deadline = now + this.#rto.ms;
      return;
    }
    if (this.#outgoing.size === 0) {
      // Nothing in flight: the peer's window is closed and data waits. Probe it with one packet.
      this.#deadline = Number.POSITIVE_INFINITY;
      if (this.#queue.length > 0 || (this.#finQueued && this.#finSeq === undefined)) {
        this.#probe = true;
        this.#flush();
      }
      return;
    }
    if (++this.#timeouts > MAX_TIMEOUTS) {
      this.#close(new UtpError('ETIMEDOUT', `uTP connection timed out (${MAX_TIMEOUTS} resends unanswered)`));
      return;
    }
    this.#rto.backOff();
    // A probe into the peer's closed window is not a loss: the congestion window stays (as TCP's
    // persist timer leaves it), else a reader's pause costs the transfer its window.
    if (this.#peerWindow >= this.#packetPayload) this.#cwnd.timedOut();
    // Everything in flight is presumed lost; resend from the oldest as the (one-packet) window allows.
    for (const out of this.#outgoing.values()) out.inFlight = false;
    this.#bytesInFlight = 0;
    this.#lossSeq = seqAdd(this.#seqNr, -1);
    this.#deadline = now + this.#rto.ms;
    this.#flush();
  }

  /** Acks (cumulative and selective), the peer's window, the delay sample. */
  #acknowledge(p: UtpPacket, now: number): void {
    const wasClosed = this.#peerWindow < this.#packetPayload;
    this.#peerWindow = p.windowSize;
    let acked = 0;
    let progressed = false;
    const oldest = this.#oldestSeq();
    // Only an ack of a packet we sent counts (a hostile ack_nr past seq_nr is ignored).
    if (oldest !== undefined && !seqBefore(p.ackNr, oldest) && seqBefore(p.ackNr, this.#seqNr)) {
      for (const [seq, out] of this.#outgoing) {
        if (seqBefore(p.ackNr, seq)) break;
        acked += this.#acked(seq, out, now);
        progressed = true;
      }
    }
    if (p.selectiveAck !== undefined) acked += this.#selectivelyAcked(p.ackNr, p.selectiveAck, now);
    if (acked > 0) this.#cwnd.acked(acked, p.timestampDifference, now);
    if (progressed) {
      this.#timeouts = 0;
      this.#duplicateAcks = 0;
      this.#rto.progressed(); // the peer is there: the timeout is the estimate again, not its backoff
      this.#deadline = this.#outgoing.size > 0 ? now + this.#rto.ms : Number.POSITIVE_INFINITY;
    } else if (
      p.type === ST_STATE &&
      p.ackNr === this.#lastAckReceived &&
      this.#outgoing.size > 0 &&
      ++this.#duplicateAcks === DUPLICATE_ACKS_BEFORE_RESEND
    ) {
      const seq = seqAdd(p.ackNr, 1);
      const out = this.#outgoing.get(seq);
      // Once per packet: one resent for a selective ack is left to the retransmission timer.
      if (out !== undefined && !out.fastResent) this.#fastResend(seq, out, now);
    }
    // A window too small for our oldest packet (closed, or a few bytes: libtorrent advertises what
    // its buffer has left and drops a packet past it), with everything before that packet
    // acknowledged: the peer is there and its reader is behind, so that packet was a probe past its
    // window, not a loss. Probing goes on (backing off) as TCP's persist timer does, without counting
    // toward ETIMEDOUT.
    if (
      oldest !== undefined &&
      p.ackNr === seqAdd(oldest, -1) &&
      p.windowSize < (this.#outgoing.get(oldest)?.payload.length ?? 0)
    )
      this.#timeouts = 0;
    // The window reopened (the reader read) with our oldest packet unacknowledged: that was a probe
    // the peer dropped past its closed window. Resent now, not at its timeout, which the probes
    // backed off to as much as a minute.
    if (
      wasClosed &&
      p.windowSize >= this.#packetPayload &&
      oldest !== undefined &&
      p.ackNr === seqAdd(oldest, -1)
    ) {
      const out = this.#outgoing.get(oldest);
      if (out !== undefined && !out.sacked) this.#transmit(oldest, out, now);
      this.#deadline = now + this.#rto.ms;
    }
    this.#lastAckReceived = p.ackNr;
    if (acked > 0) this.#io.writable();
  }

  #acked(seq: number, out: OutPacket, now: number): number {
    this.#outgoing.delete(seq);
    if (out.transmissions === 1 && !out.sacked) this.#rto.sample(now - out.sentAt);
    if (!out.inFlight) return 0;
    this.#bytesInFlight -= out.payload.length;
    return out.sacked ? 0 : out.payload.length; // a selectively acked one was counted then
  }

  #selectivelyAcked(ackNr: number, mask: Uint8Array, now: number): number {
    let acked = 0;
    let sackedPast = 0;
    const bits = mask.length * 8;
    // From the newest down: a hole with three or more packets acknowledged past it was lost.
    for (let i = bits - 1; i >= -1; i--) {
      const seq = seqAdd(ackNr, 2 + i);
      const set = i >= 0 && (mask[i >> 3]! & (1 << (i & 7))) !== 0;
      const out = this.#outgoing.get(seq);
      if (set) {
        sackedPast++;
        // Held by the peer, never resent; it keeps its place in the window until the cumulative
        // ack passes it: the peer's reorder buffer holds it, and libtorrent refuses the packet
        // that fills a hole when that buffer plus the hole would pass its capacity.
        if (out !== undefined && !out.sacked) {
          out.sacked = true;
          acked += out.payload.length;
        }
      } else if (out !== undefined && sackedPast >= DUPLICATE_ACKS_BEFORE_RESEND && !out.fastResent)
        this.#fastResend(seq, out, now);
    }
    return acked;
  }

  #fastResend(seq: number, out: OutPacket, now: number): void {
    out.fastResent = true;
    this.stats.fastResends++;
    if (seqBefore(this.#lossSeq, seq)) {
      this.#cwnd.lost();
      this.#lossSeq = seqAdd(this.#seqNr, -1);
    }
    this.#transmit(seq, out, now);
  }

  /** A DATA or FIN packet: in order, handed on (with what waited behind it); ahead, held. */
  #sequenced(p: UtpPacket): void {
    this.#ackOwed = true;
    const fin = p.type === ST_FIN;
    const distance = seqDistance(this.#ackNr, p.seqNr);
    if (distance === 0 || distance >= 0x8000) return; // already had it: the ack is owed again
    if (this.#eofSeq !== undefined && seqBefore(this.#eofSeq, p.seqNr)) return; // past the FIN
    if (distance === 1) {
      // Past our window (what is unread and what is held both count): dropped unacknowledged — a
      // peer that ignores our window fills nothing.
      if (
        p.payload.length > 0 &&
        this.#io.buffered() + this.#reorder.bytes + p.payload.length >
          this.#receiveWindow + this.#packetPayload
      )
        return;
      if (!this.#take(p.payload, fin, p.seqNr)) return;
      // Held packets were selectively acknowledged, so the peer will not send them again: each is
      // taken whatever the window (it was counted in it when held).
      for (;;) {
        const next = seqAdd(this.#ackNr, 1);
        const held = this.#reorder.take(next);
        if (held === undefined) break;
        if (!this.#take(held.payload, held.fin, next)) break;
      }
      return;
    }
    if (distance > MAX_REORDER_PACKETS || this.#reorder.has(p.seqNr)) return;
    if (this.#reorder.bytes + this.#io.buffered() + p.payload.length > this.#receiveWindow) return;
    this.#reorder.hold(p.seqNr, p.payload, fin); // a copy (reorder-buffer.ts)
  }

  /** The next packet in order: handed on (unless the peer's FIN came before it). */
  #take(payload: Uint8Array, fin: boolean, seq: number): boolean {
    if (this.#gotEnd) return false;
    this.#ackNr = seq;
    if (payload.length > 0) this.#io.data(payload);
    if (fin) {
      this.#eofSeq = seq;
      this.#gotEnd = true;
      this.#reorder.clear();
      this.#sendState();
      this.#io.end();
    }
    return true;
  }

  /** Resends first (oldest first), then new packets from the queue, then our FIN, while the window allows. */
  #flush(): void {
    if (this.#state !== 'connected') return;
    const now = this.#io.now();
    const room = () => Math.min(this.#cwnd.window, this.#peerWindow) - this.#bytesInFlight;
    for (const [seq, out] of this.#outgoing) {
      if (out.inFlight || out.sacked) continue;
      if (out.payload.length > room() && this.#bytesInFlight > 0) return;
      this.#transmit(seq, out, now);
    }
    while (this.#queue.length > 0 && this.#outgoing.size < this.#maxPacketsInFlight) {
      const size = Math.min(this.#packetPayload, this.#queue.length);
      if (size > room() && !(this.#probe || (this.#bytesInFlight === 0 && this.#peerWindow >= size))) break;
      this.#probe = false;
      this.#sendNew(ST_DATA, this.#queue.take(size));
    }
    if (this.#finQueued && this.#queue.length === 0 && this.#finSeq === undefined) {
      this.#finSeq = this.#seqNr;
      this.#sendNew(ST_FIN, new Uint8Array(0));
    }
    if (this.#outgoing.size > 0 && this.#deadline === Number.POSITIVE_INFINITY)
      this.#deadline = now + this.#rto.ms;
    if (this.#queue.length > 0 && this.#outgoing.size === 0 && this.#deadline === Number.POSITIVE_INFINITY)
      this.#deadline = now + this.#rto.ms; // a closed window: probe it then
  }

  #sendNew(type: UtpPacketType, payload: Uint8Array): void {
    const seq = this.#seqNr;
    this.#seqNr = seqAdd(seq, 1);
    const out: OutPacket = {
      type,
      payload,
      sentAt: 0,
      transmissions: 0,
      inFlight: false,
      fastResent: false,
      sacked: false,
    };
    this.#outgoing.set(seq, out);
    const now = this.#io.now();
    this.#transmit(seq, out, now);
    if (this.#deadline === Number.POSITIVE_INFINITY) this.#deadline = now + this.#rto.ms;
  }

  #transmit(seq: number, out: OutPacket, now: number): void {
    if (out.transmissions > 0) this.stats.packetsResent++;
    out.transmissions++;
    out.sentAt = now;
    if (!out.inFlight) {
      out.inFlight = true;
      this.#bytesInFlight += out.payload.length;
    }
    this.#sendHeader(out.type, seq, out.payload);
  }

  #sendState(): void {
    this.#sendHeader(ST_STATE, this.#synAckSeq ?? this.#seqNr, new Uint8Array(0));
  }

  #sendHeader(type: UtpPacketType, seq: number, payload: Uint8Array): void {
    const selectiveAck =
      type === ST_SYN || type === ST_RESET ? undefined : this.#reorder.selectiveAck(this.#ackNr);
    const header = encodeUtpHeader({
      type,
      connectionId: type === ST_SYN ? this.receiveId : this.sendId,
      timestamp: this.#micros(),
      timestampDifference: this.#replyMicro,
      windowSize: this.#advertisedWindow(),
      seqNr: seq,
      ackNr: this.#ackNr,
      ...(selectiveAck === undefined ? {} : { selectiveAck }),
    });
    if (type !== ST_SYN && type !== ST_RESET) this.#ackOwed = false;
    this.stats.packetsSent++;
    this.#lastSent = this.#io.now();
    this.#io.send(header, payload);
  }

  #advertisedWindow(): number {
    return Math.max(0, this.#receiveWindow - this.#reorder.bytes - this.#io.buffered());
  }

  #oldestSeq(): number | undefined {
    for (const seq of this.#outgoing.keys()) return seq;
    return undefined;
  }

  /** Our FIN acknowledged (everything before it too): the writer is done, told once. */
  #finishIfDone(): void {
    if (
      this.#finSeq === undefined ||
      this.#outgoing.size > 0 ||
      this.#finished ||
      this.#state !== 'connected'
    )
      return;
    this.#finished = true;
    this.#io.finished();
  }

  /** The peer's FIN and everything before it arrived. */
  get peerEnded(): boolean {
    return this.#gotEnd;
  }

  /** Both FINs acknowledged and received: the connection can close without a RESET. */
  get done(): boolean {
    return this.#finished && this.#gotEnd;
  }

  /** Closes without telling the peer (after `done`, or for a connection the peer never heard of). */
  release(): void {
    this.#close();
  }

  #close(error?: UtpError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#deadline = Number.POSITIVE_INFINITY;
    this.#outgoing.clear();
    this.#reorder.clear();
    this.#queue.clear();
    this.#io.closed(error);
  }

  /** The clock in µs, as 32 bits (the header's timestamp). */
  #micros(): number {
    return Math.floor(this.#io.now() * 1000) >>> 0;
  }
}
