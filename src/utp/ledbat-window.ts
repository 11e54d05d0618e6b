/**
 * uTP's congestion window (BEP 29, after RFC 6817 LEDBAT): the bytes a connection may have in flight.
 * It grows while the one-way delay the peer measures for our packets stays under a target (100 ms)
 * above the lowest delay seen (the base delay: the path with empty queues), and shrinks when the
 * delay passes it — uTP yields to TCP and to the user's own traffic instead of filling the modem's
 * queue. A loss halves it, a timeout drops it to one packet. It starts in slow start (growing by
 * what each ack acknowledges, as libtorrent does) until a loss or a delay past half the target.
 *
 * Delays are the peer's `timestamp_difference` (its clock minus ours, 32-bit µs): the offset between
 * the clocks cancels out in `delay - base`. The base is the lowest sample of the last two minutes
 * (kept per minute, so a route change or clock drift ages out), compared with 32-bit wrap.
 */

/** BEP 29's target queuing delay. */
export const TARGET_DELAY_US = 100_000;
/** libutp's MAX_CWND_INCREASE_BYTES_PER_RTT: the most the window grows per window acknowledged at no delay. */
export const MAX_CWND_INCREASE_BYTES = 3000;
const BASE_DELAY_BUCKET_MS = 60_000;

export class LedbatWindow {
  readonly #packet: number;
  readonly #max: number;
  #window: number;
  #slowStart = true;
  #slowStartThreshold: number;
  #baseCurrent: number | undefined;
  #basePrevious: number | undefined;
  #bucketStart: number;

  constructor(packet: number, max: number, now: number) {
    this.#packet = packet;
    this.#max = max;
    this.#window = 2 * packet;
    this.#slowStartThreshold = max;
    this.#bucketStart = now;
  }

  /** Bytes that may be in flight. */
  get window(): number {
    return this.#window;
  }

  get slowStart(): boolean {
    return this.#slowStart;
  }

  /**
   * `bytes` were acknowledged by a packet whose timestamp_difference was `delaySample` (µs; 0: the
   * peer has not measured one yet), with `inFlight` bytes still in flight before the ack.
   */
  acked(bytes: number, delaySample: number, now: number): void {
    if (bytes <= 0) return;
    let queuing = 0;
    if (delaySample !== 0) {
      const base = this.#base(delaySample, now);
      queuing = (delaySample - base) >>> 0;
      if (queuing > 0x7fffffff) queuing = 0; // the base moved past this sample: no queue
    }
    const offTarget = (TARGET_DELAY_US - queuing) / TARGET_DELAY_US;
    if (this.#slowStart) {
      if (queuing > TARGET_DELAY_US / 2) this.#slowStart = false;
      else {
        this.#window = Math.min(this.#window + bytes, this.#max);
        if (this.#window >= this.#slowStartThreshold) this.#slowStart = false;
        return;
      }
    }
    const windowFactor = Math.min(bytes, this.#window) / Math.max(this.#window, bytes);
    const gain = MAX_CWND_INCREASE_BYTES * windowFactor * Math.max(-1, offTarget);
    this.#window = Math.max(this.#packet, Math.min(this.#max, this.#window + gain));
  }

  /** A packet was lost (duplicate acks, a selective ack's hole): half the window, slow start over. */
  lost(): void {
    this.#window = Math.max(this.#packet, Math.floor(this.#window / 2));
    this.#slowStartThreshold = this.#window;
    this.#slowStart = false;
  }

  /** Nothing was acknowledged for a retransmission timeout: one packet, then slow start to half of before. */
  timedOut(): void {
    this.#slowStartThreshold = Math.max(this.#packet, Math.floor(this.#window / 2));
    this.#window = this.#packet;
    this.#slowStart = true;
  }

  #base(sample: number, now: number): number {
    if (now - this.#bucketStart >= BASE_DELAY_BUCKET_MS) {
      this.#basePrevious = this.#baseCurrent;
      this.#baseCurrent = undefined;
      this.#bucketStart = now;
    }
    if (this.#baseCurrent === undefined || ((sample - this.#baseCurrent) | 0) < 0) this.#baseCurrent = sample;
    const previous = this.#basePrevious;
    return previous !== undefined && ((previous - this.#baseCurrent) | 0) < 0 ? previous : this.#baseCurrent;
  }
}
