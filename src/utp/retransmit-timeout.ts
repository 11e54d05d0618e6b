/**
 * uTP's retransmission timeout (BEP 29: "rto = max(rtt + rtt_var * 4, 500 ms)"), estimated as TCP does
 * (RFC 6298) from the round trips of packets acknowledged after one transmission only (Karn: a
 * resent packet's ack says nothing about which send it answers). Each timeout doubles it, up to a
 * minute, until a fresh sample sets it again.
 */

export const MIN_RTO_MS = 500;
export const INITIAL_RTO_MS = 1000;
export const MAX_RTO_MS = 60_000;

export class RetransmitTimeout {
  #rtt: number | undefined;
  #rttVar = 0;
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
    this.#rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.#rtt + 4 * this.#rttVar));
  }

  /** A timeout fired: wait twice as long for the resend. */
  backOff(): void {
    this.#rto = Math.min(MAX_RTO_MS, this.#rto * 2);
  }
}
