/**
 * A token bucket for payload rate limits (`--max-up`, `--max-down`): `rate` bytes a second, bursts
 * up to `capacity` (at least one 16 KiB block, so a block is never unsendable). Shared by every
 * connection of a session, so the limit is for the whole client, as in libtorrent and Transmission.
 * Only payload (piece blocks) is counted; protocol messages are a few bytes and pass freely.
 */
export const MIN_BUCKET_CAPACITY = 16 * 1024;

export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(rate: number, opts: { capacity?: number; now?: () => number } = {}) {
    if (!(rate > 0)) throw new RangeError(`rate must be positive, not ${rate}`);
    this.rate = rate;
    this.capacity = Math.max(MIN_BUCKET_CAPACITY, opts.capacity ?? Math.floor(rate / 4));
    this.#now = opts.now ?? (() => performance.now());
    this.#tokens = this.capacity;
    this.#at = this.#now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
  }

  /** Takes `n` tokens if there are that many now. */
  tryTake(n: number): boolean {
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are there (0 when they are). */
  msUntil(n: number): number {
    this.#refill();
    return this.#tokens >= n ? 0 : Math.ceil(((n - this.#tokens) * 1000) / this.rate);
  }

  /** Takes `n` tokens even into debt; returns how long to wait before taking more (receive side). */
  takeDebt(n: number): number {
    this.#refill();
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.rate);
  }
}
