/**
 * Bytes handed to the disk and not yet written, with a gate the sockets obey: when the disk falls
 * behind the network (loopback outruns a disk whose dirty-page budget is spent), the backlog passes
 * WRITE_BACKLOG_HIGH, the gate closes and every connection pauses reading (TCP then slows the
 * senders); at WRITE_BACKLOG_LOW it opens again. So memory for blocks waiting on the disk is bounded
 * by configuration, whatever the peers send and however slow the disk.
 */

/**
 * 10 / 5 MiB (issue #8; was 16 / 8): at 400 MB/s 10 MiB is 25 ms of disk stall, and the kernel's
 * socket buffers hold what the senders send meanwhile. Measured on 1 GiB from four local
 * libtorrent seeders, three interleaved rounds, block pool sized to match: 16 / 8 peaked at
 * 97–102 MiB RSS, 10 / 5 at 93–97 and no slower; 6 / 3 paused the sockets so often that it cost
 * CPU and ~10 % of the rate.
 */
export const WRITE_BACKLOG_HIGH = 10 * 1024 * 1024;
export const WRITE_BACKLOG_LOW = 5 * 1024 * 1024;

/**
 * What a connection needs to know: may it read now, and when may it again. And what it tells: the
 * bytes of blocks it has read and not yet handed on (`hold`, then `release` once handed on: they
 * reach the disk's queue at the end of the event loop's turn, read-batches.ts). Counting them
 * closes the gate in the middle of a turn: libuv reads a readable socket up to 32 times per turn,
 * so several fast sockets could otherwise read tens of MiB before the first of it was queued
 * (measured, issue #8: a backlog of 17–19 MiB against a 10 MiB gate, from four local seeders).
 */
export interface ReadGate {
  readonly open: boolean;
  whenOpen(resume: () => void): void;
  hold(n: number): void;
  release(n: number): void;
}

export class WriteBacklog implements ReadGate {
  readonly high: number;
  readonly low: number;
  #bytes = 0;
  /** Read by the connections and not yet handed on (ReadGate.hold). */
  #held = 0;
  #open = true;
  #waiting: (() => void)[] = [];

  constructor(high = WRITE_BACKLOG_HIGH, low = WRITE_BACKLOG_LOW) {
    if (!(low >= 0 && high > low))
      throw new RangeError(`write backlog: low ${low} must be below high ${high}`);
    this.high = high;
    this.low = low;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Bytes read and not yet handed on. */
  get held(): number {
    return this.#held;
  }

  /** A write of `n` bytes was queued. */
  add(n: number): void {
    this.#bytes += n;
    this.#closeIfHigh();
  }

  /** A write of `n` bytes settled (written or failed). */
  done(n: number): void {
    this.#bytes -= n;
    this.#openIfLow();
  }

  hold(n: number): void {
    this.#held += n;
    this.#closeIfHigh();
  }

  release(n: number): void {
    this.#held -= n;
    this.#openIfLow();
  }

  #closeIfHigh(): void {
    if (this.#bytes + this.#held >= this.high) this.#open = false;
  }

  #openIfLow(): void {
    if (!this.#open && this.#bytes + this.#held <= this.low) {
      this.#open = true;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const resume of waiting) resume();
    }
  }

  whenOpen(resume: () => void): void {
    if (this.#open) resume();
    else this.#waiting.push(resume);
  }
}
