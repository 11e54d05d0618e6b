/**
 * uTP's retransmission timeout (BEP 29: "rto = max(rtt + rtt_var * 4, 500 ms)"), estimated as TCP does
 * (RFC 6298) from the round trips of packets acknowledged after one transmission only (Karn: a
 * resent packet's ack says nothing about which send it answers). Each timeout doubles it, up to a
 * minute; an ack that makes progress ends the backoff (libutp sets the timeout back to its rto on
 * every packet acked, libtorrent counts the doublings in timeouts in a row, reset by an ack). Kept
 * until a fresh sample instead (TCP's Karn backoff), a window of one packet at 30 % loss rarely gets
 * one — a lost packet or a lost ack each cost a timeout, a resent packet's ack is no sample — so the
 * timeout doubled from loss to loss past the 29 s keepalive while the peer answered every packet:
 * a 1.3 MB transfer took 20 minutes (the property test's counterexample).
 */

export const MIN_RTO_MS = 500;
export const INITIAL_RTO_MS = 1000;
export const MAX_RTO_MS = 60_000;

export class RetransmitTimeout {
  #rtt: number | undefined;
  #rttVar = 0;
  /** The estimate from the samples, without backoff. */
  #estimate = INITIAL_RTO_MS;
  #rto = INITIAL_RTO_MS;

  /** The current timeout (ms). */
  get ms(): number {
    return this.#rto;
  }

  /** The smoothed round trip (ms), once measured. */
  get rttMs(): number | undefined {
    return this.#rtt;
  }

  /** A round trip measured on a packet sent once. */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.#rtt === undefined) {
      this.#rtt = r;
      this.#rttVar = r / 2;
    } else {
      this.#rttVar += (Math.abs(this.#rtt - r) - this.#rttVar) / 4;
      this.#rtt += (r - this.#rtt) / 8;
    }
    this.#estimate = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.#rtt + 4 * this.#rttVar));
    this.#rto = this.#estimate;
  }

  /** A timeout fired: wait twice as long for the resend. */
  backOff(): void {
    this.#rto = Math.min(MAX_RTO_MS, this.#rto * 2);
  }

  /** The peer acknowledged something new: it is there, the backoff ends (the estimate stays). */
  progressed(): void {
    this.#rto = this.#estimate;
  }
}
