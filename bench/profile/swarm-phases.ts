/**
 * A download's timeline split into its phases (issue #8, bench/profile/swarm-timeline.ts): before
 * the seeders send anything (the downloader's start-up), the seeders' ramp, and the rest.
 *
 * The ramp: a libtorrent 2.0 seeder keeps one block in flight per connection until its first
 * second tick (`send_buffer_low_watermark`, docs/performance.md "The seeders' ramp"), so each block
 * is a round trip through its disk thread, and its threads switch many times more often than later.
 * Here the ramp runs from the seeders' first busy interval (context switches at least a quarter of
 * the median interval's; idle seeders switch a few dozen times per interval) through the one with
 * the most seeders' context switches, and on while they stay at or above RAMP_SWITCH_FACTOR × the
 * median of the intervals from the first busy one on: a rule read off the timelines (the switches
 * climb for 0.1–0.3 s, stay high, then fall to a fifth within one interval), stated as such in the
 * tool's output.
 */

import { CLOCK_TICKS } from '../suite/machine.js';
import { median } from '../suite/stats.js';

export const RAMP_SWITCH_FACTOR = 2;

/** What one sampling interval saw, as differences of /proc counters over it. */
export interface Interval {
  /** Seconds from the downloader's spawn to the end of the interval. */
  readonly t: number;
  /** Ticks the machine had in the interval: cores × its length × CLOCK_TICKS. */
  readonly capacity: number;
  readonly downloaderMain: number;
  readonly downloaderOther: number;
  readonly seeders: number;
  readonly seederSwitches: number;
  readonly idle: number;
  /** Bytes IP received on the machine (on loopback: what the seeders sent, headers included). */
  readonly bytes: number;
}

export interface PhaseSummary {
  readonly seconds: number;
  /** CPU as a number of cores busy on average (1 = one core for the whole phase). */
  readonly downloaderCores: number;
  readonly downloaderMainCores: number;
  readonly seedersCores: number;
  /** The seeders' context switches per second. */
  readonly seederSwitchesPerSecond: number;
  /** The machine's idle (and iowait) share of its capacity. */
  readonly idleShare: number;
  /** Bytes received per second, in MB (10^6). */
  readonly megabytesPerSecond: number;
}

export interface Phases {
  /** Seconds from spawn to the start of the ramp: the seeders' first busy interval. */
  readonly startSeconds: number;
  readonly ramp: PhaseSummary;
  readonly rest: PhaseSummary;
}

/** `intervals` in order, without gaps; `cores` is the machine's. */
export function splitPhases(intervals: readonly Interval[], cores: number): Phases {
  const typical = median(intervals.map((i) => i.seederSwitches));
  // Idle seeders switch a few dozen times per interval (their timers): busy is a quarter of typical.
  const first = intervals.findIndex((i) => i.seederSwitches >= typical / 4);
  const active = first === -1 ? [] : intervals.slice(first);
  const threshold = RAMP_SWITCH_FACTOR * median(active.map((i) => i.seederSwitches));
  // Through the busiest interval, then on while the switches stay at or above the threshold; no
  // ramp when even the busiest interval is below it.
  let peak = 0;
  active.forEach((i, n) => {
    if (i.seederSwitches > active[peak]!.seederSwitches) peak = n;
  });
  let rampEnd = 0;
  if (active.length > 0 && active[peak]!.seederSwitches >= threshold) {
    rampEnd = peak + 1;
    while (rampEnd < active.length && active[rampEnd]!.seederSwitches >= threshold) rampEnd++;
  }
  const startSeconds = first <= 0 ? 0 : intervals[first - 1]!.t;
  return {
    startSeconds,
    ramp: summarise(active.slice(0, rampEnd), cores),
    rest: summarise(active.slice(rampEnd), cores),
  };
}

function summarise(part: readonly Interval[], cores: number): PhaseSummary {
  const sum = (f: (i: Interval) => number) => part.reduce((a, i) => a + f(i), 0);
  const capacity = sum((i) => i.capacity);
  const seconds = capacity / (cores * CLOCK_TICKS);
  const share = (ticks: number) => (capacity === 0 ? Number.NaN : (ticks / capacity) * cores);
  return {
    seconds,
    downloaderCores: share(sum((i) => i.downloaderMain + i.downloaderOther)),
    downloaderMainCores: share(sum((i) => i.downloaderMain)),
    seedersCores: share(sum((i) => i.seeders)),
    seederSwitchesPerSecond: seconds === 0 ? Number.NaN : sum((i) => i.seederSwitches) / seconds,
    idleShare: capacity === 0 ? Number.NaN : sum((i) => i.idle) / capacity,
    megabytesPerSecond: seconds === 0 ? Number.NaN : sum((i) => i.bytes) / 1e6 / seconds,
  };
}
