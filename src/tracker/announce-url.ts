/**
 * The announce URL (BEP 3): the tracker's URL (which may already carry a query string) plus our
 * parameters. `info_hash` and `peer_id` are raw bytes, so every byte outside RFC 3986's
 * unreserved set (A–Z a–z 0–9 - . _ ~) becomes %XX — never a UTF-8 re-encoding, never '+'.
 */
import type { AnnounceParams } from './announce-types.js';
import { TrackerError } from './tracker-error.js';

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || // 0-9
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

/** Percent-encodes raw bytes: unreserved bytes as themselves, every other byte as %XX. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += isUnreserved(b) ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return s;
}

/** Parses and checks a tracker URL: http or https only (UDP trackers, BEP 15, are another client). */
export function trackerUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new TrackerError('badUrl', `not a URL: ${url}`, { url, cause });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TrackerError('badUrl', `not an http(s) tracker: ${url}`, { url });
  return u;
}

export function announceUrl(url: string, p: AnnounceParams): string {
  const u = trackerUrl(url);
  const parts = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
  ];
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  if (p.event !== 'regular') parts.push(`event=${p.event}`);
  if (p.key !== undefined) parts.push(`key=${encodeURIComponent(p.key)}`);
  if (p.trackerId !== undefined) parts.push(`trackerid=${encodeURIComponent(p.trackerId)}`);
  // Keep the tracker's own query (e.g. a passkey) and drop any fragment.
  const base = `${u.origin}${u.pathname}`;
  const query = u.search.length > 1 ? `${u.search}&` : '?';
  return `${base}${query}${parts.join('&')}`;
}

/**
 * The scrape URL for an announce URL (BEP 48 convention): the last path segment must start with
 * `announce`, which becomes `scrape`; otherwise the tracker does not support scrape (undefined).
 */
export function scrapeUrl(announce: string): string | undefined {
  const u = trackerUrl(announce);
  const slash = u.pathname.lastIndexOf('/');
  const last = u.pathname.slice(slash + 1);
  if (!last.startsWith('announce')) return undefined;
  u.pathname = `${u.pathname.slice(0, slash + 1)}scrape${last.slice('announce'.length)}`;
  return u.toString();
}
