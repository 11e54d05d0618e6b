/**
 * The connection's bound on decoding BEP 11 ut_pex messages: one in PEX_DECODE_INTERVAL_MS; those
 * between are dropped undecoded. The torrent machine takes one a 45 s from a peer at most
 * (machines/torrent-pex.ts, PEX_MIN_INTERVAL_MS), so a peer keeping the convention (one a minute;
 * Transmission's first right after the extension handshake) loses nothing here. One sending more
 * often can lose a message the machine would have taken (decoded at 40 s and ignored, the next at
 * 48 s dropped here): its peers come with its next message, at most 10 s later. What this bounds
 * is the CPU. A ut_pex payload of 100 added and 100 dropped IPv6 peers (3.7 KB) took
 * ~270 µs to decode (measured); within the message budget of 2,000 events a second a hostile peer
 * repeating it would have held the event loop over half of each second, per connection.
 */

export const PEX_DECODE_INTERVAL_MS = 10_000;

export class PexGate {
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** This ut_pex message may be decoded: none was within PEX_DECODE_INTERVAL_MS. */
  take(): boolean {
    const now = this.#now();
    if (now - this.#last < PEX_DECODE_INTERVAL_MS) return false;
    this.#last = now;
    return true;
  }
}
