/**
 * Whether the store writes a run of blocks on the main thread (a synchronous pwritev) or hands it
 * to libuv's thread pool (issue #8).
 *
 * Why synchronous first: a write into the page cache takes ~0.1 ms for a run of ~270 KiB, but
 * handing it to the pool costs a wake-up of a pool thread and, when it is done, a wake-up of the
 * main thread — on this 2-vCPU VM an interprocessor interrupt each way. Measured on 1 GiB from four
 * local libtorrent seeders, three interleaved rounds: 2.21–2.32 CPU s with synchronous writes
 * against 2.47–2.66 through the pool, wall time no longer (2.77–2.86 s against 2.81–2.98).
 *
 * Why not always: when the disk falls behind, the kernel makes writers wait (dirty-page
 * throttling, a full device queue, a network file system), and a synchronous write would stall
 * every socket with it. So each synchronous write is timed, and one slower than SLOW_WRITE_MS
 * sends writes to the pool for a hold before the main thread tries again: a slow disk costs the
 * event loop at most one slow write per hold. The hold starts short (MIN_POOL_HOLD_MS) and doubles
 * each time the writes are slow again within a hold's length of the last one, up to POOL_HOLD_MS:
 * a disk that stays slow soon costs one slow write per 5 s, while one slow moment (page reclaim,
 * another process's burst) no longer sends the rest of a download to the pool, which costs ~0.17
 * CPU s per GiB in wake-ups (1 GiB from four local seeders, 8 interleaved rounds: 2.45 against
 * 2.28 with every write synchronous).
 *
 * Syncs: while `flush()` syncs the store's files for a resume save (`during`), writes go to the
 * pool: a write into a file being synced waited for that sync (measured before writeback: 20–28 ms,
 * once per resume save on a 1 GiB download). The fd cache's writeback syncs (every 16 MiB written)
 * no longer do (issue #8, seventh pass): they cover at most ~16 MiB, the writes made during them
 * were never slow (none over SLOW_WRITE_MS, the budget tripped at most once per download, in six
 * 1 GiB downloads with the rule lifted for every sync, sparse files or preallocated), and
 * sending to the pool the runs of the ~60 % of a download spent in writeback cost wake-ups (1 GiB
 * from four local seeders, 14 interleaved rounds: 2.34 against 2.41 CPU s, wall 2.69 against 2.80
 * s). A disk where they would be slow trips the guard above.
 */

/** A synchronous write slower than this sends writes to the thread pool. */
export const SLOW_WRITE_MS = 10;
/**
 * So do synchronous writes that add up to more than this within WRITE_WINDOW_MS: many writes just
 * under SLOW_WRITE_MS each would hold the event loop as long (at 400 MB/s they take ~1.5 ms per
 * 100 ms of the main thread's time).
 */
export const WRITE_BUDGET_MS = 25;
export const WRITE_WINDOW_MS = 100;
/** The first hold: how long writes go through the thread pool before a synchronous one is tried again. */
export const MIN_POOL_HOLD_MS = 250;
/** The longest hold, reached by doubling while the writes stay slow (see above). */
export const POOL_HOLD_MS = 5_000;

export type WriteModeSetting = 'auto' | 'sync' | 'pool';

export class WriteMode {
  readonly #setting: WriteModeSetting;
  readonly #now: () => number;
  /** Until when writes go through the pool ('auto' after a slow synchronous write). */
  #poolUntil = Number.NEGATIVE_INFINITY;
  /** The length of the last hold: the next one doubles it if the writes are slow again soon. */
  #hold = MIN_POOL_HOLD_MS;
  /** Syncs of the store's files in progress ('auto': writes go through the pool meanwhile). */
  #syncing = 0;
  /** Time spent in synchronous writes since #windowStart. */
  #windowStart = Number.NEGATIVE_INFINITY;
  #windowSpent = 0;
  /** Writes made each way, and synchronous ones that were slow (for tests and the benchmark). */
  syncWrites = 0;
  poolWrites = 0;
  slowWrites = 0;

  constructor(setting: WriteModeSetting = 'auto', now: () => number = () => performance.now()) {
    this.#setting = setting;
    this.#now = now;
  }

  /** True when the next write should be synchronous; then call `wrote` with its start time. */
  get sync(): boolean {
    if (this.#setting !== 'auto') return this.#setting === 'sync';
    return this.#syncing === 0 && this.#now() >= this.#poolUntil;
  }

  /** `sync` (a flush of the store's files) is running: writes go through the pool until it settles. */
  during<T>(sync: Promise<T>): Promise<T> {
    this.#syncing++;
    const done = () => {
      this.#syncing--;
    };
    sync.then(done, done);
    return sync;
  }

  /** A write goes to the thread pool (`sync` was false). */
  pooled(): void {
    this.poolWrites++;
  }

  /** The current time, to pass back to `wrote`. */
  start(): number {
    return this.#now();
  }

  /** A synchronous write that began at `startedAt` has returned. */
  wrote(startedAt: number): void {
    this.syncWrites++;
    const now = this.#now();
    const took = now - startedAt;
    if (now - this.#windowStart > WRITE_WINDOW_MS) {
      this.#windowStart = startedAt;
      this.#windowSpent = 0;
    }
    this.#windowSpent += took;
    if (took <= SLOW_WRITE_MS && this.#windowSpent <= WRITE_BUDGET_MS) return;
    this.slowWrites++;
    this.#windowSpent = 0;
    if (this.#setting !== 'auto') return;
    // Slow again within a hold's length of the last hold's end: longer; otherwise short again.
    this.#hold =
      now - this.#poolUntil < this.#hold ? Math.min(2 * this.#hold, POOL_HOLD_MS) : MIN_POOL_HOLD_MS;
    this.#poolUntil = now + this.#hold;
  }
}
