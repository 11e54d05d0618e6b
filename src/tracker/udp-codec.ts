/**
 * The datagrams of the UDP tracker protocol (BEP 15), encoded and decoded without I/O. Every
 * integer is big-endian. Every received datagram's length is checked before a field is read; a
 * datagram that is not one of these shapes is a TrackerError 'badResponse', never an exception
 * of another kind.
 *
 *   connect request   <protocol_id=0x41727101980:8><action=0:4><transaction_id:4>              16 bytes
 *   connect response  <action=0:4><transaction_id:4><connection_id:8>                          16 bytes
 *   announce request  <connection_id:8><action=1:4><transaction_id:4><info_hash:20><peer_id:20>
 *                     <downloaded:8><left:8><uploaded:8><event:4><ip=0:4><key:4><num_want:4><port:2>
 *                                                                                              98 bytes
 *   announce response <action=1:4><transaction_id:4><interval:4><leechers:4><seeders:4>
 *                     then per peer <ip:4><port:2> (IPv4 socket) or <ip:16><port:2> (IPv6, BEP 15)
 *   scrape request    <connection_id:8><action=2:4><transaction_id:4> then <info_hash:20> × n
 *   scrape response   <action=2:4><transaction_id:4> then <seeders:4><completed:4><leechers:4> × n
 *   error response    <action=3:4><transaction_id:4><message: the rest, UTF-8>
 */
import type { AnnounceEvent, AnnounceParams, AnnounceResponse, TrackerPeer } from './announce-types.js';
import { MAX_TRACKER_MESSAGE_CHARS } from './parse-announce-response.js';
import { PeerCollector } from './peer-collector.js';
import { TrackerError } from './tracker-error.js';

/** The magic constant of a connect request (BEP 15). */
export const UDP_PROTOCOL_ID = 0x41727101980n;
export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;
/** At most this many info-hashes per scrape (BEP 15: about 74 fit a 1500-byte datagram). */
export const MAX_UDP_SCRAPE_HASHES = 74;
/** Largest datagram we accept: a UDP payload cannot be larger anyway. */
export const MAX_UDP_DATAGRAM_BYTES = 65_507;

/**
 * BEP 15 event codes, and BEP 21's `paused` as 4: BEP 15 names no such event, and libtorrent 2.0.8
 * sends a partial seed's announces with 4 (seen against a local UDP tracker); opentracker and
 * aquatic read any code they do not know as none (0).
 */
const EVENT_CODE: Record<AnnounceEvent, number> = {
  regular: 0,
  completed: 1,
  started: 2,
  stopped: 3,
  paused: 4,
};

export type UdpResponse =
  | { readonly action: 'connect'; readonly transactionId: number; readonly connectionId: bigint }
  | { readonly action: 'announce'; readonly transactionId: number; readonly response: AnnounceResponse }
  | { readonly action: 'scrape'; readonly transactionId: number; readonly files: readonly ScrapeCounts[] }
  | { readonly action: 'error'; readonly transactionId: number; readonly message: string };

/** One info-hash's numbers in a scrape answer (BEP 48 names). */
export interface ScrapeCounts {
  /** Seeders. */
  readonly complete: number;
  /** Leechers. */
  readonly incomplete: number;
  /** Completed downloads ever reported. */
  readonly downloaded: number;
}

function bad(message: string, actual?: number): TrackerError {
  return new TrackerError('badResponse', `udp tracker: ${message}`, actual === undefined ? {} : { actual });
}

/** BEP 15 `key` is 32 bits: a hex key of up to 8 digits is used as is, other text is hashed (FNV-1a). */
export function udpKey(key: string | undefined): number {
  if (key === undefined) return 0;
  if (/^[0-9a-fA-F]{1,8}$/.test(key)) return Number.parseInt(key, 16) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function encodeConnect(transactionId: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, UDP_PROTOCOL_ID);
  v.setUint32(8, ACTION_CONNECT);
  v.setUint32(12, transactionId >>> 0);
  return b;
}

function checkHash(name: string, bytes: Uint8Array): void {
  if (bytes.length !== 20)
    throw new TrackerError('badUrl', `${name} must be 20 bytes, not ${bytes.length}`, {
      actual: bytes.length,
    });
}

