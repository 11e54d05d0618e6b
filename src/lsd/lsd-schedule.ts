/**
 * When Local Service Discovery (BEP 14) announces which info-hashes. Pure: the driver (lsd.ts) asks
 * with the time, and sends what it is given.
 *
 * Each info-hash is announced as it is added (a torrent's start) and then every `intervalMs`
 * (LSD_ANNOUNCE_INTERVAL_MS, 5 minutes, as libtorrent's local_service_announce_interval;
 * Transmission: 4 minutes a download, 8 a seed). Those due together go in one announce, up to
 * LSD_INFOHASHES_PER_MESSAGE (BEP 14 allows several Infohash lines; libtorrent and Transmission 3
 * send one a message), with those due within the next fifth of the interval (a minute), so torrents
 * started apart come to share announces (BEP 14: a client should send no more than one a minute);
 * and announces leave at most one a `gapMs` (1 s), so a hundred torrents starting at once make five
 * announces over five seconds, not a burst of a hundred.
 *
 * An info-hash removed and added again before it was next due (a magnet link's metadata fetch
 * handing its announces to the download that follows, on one service) keeps the time it had: it is
 * not announced again within the interval (BEP 14's minute). At most LSD_REMEMBERED_REMOVED such
 * times are kept, each only until it passes.
 */
import { LSD_INFOHASHES_PER_MESSAGE } from './lsd-message.js';

/** Between two announces of one info-hash (libtorrent's local_service_announce_interval). */
export const LSD_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** Between two announces, whatever they hold. */
export const LSD_ANNOUNCE_GAP_MS = 1000;
/** Removed info-hashes whose next due time is remembered (the oldest forgotten first). */
export const LSD_REMEMBERED_REMOVED = 1000;

export class LsdSchedule {
  readonly #intervalMs: number;
  readonly #gapMs: number;
  /** Each info-hash (hex) and when it is next due; Map order is the order they were added. */
  readonly #due = new Map<string, number>();
  /** Info-hashes removed before they were due again, and when they were due. */
  readonly #removed = new Map<string, number>();
  #lastSent: number | undefined;

  constructor(o: { readonly intervalMs?: number; readonly gapMs?: number } = {}) {
    this.#intervalMs = o.intervalMs ?? LSD_ANNOUNCE_INTERVAL_MS;
    this.#gapMs = o.gapMs ?? LSD_ANNOUNCE_GAP_MS;
    // NaN would leave every info-hash due at NaN: never taken again, and a wake-up time of NaN.
    if (!(this.#intervalMs > 0))
      throw new RangeError(`an LSD announce interval is a positive number of ms, got ${this.#intervalMs}`);
    if (!(this.#gapMs >= 0))
      throw new RangeError(`the gap between LSD announces is 0 ms or more, got ${this.#gapMs}`);
  }

  get size(): number {
    return this.#due.size;
  }

  /**
   * Due at once (a torrent starting); one already here keeps its time, and so does one removed
   * before it was due again.
   */
  add(key: string, now: number): void {
    const was = this.#removed.get(key);
    this.#removed.delete(key);
    if (!this.#due.has(key)) this.#due.set(key, was !== undefined && was > now ? was : now);
  }

  remove(key: string, now: number): void {
    const at = this.#due.get(key);
    this.#due.delete(key);
    for (const [k, due] of this.#removed) if (due <= now) this.#removed.delete(k);
    if (at === undefined || at <= now) return;
    this.#removed.delete(key);
    this.#removed.set(key, at);
    if (this.#removed.size > LSD_REMEMBERED_REMOVED) this.#removed.delete(this.#removed.keys().next().value!);
  }

  /** Every info-hash due at once (what was announced has changed: the port), the gap kept. */
  allDue(now: number): void {
    for (const key of this.#due.keys()) this.#due.set(key, now);
    this.#removed.clear();
  }

  /**
   * What to announce now: when one key is due, it and those due within `intervalMs / 5`, earliest
   * first, at most LSD_INFOHASHES_PER_MESSAGE, each then due again `intervalMs` from now; none while
   * the last announce is younger than `gapMs`.
   */
  take(now: number): string[] {
    if (this.#lastSent !== undefined && now - this.#lastSent < this.#gapMs) return [];
    const byTime = [...this.#due].sort((a, b) => a[1] - b[1]);
    if (byTime.length === 0 || byTime[0]![1] > now) return [];
    // Those due within a fifth of the interval go along: torrents started apart come to share
    // announces (BEP 14: no more than one a minute), each announced a little early once.
    const until = now + this.#intervalMs / 5;
    const taken = byTime
      .filter(([, at]) => at <= until)
      .slice(0, LSD_INFOHASHES_PER_MESSAGE)
      .map(([key]) => key);
    for (const key of taken) this.#due.set(key, now + this.#intervalMs);
    if (taken.length > 0) this.#lastSent = now;
    return taken;
  }

  /** When `take` next has something to give (undefined: nothing added). */
  wakeAt(): number | undefined {
    let earliest: number | undefined;
    for (const at of this.#due.values()) if (earliest === undefined || at < earliest) earliest = at;
    if (earliest === undefined) return undefined;
    return this.#lastSent === undefined ? earliest : Math.max(earliest, this.#lastSent + this.#gapMs);
  }
}
