/**
 * An IP filter's blocked ranges (libtorrent's ip_filter, Transmission's blocklist, qBittorrent's IP
 * filter): IPv4 ranges, inclusive at both ends, merged (overlapping and touching ranges become one)
 * and kept sorted in two typed arrays, `starts` and `ends`, 8 bytes a range; an address is looked
 * up by a binary search. Pure: no I/O (the torrent machine's guard and the listener ask it).
 *
 * IPv4 only, as most published lists are: an IPv6 address is never in the set (`hasHost` is false)
 * but for an IPv4-mapped one (`::ffff:a.b.c.d`), which is its IPv4 address.
 */
import { hostOf } from './address.js';
import { mappedIpv4Octets, parseIpv6 } from './ban-key.js';

export class IpRangeSet {
  /** Range starts, ascending; `ends[i]` ≥ `starts[i]`, and `starts[i + 1]` > `ends[i]` + 1. */
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;

  private constructor(starts: Uint32Array, ends: Uint32Array) {
    this.starts = starts;
    this.ends = ends;
  }

  /** Nothing blocked. */
  static readonly empty = new IpRangeSet(new Uint32Array(0), new Uint32Array(0));

  /**
   * The set of the first `count` ranges `[starts[i], ends[i]]` (unsigned 32-bit addresses, in any
   * order, overlapping or not; a range whose end is below its start is empty and dropped). The
   * arrays are not kept.
   */
  static fromRanges(starts: ArrayLike<number>, ends: ArrayLike<number>, count = starts.length): IpRangeSet {
    // One 64-bit key a range, start above end: a native numeric sort orders them by start, the
    // widest end last (no comparator called 10 million times for a 500k-range list).
    const keys = new BigUint64Array(count);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const s = starts[i]! >>> 0;
      const e = ends[i]! >>> 0;
      if (e < s) continue;
      keys[n++] = (BigInt(s) << 32n) | BigInt(e);
    }
    const sorted = keys.subarray(0, n).sort();
    const outStarts = new Uint32Array(n);
    const outEnds = new Uint32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const k = sorted[i]!;
      const s = Number(k >> 32n);
      const e = Number(k & 0xffff_ffffn);
      // Touching (end + 1 = start) or overlapping the last range: one range.
      if (m > 0 && s <= outEnds[m - 1]! + 1) {
        if (e > outEnds[m - 1]!) outEnds[m - 1] = e;
        continue;
      }
      outStarts[m] = s;
      outEnds[m] = e;
      m++;
    }
    // Copies the used part, so the arrays' memory is what the merged ranges take.
    return new IpRangeSet(outStarts.slice(0, m), outEnds.slice(0, m));
  }

  /** How many merged ranges. */
  get size(): number {
    return this.starts.length;
  }

  /** How many addresses the ranges cover (at most 2^32). */
  get addressCount(): number {
    let total = 0;
    for (let i = 0; i < this.starts.length; i++) total += this.ends[i]! - this.starts[i]! + 1;
    return total;
  }

  /** The IPv4 address `ip` (an unsigned 32-bit number) is in a range. */
  has(ip: number): boolean {
    const x = ip >>> 0;
    const { starts, ends } = this;
    // The last range starting at or below x.
    let lo = 0;
    let hi = starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= x) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at !== -1 && x <= ends[at]!;
  }

  /**
   * The host (a dotted quad, or an IPv4-mapped IPv6 address, as a dual-stack socket names an IPv4
   * peer) is in a range. Any other host — IPv6, a name — is not.
   */
  hasHost(host: string): boolean {
    if (this.starts.length === 0) return false;
    const v4 = ipv4Number(host);
    if (v4 !== undefined) return this.has(v4);
    const g = host.includes(':') ? parseIpv6(host) : undefined;
    const mapped = g === undefined ? undefined : mappedIpv4Octets(g);
    if (mapped === undefined) return false;
    return this.has(((mapped[0]! << 24) | (mapped[1]! << 16) | (mapped[2]! << 8) | mapped[3]!) >>> 0);
  }

  /** The host of `address` (`host:port`, `[v6]:port`) is in a range. */
  hasAddress(address: string): boolean {
    return this.starts.length !== 0 && this.hasHost(hostOf(address));
  }
}

/**
 * A dotted quad as an unsigned 32-bit number: four decimal octets 0–255, each of one to three
 * digits (leading zeros allowed, as eMule's DAT lists write them: `001.002.003.004`), or undefined.
 */
export function ipv4Number(s: string, from = 0, to = s.length): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 3) return undefined;
      octet = octet * 10 + (c - 48);
      digits++;
    } else if (c === 46) {
      if (digits === 0 || octet > 255 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return undefined;
  return value * 256 + octet;
}

/** An unsigned 32-bit IPv4 address as a dotted quad. */
export function formatIpv4(ip: number): string {
  const x = ip >>> 0;
  return `${x >>> 24}.${(x >>> 16) & 0xff}.${(x >>> 8) & 0xff}.${x & 0xff}`;
}
