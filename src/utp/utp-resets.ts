/**
 * ST_RESET to a uTP packet no connection on our UDP port owns (BEP 29): the sender learns at once
 * that there is nothing here, as a TCP RST tells it, instead of resending until its timeouts. Both
 * libutp (µTorrent, Transmission) and libtorrent take a RESET answering their SYN as a refused
 * connection (ECONNREFUSED / connection reset), and libtorrent then dials the same peer over TCP at
 * once; left unanswered, the SYN is resent until libtorrent's uTP connect timeout (~3 s) first.
 *
 * Which packets are answered (`answeredByReset`): a SYN we refuse and DATA for no connection. Never
 * a RESET (two ends without a connection would answer each other's for ever: libutp, libtorrent),
 * and neither a STATE nor a FIN: acks and the FIN answering ours still come after a clean close, and
 * a RESET to them would turn the peer's clean close into ECONNRESET. The RESET carries the packet's
 * connection id (for a SYN, the receive id its sender files the connection under) and acknowledges
 * its seq_nr, which is what libtorrent checks before it believes a RESET. At most
 * RESETS_PER_SECOND leave a second, whatever arrives.
 */
import { encodeUtpHeader, ST_DATA, ST_RESET, ST_SYN, type UtpPacket } from './utp-packet.js';

export const RESETS_PER_SECOND = 100;

/** Where a packet came from, and where its RESET goes. */
export interface UtpPeerAddress {
  readonly address: string;
  readonly port: number;
}

/** Whether a packet that no connection owns, or that we refuse, is answered by ST_RESET. */
export function answeredByReset(p: UtpPacket): boolean {
  return p.type === ST_SYN || p.type === ST_DATA;
}

export class UtpResets {
  readonly #send: (header: Uint8Array, to: UtpPeerAddress) => void;
  readonly #now: () => number;
  #sentThisSecond = 0;
  #second = 0;

  /** `now` is the clock in ms (the RESET's timestamp is in µs). */
  constructor(send: (header: Uint8Array, to: UtpPeerAddress) => void, now: () => number) {
    this.#send = send;
    this.#now = now;
  }

  /** Answers `p` from `from` with ST_RESET, unless RESETS_PER_SECOND have gone this second. */
  answer(p: UtpPacket, from: UtpPeerAddress): void {
    const now = this.#now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#sentThisSecond = 0;
    }
    if (++this.#sentThisSecond > RESETS_PER_SECOND) return;
    const header = encodeUtpHeader({
      type: ST_RESET,
      connectionId: p.connectionId,
      timestamp: Math.floor(now * 1000) >>> 0,
      timestampDifference: 0,
      windowSize: 0,
      seqNr: Math.floor(Math.random() * 0x10000),
      ackNr: p.seqNr,
    });
    this.#send(header, from);
  }
}
