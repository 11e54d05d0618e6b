/**
 * A blocklist's text (docs/blocklist.md) read into an IP filter (IpRangeSet), line by line, each
 * line in whichever of the formats BitTorrent clients read it is written:
 *
 * - P2P plaintext (PeerGuardian, Transmission's level1, qBittorrent's .p2p):
 *   `description:1.2.3.4-1.2.3.255` (the description may hold colons: the range is after the last);
 * - eMule / PeerGuardian DAT (ipfilter.dat): `001.002.003.004 - 001.002.003.255 , 000 , description`:
 *   the range, an access level, a description; a level of 127 or less blocks, above lets the range
 *   through (qBittorrent's filter parser and eMule read it so). A line whose first field is a range
 *   and then a comma is DAT: its range is that field, never a P2P-looking one in its description;
 * - a plain range `1.2.3.4-1.2.3.255`, a CIDR block `1.2.3.0/24`, or one address `1.2.3.4`.
 *
 * Blank lines and comments (`#`, `//`) are skipped. A line none of these is invalid: counted, the
 * first one's number kept, and skipped (qBittorrent and Transmission skip them too). IPv4 only: a
 * line whose range is IPv6 is counted apart (`ipv6`) and skipped. Pure: the text in, the set out
 * (src/net/read-blocklist.ts reads the file).
 */
import { parseIpv6 } from './ban-key.js';
import { IpRangeSet, ipv4Number } from './ip-range-set.js';

/** A DAT line's access level above this lets its range through (eMule's convention). */
export const DAT_BLOCKING_LEVEL = 127;

export interface ParsedBlocklist {
  readonly ranges: IpRangeSet;
  /** Lines that named a range (blocking or not), not counting blank lines and comments. */
  readonly entries: number;
  /** Lines that were none of the formats, and the first of them (1-based), if any. */
  readonly invalid: number;
  readonly firstInvalidLine: number | undefined;
  /** Lines whose range is IPv6: skipped (the filter is IPv4). */
  readonly ipv6: number;
  /** DAT lines whose access level (above 127) lets their range through. */
  readonly allowed: number;
}

/** One line read: a range, a range let through, an IPv6 range, or nothing (invalid). */
type LineRange = readonly [start: number, end: number] | 'allowed' | 'ipv6' | undefined;

/** Reads a blocklist's text. Never throws: a line it cannot read is counted as invalid. */
export function parseBlocklist(text: string): ParsedBlocklist {
  let starts = new Uint32Array(1024);
  let ends = new Uint32Array(1024);
  let count = 0;
  let entries = 0;
  let invalid = 0;
  let firstInvalidLine: number | undefined;
  let ipv6 = 0;
  let allowed = 0;
  let lineNumber = 0;
  let at = 0;
  while (at <= text.length) {
    let next = text.indexOf('\n', at);
    if (next === -1) next = text.length;
    lineNumber++;
    let from = at;
    let to = next;
    at = next + 1;
    while (from < to && text.charCodeAt(from) <= 32) from++;
    while (to > from && text.charCodeAt(to - 1) <= 32) to--;
    if (from === to) continue;
    const first = text.charCodeAt(from);
    if (first === HASH || (first === SLASH && text.charCodeAt(from + 1) === SLASH)) continue;
    entries++;
    // The usual line (P2P, or a plain range) read in place; anything else through lineRange. A DAT
    // line (a range, then a comma) never: its range is its first field, whatever its description
    // holds (a P2P-looking `x:1.2.3.4-1.2.3.5` there is text).
    const colon = lastOf(text, COLON, from, to);
    const range =
      !isDatLine(text, from, to) &&
      ((colon >= from && fastRange(text, colon + 1, to)) || fastRange(text, from, to))
        ? scratch
        : lineRange(text.slice(from, to));
    if (range === undefined) {
      invalid++;
      firstInvalidLine ??= lineNumber;
    } else if (range === 'ipv6') ipv6++;
    else if (range === 'allowed') allowed++;
    else {
      if (count === starts.length) {
        const grownStarts = new Uint32Array(count * 2);
        const grownEnds = new Uint32Array(count * 2);
        grownStarts.set(starts);
        grownEnds.set(ends);
        starts = grownStarts;
        ends = grownEnds;
      }
      starts[count] = range[0];
      ends[count] = range[1];
      count++;
    }
  }
  return {
    ranges: IpRangeSet.fromRanges(starts, ends, count),
    entries,
    invalid,
    firstInvalidLine,
    ipv6,
    allowed,
  };
}

const HASH = 35;
const SLASH = 47;
const DASH = 45;
const COMMA = 44;

const COLON = 58;

/**
 * The last `code` in `text` between `from` and `to`, or -1: bounded by the line, where
 * String#lastIndexOf would search back to the text's start (quadratic on a list of lines without).
 */
function lastOf(text: string, code: number, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (text.charCodeAt(i) === code) return i;
  return -1;
}

/** The first `code` in `text` between `from` and `to`, or -1 (bounded by the line, as lastOf). */
function firstOf(text: string, code: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === code) return i;
  return -1;
}

