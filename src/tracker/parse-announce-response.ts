/**
 * The tracker's answer to an announce (BEP 3), decoded with our strict bencode decoder:
 *
 *   d8:intervali1800e12:min intervali900e5:peers6:<ip4><port>…6:peers618:<ip6><port>…e
 *
 * `peers` is either compact (BEP 23: 6 bytes per peer, 4 of IPv4 address then 2 of port, both
 * big-endian) or a list of dictionaries { ip, port, peer id }; `peers6` is compact IPv6 (BEP 7:
 * 16 + 2 bytes per peer). A `failure reason` makes the whole answer a TrackerError 'failure';
 * anything that is not this shape is 'badResponse'. Peers with port 0 are dropped (unreachable).
 */
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import type { AnnounceResponse, TrackerPeer } from './announce-types.js';
import { TrackerError } from './tracker-error.js';

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

function compactV4(bytes: Uint8Array): TrackerPeer[] {
  if (bytes.length % 6 !== 0) throw bad(`compact peers of ${bytes.length} bytes (not a multiple of 6)`);
  const peers: TrackerPeer[] = [];
  for (let i = 0; i < bytes.length; i += 6) {
    const port = (bytes[i + 4]! << 8) | bytes[i + 5]!;
    if (port === 0) continue;
    peers.push({ host: `${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}`, port });
  }
  return peers;
}

/** 16 bytes as an RFC 5952 IPv6 address (also used by the UDP tracker client). */
export function ipv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The WHATWG URL parser prints IPv6 in its canonical compressed form (RFC 5952).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function compactV6(bytes: Uint8Array): TrackerPeer[] {
  if (bytes.length % 18 !== 0) throw bad(`peers6 of ${bytes.length} bytes (not a multiple of 18)`);
  const peers: TrackerPeer[] = [];
  for (let i = 0; i < bytes.length; i += 18) {
    const port = (bytes[i + 16]! << 8) | bytes[i + 17]!;
    if (port !== 0) peers.push({ host: ipv6(bytes.subarray(i, i + 16)), port });
  }
  return peers;
}

function dictionaryPeers(list: BencodeValue[]): TrackerPeer[] {
  const peers: TrackerPeer[] = [];
  for (const entry of list) {
    if (!(entry instanceof BencodeDict)) throw bad('a peer is not a dictionary');
    const host = text(entry.get('ip'), 'ip');
    const port = count(entry.get('port'), 'port');
    if (host === undefined || port === undefined) throw bad('a peer without ip or port');
    if (port === 0 || port > 65535 || host === '') continue;
    const id = entry.get('peer id');
    peers.push(
      id instanceof Uint8Array && id.length === 20
        ? { host, port, peerId: Uint8Array.from(id) }
        : { host, port },
    );
  }
  return peers;
}

export function parseAnnounceResponse(body: Uint8Array): AnnounceResponse {
  let root: BencodeValue;
  try {
    root = bdecode(body);
  } catch (cause) {
    throw bad(`not bencode (${(cause as Error).message})`, cause);
  }
  if (!(root instanceof BencodeDict)) throw bad('not a dictionary');
  const failure = text(root.get('failure reason'), 'failure reason');
  if (failure !== undefined) throw new TrackerError('failure', failure);
  const interval = count(root.get('interval'), 'interval');
  if (interval === undefined) throw bad("no 'interval'");
  const raw = root.get('peers');
  const peers =
    raw === undefined
      ? []
      : raw instanceof Uint8Array
        ? compactV4(raw)
        : Array.isArray(raw)
          ? dictionaryPeers(raw)
          : (() => {
              throw bad("'peers' is neither a string nor a list");
            })();
  const raw6 = root.get('peers6');
  if (raw6 !== undefined && !(raw6 instanceof Uint8Array)) throw bad("'peers6' is not a string");
  const response: {
    -readonly [K in keyof AnnounceResponse]: AnnounceResponse[K];
  } = { interval, peers: raw6 === undefined ? peers : [...peers, ...compactV6(raw6)] };
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
