/**
 * Local Service Discovery's one message (BEP 14): the BT-SEARCH announce a client multicasts to
 * 239.192.152.143:6771 to tell the peers on its network that it is in the swarms of these
 * info-hashes and listens for BitTorrent connections at this TCP port:
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: 239.192.152.143:6771\r\n
 *   Port: <TCP listening port>\r\n
 *   Infohash: <40 hex digits>\r\n        (one or more)
 *   cookie: <opaque>\r\n                 (ours, to recognise our own announces coming back)
 *   \r\n
 *   \r\n
 *
 * The sender is the peer: its address is the datagram's source, its port the `Port` header.
 * libtorrent writes one Infohash a message, lower-case hex, and a cookie; Transmission 3 one a
 * message, upper-case hex, no cookie; BEP 14 allows several, and Transmission 4 sends several.
 *
 * Pure. The parser reads what libtorrent's does (the method case-insensitive, header names
 * case-insensitive, LF or CRLF line ends, an Infohash that is not 40 hex digits or is all zeros
 * skipped), bounded before anything is split: MAX_LSD_MESSAGE_BYTES, MAX_LSD_HEADER_LINES,
 * MAX_LSD_INFOHASHES. Whatever the bytes, it returns an announce or throws an LsdError.
 */
import { LsdError } from './lsd-error.js';

/** BEP 14's IPv4 multicast group and port. */
export const LSD_GROUP = '239.192.152.143';
export const LSD_PORT = 6771;

/**
 * The longest announce read: 8 KiB (a UDP datagram may be 64 KiB). libtorrent reads 1,500 bytes of
 * one, Transmission 1,400; this leaves room for a client packing many info-hashes.
 */
export const MAX_LSD_MESSAGE_BYTES = 8 * 1024;
/** Header lines read at most, the request line and the blank line not counted. */
export const MAX_LSD_HEADER_LINES = 128;
/** Infohash lines in one announce at most (more: the announce is refused whole). */
export const MAX_LSD_INFOHASHES = 64;
/**
 * Info-hashes we put in one announce at most: 20 lines of 52 bytes keep it near 1,100 bytes, under
 * Transmission's 1,400 and libtorrent's 1,500.
 */
export const LSD_INFOHASHES_PER_MESSAGE = 20;

export interface LsdAnnounce {
  /** The TCP port the sender listens at. */
  readonly port: number;
  /** The info-hashes it announces (20 bytes each, distinct, none all zeros). */
  readonly infoHashes: readonly Uint8Array[];
  /** Its cookie, when it sent one (the value as written, trimmed). */
  readonly cookie?: string;
}

const HEX = '0123456789abcdef';

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** The announce's bytes (ASCII). `cookie` must be printable ASCII without spaces at its ends. */
export function formatLsdAnnounce(a: {
  readonly port: number;
  readonly infoHashes: readonly Uint8Array[];
  readonly cookie?: string;
}): Uint8Array {
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)
    throw new RangeError(`an LSD announce's port must be 1..65535, got ${a.port}`);
  if (a.infoHashes.length === 0 || a.infoHashes.length > MAX_LSD_INFOHASHES)
    throw new RangeError(`an LSD announce names 1..${MAX_LSD_INFOHASHES} info-hashes`);
  let text = `BT-SEARCH * HTTP/1.1\r\nHost: ${LSD_GROUP}:${LSD_PORT}\r\nPort: ${a.port}\r\n`;
  for (const h of a.infoHashes) {
    if (h.length !== 20) throw new RangeError(`an info-hash is 20 bytes, got ${h.length}`);
    text += `Infohash: ${hex(h)}\r\n`;
  }
  if (a.cookie !== undefined) text += `cookie: ${a.cookie}\r\n`;
  text += '\r\n\r\n';
  return new TextEncoder().encode(text);
}

/** 40 hex digits as 20 bytes; undefined for anything else. */
function infoHashOf(value: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{40}$/.test(value)) return undefined;
  const out = new Uint8Array(20);
  for (let i = 0; i < 20; i++) out[i] = Number.parseInt(value.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Printable ASCII, tab, CR, LF. */
function isText(bytes: Uint8Array): boolean {
  for (const b of bytes) if (!(b === 9 || b === 10 || b === 13 || (b >= 0x20 && b <= 0x7e))) return false;
  return true;
}

/** Reads one announce; throws LsdError (and nothing else) when it is not one. */
export function parseLsdAnnounce(bytes: Uint8Array): LsdAnnounce {
  if (bytes.length > MAX_LSD_MESSAGE_BYTES)
    throw new LsdError('tooLarge', `${bytes.length} bytes; the limit is ${MAX_LSD_MESSAGE_BYTES}`, {
      limit: MAX_LSD_MESSAGE_BYTES,
    });
  if (!isText(bytes)) throw new LsdError('notText', 'not ASCII text');
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  const lines = text.split('\n');
  const line = (i: number) => {
    const l = lines[i]!;
    return l.endsWith('\r') ? l.slice(0, -1) : l;
  };
  const request = line(0).split(' ');
  if (
    request.length !== 3 ||
    request[0]!.toUpperCase() !== 'BT-SEARCH' ||
    !/^HTTP\/1\.\d$/i.test(request[2]!)
  )
    throw new LsdError('notBtSearch', 'not a BT-SEARCH request line');
  let port: number | undefined;
  let cookie: string | undefined;
  let infohashLines = 0;
  const infoHashes: Uint8Array[] = [];
  const seen = new Set<string>();
  let finished = false;
  // The last piece of the split has no line end after it: not a whole line, never the blank one.
  for (let i = 1; i < lines.length - 1; i++) {
    const l = line(i);
    if (l === '') {
      finished = true;
      break;
    }
    if (i > MAX_LSD_HEADER_LINES)
      throw new LsdError('tooManyLines', `more than ${MAX_LSD_HEADER_LINES} header lines`, {
        limit: MAX_LSD_HEADER_LINES,
      });
    const colon = l.indexOf(':');
    if (colon <= 0) throw new LsdError('malformed', `header line ${i} has no name and colon`);
    const name = l.slice(0, colon).trim().toLowerCase();
    const value = l.slice(colon + 1).trim();
    if (name === 'port') {
      if (port !== undefined) throw new LsdError('malformed', 'two Port headers');
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535)
        throw new LsdError('badPort', `Port ${JSON.stringify(value.slice(0, 16))} is not 1..65535`);
      port = Number(value);
    } else if (name === 'cookie') {
      if (cookie !== undefined) throw new LsdError('malformed', 'two cookie headers');
      cookie = value;
    } else if (name === 'infohash') {
      if (++infohashLines > MAX_LSD_INFOHASHES)
        throw new LsdError('tooManyLines', `more than ${MAX_LSD_INFOHASHES} Infohash lines`, {
          limit: MAX_LSD_INFOHASHES,
        });
      const h = infoHashOf(value);
      // Not 40 hex digits, all zeros, or named twice: skipped (libtorrent skips the first two).
      if (h === undefined || h.every((b) => b === 0)) continue;
      const key = value.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      infoHashes.push(h);
    }
    // Host and any other header: not needed to find the peer (libtorrent and Transmission skip Host too).
  }
  if (!finished) throw new LsdError('unfinished', 'no blank line ends the header');
  if (port === undefined) throw new LsdError('badPort', 'no Port header');
  if (infoHashes.length === 0) throw new LsdError('noInfohash', 'no Infohash of 40 hex digits');
  return { port, infoHashes, ...(cookie === undefined ? {} : { cookie }) };
}