/** A DAT line: a comma, and before the first a range (IPv4 or IPv6) — its first field. */
function isDatLine(text: string, from: number, to: number): boolean {
  const comma = firstOf(text, COMMA, from, to);
  return comma !== -1 && (fastRange(text, from, comma) || isRangeField(text.slice(from, comma).trim()));
}

/** A DAT line's first field: a range, block or address, IPv4 or IPv6. */
function isRangeField(field: string): boolean {
  return plainRange(field) !== undefined || (!field.includes(',') && isIpv6Field(field));
}

/** fastRange's result, reused: one range a line, copied out at once. */
const scratch: [number, number] = [0, 0];

/**
 * `a.b.c.d-e.f.g.h` between `from` and `to` (spaces around the dash allowed), read without making a
 * string: into `scratch`, ordered. False for anything else (a DAT line, a CIDR block, one address).
 */
function fastRange(text: string, from: number, to: number): boolean {
  const dash = lastOf(text, DASH, from, to);
  if (dash === -1 || lastOf(text, COMMA, from, to) !== -1) return false;
  let aEnd = dash;
  while (aEnd > from && text.charCodeAt(aEnd - 1) === 32) aEnd--;
  let bStart = dash + 1;
  while (bStart < to && text.charCodeAt(bStart) === 32) bStart++;
  let aStart = from;
  while (aStart < aEnd && text.charCodeAt(aStart) === 32) aStart++;
  const a = ipv4Number(text, aStart, aEnd);
  if (a === undefined) return false;
  const b = ipv4Number(text, bStart, to);
  if (b === undefined) return false;
  scratch[0] = Math.min(a, b);
  scratch[1] = Math.max(a, b);
  return true;
}

function lineRange(line: string): LineRange {
  // DAT: the range from its fields only. A comma after anything else is a P2P description's.
  const comma = line.indexOf(',');
  if (comma !== -1 && isRangeField(line.slice(0, comma).trim())) return datRange(line, comma);
  const range = plainRange(line);
  if (range !== undefined) return range;
  // P2P: the range after the description's last colon.
  const colon = line.lastIndexOf(':');
  if (colon !== -1) {
    const p2p = plainRange(line.slice(colon + 1).trim());
    if (p2p !== undefined) return p2p;
  }
  return isIpv6Range(line) ? 'ipv6' : undefined;
}

/** `a.b.c.d - e.f.g.h , level , description` (eMule's ipfilter.dat). */
function datRange(line: string, comma: number): LineRange {
  const range = plainRange(line.slice(0, comma).trim());
  if (range === undefined) return isIpv6Range(line.slice(0, comma).trim()) ? 'ipv6' : undefined;
  const rest = line.slice(comma + 1);
  const second = rest.indexOf(',');
  const levelText = (second === -1 ? rest : rest.slice(0, second)).trim();
  if (!/^\d{1,9}$/.test(levelText)) return undefined;
  return Number(levelText) > DAT_BLOCKING_LEVEL ? 'allowed' : range;
}

/** `a.b.c.d-e.f.g.h` (spaces around the dash allowed), `a.b.c.d/n`, or `a.b.c.d`. */
function plainRange(text: string): readonly [start: number, end: number] | undefined {
  const dash = text.indexOf('-');
  if (dash !== -1) {
    const start = ipv4Number(text.slice(0, dash).trim());
    const end = ipv4Number(text.slice(dash + 1).trim());
    if (start === undefined || end === undefined) return undefined;
    // A range written backwards is the same range (qBittorrent swaps its ends too).
    return start <= end ? [start, end] : [end, start];
  }
  const slash = text.indexOf('/');
  if (slash !== -1) {
    const base = ipv4Number(text, 0, slash);
    const bitsText = text.slice(slash + 1);
    if (base === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
    const bits = Number(bitsText);
    if (bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const start = base - (base % size);
    return [start, start + size - 1];
  }
  const one = ipv4Number(text);
  return one === undefined ? undefined : [one, one];
}

/** An IPv6 range, block or address, alone (no P2P description before it). */
function isIpv6Field(c: string): boolean {
  if (c.length > MAX_IPV6_LINE) return false;
  const dash = c.indexOf('-');
  if (dash !== -1) return isIpv6(c.slice(0, dash).trim()) && isIpv6(c.slice(dash + 1).trim());
  const slash = c.indexOf('/');
  if (slash !== -1) return isIpv6(c.slice(0, slash)) && /^\d{1,3}$/.test(c.slice(slash + 1));
  return isIpv6(c);
}

/** Longer lines are not looked at as IPv6 (a split at each colon: quadratic in the line). */
const MAX_IPV6_LINE = 256;

/** An IPv6 range, block or address in any of the forms above (skipped: the filter is IPv4). */
function isIpv6Range(text: string): boolean {
  if (text.length > MAX_IPV6_LINE) return false;
  const candidates = [text];
  const colon = text.indexOf(':');
  // P2P's description before the range: every split after a colon.
  for (let i = colon; i !== -1; i = text.indexOf(':', i + 1)) candidates.push(text.slice(i + 1));
  return candidates.some((t) => isIpv6Field(t.trim()));
}

function isIpv6(s: string): boolean {
  return s.includes(':') && parseIpv6(s) !== undefined;
}
