/**
 * The tracker's answer to an announce (BEP 3), decoded with our strict bencode decoder:
 *
 *   d8:intervali1800e12:min intervali900e5:peers6:<ip4><port>…6:peers618:<ip6><port>…e
 *
 * `peers` is either compact (BEP 23: 6 bytes per peer, 4 of IPv4 address then 2 of port, both
 * big-endian) or a list of dictionaries { ip, port, peer id }; `peers6` is compact IPv6 (BEP 7:
 * 16 + 2 bytes per peer). A `failure reason` makes the whole answer a TrackerError 'failure';
 * anything that is not this shape is 'badResponse'. Peers with port 0, undialable addresses and
 * repeats are dropped, and at most MAX_ANNOUNCE_PEERS are read (peer-collector.ts).
 */
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import type { AnnounceResponse } from './announce-types.js';
import { PeerCollector } from './peer-collector.js';
import { TrackerError } from './tracker-error.js';

/**
 * Most bencode values a tracker's answer (announce or scrape) may hold, counted before anything is
 * built: ~7,000 dictionary-model peers, where an honest answer has a few dozen values (compact
 * peers are one string). 1 MiB of empty lists is 524,000 values: 234 ms of the main thread and
 * +45 MB for each such announce before this limit; 10 ms and +4 MB with it (counting only).
 */
export const MAX_TRACKER_TOKENS = 50_000;

/** Longest failure/warning text kept (a hostile tracker could send a megabyte of it). */
export const MAX_TRACKER_MESSAGE_CHARS = 512;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function bad(message: string, cause?: unknown): TrackerError {
  return new TrackerError(
    'badResponse',
    `tracker response: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

function text(v: BencodeValue | undefined, key: string): string | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw bad(`'${key}' is not a string`);
  const s = utf8.decode(v);
  return s.length > MAX_TRACKER_MESSAGE_CHARS ? `${s.slice(0, MAX_TRACKER_MESSAGE_CHARS)}…` : s;
}

function count(v: BencodeValue | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
    throw bad(`'${key}' is not a non-negative integer`);
  return Number(v);
}

function compactV4(bytes: Uint8Array, out: PeerCollector): void {
  if (bytes.length % 6 !== 0) throw bad(`compact peers of ${bytes.length} bytes (not a multiple of 6)`);
  out.addCompact(bytes, 4);
}

function compactV6(bytes: Uint8Array, out: PeerCollector): void {
  if (bytes.length % 18 !== 0) throw bad(`peers6 of ${bytes.length} bytes (not a multiple of 18)`);
  out.addCompact(bytes, 6);
}

function dictionaryPeers(list: BencodeValue[], out: PeerCollector): void {
  for (const entry of list) {
    if (out.full) return;
    if (!(entry instanceof BencodeDict)) throw bad('a peer is not a dictionary');
    const host = text(entry.get('ip'), 'ip');
    const port = count(entry.get('port'), 'port');
    if (host === undefined || port === undefined) throw bad('a peer without ip or port');
    const id = entry.get('peer id');
    out.add(
      id instanceof Uint8Array && id.length === 20
        ? { host, port, peerId: Uint8Array.from(id) }
        : { host, port },
    );
  }
}

export function parseAnnounceResponse(body: Uint8Array): AnnounceResponse {
  let root: BencodeValue;
  try {
    root = bdecode(body, { maxTokens: MAX_TRACKER_TOKENS });
  } catch (cause) {
    throw bad(`not bencode (${(cause as Error).message})`, cause);
  }
  if (!(root instanceof BencodeDict)) throw bad('not a dictionary');
  const failure = text(root.get('failure reason'), 'failure reason');
  if (failure !== undefined) throw new TrackerError('failure', failure);
  const interval = count(root.get('interval'), 'interval');
  if (interval === undefined) throw bad("no 'interval'");
  const raw = root.get('peers');
  const collector = new PeerCollector();
  if (raw instanceof Uint8Array) compactV4(raw, collector);
  else if (Array.isArray(raw)) dictionaryPeers(raw, collector);
  else if (raw !== undefined) throw bad("'peers' is neither a string nor a list");
  const raw6 = root.get('peers6');
  if (raw6 !== undefined && !(raw6 instanceof Uint8Array)) throw bad("'peers6' is not a string");
  if (raw6 !== undefined) compactV6(raw6, collector);
  const response: {
    -readonly [K in keyof AnnounceResponse]: AnnounceResponse[K];
  } = { interval, peers: collector.peers };
  const minInterval = count(root.get('min interval'), 'min interval');
  if (minInterval !== undefined) response.minInterval = minInterval;
  const complete = count(root.get('complete'), 'complete');
  if (complete !== undefined) response.complete = complete;
  const incomplete = count(root.get('incomplete'), 'incomplete');
  if (incomplete !== undefined) response.incomplete = incomplete;
  const trackerId = text(root.get('tracker id'), 'tracker id');
  if (trackerId !== undefined) response.trackerId = trackerId;
  const warning = text(root.get('warning message'), 'warning message');
  if (warning !== undefined) response.warning = warning;
  return response;
}