export function encodeAnnounce(connectionId: bigint, transactionId: number, p: AnnounceParams): Uint8Array {
  checkHash('info-hash', p.infoHash);
  checkHash('peer id', p.peerId);
  const b = new Uint8Array(98);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, connectionId);
  v.setUint32(8, ACTION_ANNOUNCE);
  v.setUint32(12, transactionId >>> 0);
  b.set(p.infoHash, 16);
  b.set(p.peerId, 36);
  v.setBigUint64(56, BigInt(Math.max(0, Math.trunc(p.downloaded))));
  v.setBigUint64(64, BigInt(Math.max(0, Math.trunc(p.left))));
  v.setBigUint64(72, BigInt(Math.max(0, Math.trunc(p.uploaded))));
  v.setUint32(80, EVENT_CODE[p.event]);
  v.setUint32(84, 0); // IP: 0 = the sender's address
  v.setUint32(88, udpKey(p.key));
  v.setInt32(92, p.numwant ?? -1); // -1 = the tracker's default
  v.setUint16(96, p.port);
  return b;
}

export function encodeScrape(
  connectionId: bigint,
  transactionId: number,
  infoHashes: readonly Uint8Array[],
): Uint8Array {
  if (infoHashes.length === 0 || infoHashes.length > MAX_UDP_SCRAPE_HASHES)
    throw new TrackerError('badUrl', `a UDP scrape takes 1 to ${MAX_UDP_SCRAPE_HASHES} info-hashes`, {
      limit: MAX_UDP_SCRAPE_HASHES,
      actual: infoHashes.length,
    });
  const b = new Uint8Array(16 + 20 * infoHashes.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, connectionId);
  v.setUint32(8, ACTION_SCRAPE);
  v.setUint32(12, transactionId >>> 0);
  infoHashes.forEach((h, i) => {
    checkHash('info-hash', h);
    b.set(h, 16 + 20 * i);
  });
  return b;
}

/** At most MAX_ANNOUNCE_PEERS distinct dialable peers (peer-collector.ts); a datagram holds up to 10,917. */
function peersOf(bytes: Uint8Array, family: 4 | 6): TrackerPeer[] {
  const size = family === 4 ? 6 : 18;
  if (bytes.length % size !== 0)
    throw bad(`${bytes.length} bytes of IPv${family} peers (not a multiple of ${size})`, bytes.length);
  const out = new PeerCollector();
  out.addCompact(bytes, family);
  return out.peers;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Decodes one datagram from a UDP tracker. `family` says how the announce peers are laid out: BEP 15
 * answers an announce that came over IPv6 with 18-byte peers.
 */
export function decodeUdpResponse(datagram: Uint8Array, family: 4 | 6 = 4): UdpResponse {
  if (datagram.length < 8) throw bad(`a datagram of ${datagram.length} bytes (at least 8)`, datagram.length);
  if (datagram.length > MAX_UDP_DATAGRAM_BYTES) throw bad('a datagram over 65,507 bytes', datagram.length);
  const v = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  switch (action) {
    case ACTION_CONNECT:
      if (datagram.length < 16)
        throw bad(`a connect response of ${datagram.length} bytes (16)`, datagram.length);
      return { action: 'connect', transactionId, connectionId: v.getBigUint64(8) };
    case ACTION_ANNOUNCE: {
      if (datagram.length < 20)
        throw bad(`an announce response of ${datagram.length} bytes (at least 20)`, datagram.length);
      const interval = v.getUint32(8);
      const incomplete = v.getUint32(12);
      const complete = v.getUint32(16);
      const peers = peersOf(datagram.subarray(20), family);
      return { action: 'announce', transactionId, response: { interval, incomplete, complete, peers } };
    }
    case ACTION_SCRAPE: {
      const body = datagram.length - 8;
      if (body % 12 !== 0) throw bad(`a scrape response body of ${body} bytes (not a multiple of 12)`, body);
      const files: ScrapeCounts[] = [];
      for (let o = 8; o < datagram.length; o += 12)
        files.push({
          complete: v.getUint32(o),
          downloaded: v.getUint32(o + 4),
          incomplete: v.getUint32(o + 8),
        });
      return { action: 'scrape', transactionId, files };
    }
    case ACTION_ERROR: {
      const s = utf8.decode(datagram.subarray(8, 8 + MAX_TRACKER_MESSAGE_CHARS * 4));
      const message = s.length > MAX_TRACKER_MESSAGE_CHARS ? `${s.slice(0, MAX_TRACKER_MESSAGE_CHARS)}…` : s;
      return { action: 'error', transactionId, message };
    }
    default:
      throw bad(`unknown action ${action}`, action);
  }
}
