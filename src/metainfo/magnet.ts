/**
 * `parseMagnet(uri)`: a BEP 9 magnet link, e.g.
 *   magnet:?xt=urn:btih:<40 hex | 32 base32>&dn=<name>&tr=<tracker>&tr=<tracker>&x.pe=<host:port>&ws=<url>
 * Pure. Numbered keys (`tr.1`, `xt.2`) count as their base key, as clients write them. `ws` is a
 * BEP 19 web seed (as libtorrent and aria2 read it). Unknown keys (`xl`, `kt`…) are ignored.
 *
 * Case, as libtorrent 2.0.8's parse_magnet_uri reads it: every key in any case (`XT`, `Dn`, `TR.1`,
 * `X.PE`, `WS`, `SO`: its string_equal_no_case), the `urn:btih:` and `urn:btmh:` prefixes in lower
 * case only (compared byte for byte there: an `xt=URN:BTIH:…` is no info-hash it knows, so a link
 * with nothing else is refused — by us too, the message saying why). The hash digits in either case.
 * The scheme `magnet:` in any case (RFC 3986: schemes are case-insensitive), where libtorrent wants
 * it lower case: a link it refuses only for that is one a user meant.
 *
 * BEP 53: `so=0,2,4-6` ("select only") names the files to fetch once the metadata is known, by their
 * index in the info dictionary's file list (zero-based, ranges inclusive), the indexes `--select`
 * takes and `bitstate info` lists: BEP 47 padding files count, as they are entries of `files` and
 * libtorrent counts them (its `parse_magnet_uri` sets `file_priorities` by those indexes; a v2
 * torrent's implicit padding files too, laid out as libtorrent lays them, v2-payload.ts). Several
 * `so=` add up. The syntax is `--select`'s (file-index-ranges.ts) without its spaces: libtorrent takes only
 * digits, `-` and `,`; a malformed value is refused here (libtorrent skips it) rather than
 * fetching every file the link meant to leave out. Whether an index exists is known only with the
 * metadata (src/session/magnet-select-only.ts).
 *
 * BEP 52: `xt=urn:btmh:1220<64 hex>` is a v2 info-hash, a multihash (0x12 SHA-256, 0x20 = 32 bytes),
 * the only kind BEP 52 defines and libtorrent reads. Alone it is a v2 magnet: its swarm is the first
 * 20 bytes of the SHA-256 (`infoHash`), and the metadata is taken only when its SHA-256 is the whole
 * `infoHashV2`. With a `urn:btih:` too it is a hybrid's link: its v1 swarm is used (as for any
 * hybrid), and the metadata must hash to both, as libtorrent checks both (torrent::set_metadata).
 */
import { type FileIndexRange, parseFileIndexRanges } from './file-index-ranges.js';
import { MAX_TRACKERS, MAX_WEB_SEEDS } from './limits.js';
import { MetainfoError } from './metainfo-error.js';

/** Longest magnet URI accepted: far above any real one, low enough to bound the work. */
export const MAX_MAGNET_LENGTH = 64 * 1024;

export interface MagnetPeer {
  readonly host: string;
  readonly port: number;
}

export interface Magnet {
  /** The swarm's 20 bytes: the `urn:btih:` SHA-1, or the first 20 bytes of a lone `urn:btmh:`. */
  readonly infoHash: Uint8Array;
  readonly infoHashHex: string;
  /** `urn:btmh:`: the v2 info-hash, the info dictionary's whole SHA-256 (BEP 52). */
  readonly infoHashV2?: Uint8Array;
  /** v2 when there is only a `urn:btmh:` (the v2 swarm, piece layers fetched from peers). */
  readonly version: 'v1' | 'v2' | 'hybrid';
  /** `dn`: the display name, until the metadata says otherwise. */
  readonly name: string | undefined;
  /** `tr`: tracker URLs, in order, without duplicates, the first MAX_TRACKERS distinct ones. */
  readonly trackers: readonly string[];
  /** `x.pe`: peers to try directly. */
  readonly peers: readonly MagnetPeer[];
  /**
   * `ws`: BEP 19 web seed URLs, in order, without duplicates, the first MAX_WEB_SEEDS distinct ones
   * (a .torrent's `url-list` cap); the torrent made from the metadata carries them as its `url-list`.
   */
  readonly webSeeds: readonly string[];
  /**
   * `so` (BEP 53, select only): the files to fetch, as inclusive ranges of file indexes in the
   * order given (several `so=` joined); undefined without `so=` (every file).
   */
  readonly selectOnly?: readonly FileIndexRange[];
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function bad(message: string, field?: string): MetainfoError {
  return new MetainfoError('bad-magnet', `magnet: ${message}`, field === undefined ? {} : { field });
}

/** The `xt` prefix of a v1 info-hash, lower case as libtorrent compares it. */
const BTIH = 'urn:btih:';
/** The `xt` prefix of a v2 info-hash (BEP 52), lower case as libtorrent compares it. */
const BTMH = 'urn:btmh:';

function decodeInfoHash(value: string): Uint8Array | undefined {
  if (!value.startsWith(BTIH)) return undefined;
  const hash = value.slice(BTIH.length);
  if (/^[0-9a-fA-F]{40}$/.test(hash)) return new Uint8Array(Buffer.from(hash, 'hex'));
  if (/^[A-Za-z2-7]{32}$/.test(hash)) {
    // RFC 4648 base32: 32 characters × 5 bits = exactly 160 bits.
    const out = new Uint8Array(20);
    let bits = 0;
    let acc = 0;
    let o = 0;
    for (const ch of hash.toUpperCase()) {
      acc = (acc << 5) | BASE32.indexOf(ch);
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >> bits) & 0xff;
      }
    }
    return out;
  }
  throw bad(`info-hash "${hash}" is neither 40 hex nor 32 base32 characters`, 'xt');
}

/** BEP 52's multihash prefix of a v2 info-hash: 0x12 (SHA-256), 0x20 (32 bytes). */
export const BTMH_PREFIX = '1220';

/** A `urn:btmh:` value's 32-byte SHA-256, undefined for another urn. Throws on a malformed one. */
function decodeInfoHashV2(value: string): Uint8Array | undefined {
  if (!value.startsWith(BTMH)) return undefined;
  const hash = value.slice(BTMH.length);
  if (!/^[0-9a-fA-F]*$/.test(hash)) throw bad(`v2 info-hash "${hash}" is not hex`, 'xt');
  if (hash.length < 4 || hash.slice(0, 4) !== BTMH_PREFIX)
    throw bad(`v2 info-hash "${hash}" is not a SHA-256 multihash (prefix ${BTMH_PREFIX}, BEP 52)`, 'xt');
  if (hash.length !== 4 + 64)
    throw bad(`v2 info-hash "${hash}" is ${hash.length - 4} hex digits after ${BTMH_PREFIX}, not 64`, 'xt');
  return new Uint8Array(Buffer.from(hash.slice(4), 'hex'));
}

function parsePeer(value: string): MagnetPeer {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !(port >= 1 && port <= 65535)) throw bad(`peer "${value}" is not host:port`, 'x.pe');
  return { host: (m[1] ?? m[2])!, port };
}

/** Longest part of a refused `so=` value quoted in the error. */
const QUOTED_SO_CHARS = 64;

/** A `so=` value's ranges (BEP 53): `--select`'s syntax, digits, `-` and `,` only. */
function parseSelectOnly(value: string): FileIndexRange[] {
  const quoted = value.length > QUOTED_SO_CHARS ? `${value.slice(0, QUOTED_SO_CHARS)}…` : value;
  const refuse = () =>
    new MetainfoError(
      'bad-magnet',
      `magnet: so=${quoted} is not file indexes and inclusive ranges such as 0,2,4-6 (BEP 53)`,
      { field: 'so' },
    );
  if (!/^[\d,-]+$/.test(value)) throw refuse();
  const ranges = parseFileIndexRanges(value);
  if (!Array.isArray(ranges)) throw refuse();
  return ranges;
}

function decodeParam(value: string, key: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? value.replace(/\+/g, ' ') : value);
  } catch (cause) {
    throw new MetainfoError('bad-magnet', `magnet: bad percent-encoding in ${key}`, { field: key, cause });
  }
}

/** Parses a magnet URI. Throws MetainfoError('bad-magnet') only. */
export function parseMagnet(uri: string): Magnet {
  if (uri.length > MAX_MAGNET_LENGTH)
    throw new MetainfoError(
      'limit-exceeded',
      `magnet: ${uri.length} characters (limit ${MAX_MAGNET_LENGTH})`,
      {
        limit: MAX_MAGNET_LENGTH,
        actual: uri.length,
      },
    );
  if (!/^magnet:\?/i.test(uri)) throw bad('does not start with "magnet:?"');
  let infoHash: Uint8Array | undefined;
  let infoHashV2: Uint8Array | undefined;
  let name: string | undefined;
  const trackers = new Set<string>();
  const peers: MagnetPeer[] = [];
  const webSeeds = new Set<string>();
  let selectOnly: FileIndexRange[] | undefined;
  /** An `xt` whose urn is `urn:btih:` or `urn:btmh:` but for case: named in the error if no hash is found. */
  let upperUrn: string | undefined;
  for (const pair of uri.slice('magnet:?'.length).split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    // Any case, as libtorrent compares keys (string_equal_no_case).
    const key = rawKey.replace(/\.\d+$/, '').toLowerCase();
    const raw = eq < 0 ? '' : pair.slice(eq + 1);
    switch (key) {
      case 'xt': {
        const value = decodeParam(raw, key, false);
        const v2 = decodeInfoHashV2(value);
        if (v2 !== undefined) {
          if (infoHashV2 !== undefined && !Buffer.from(v2).equals(Buffer.from(infoHashV2)))
            throw bad('two different urn:btmh info-hashes', 'xt');
          infoHashV2 = v2;
          break;
        }
        const hash = decodeInfoHash(value);
        const urn = value.slice(0, BTIH.length).toLowerCase();
        if (hash === undefined && (urn === BTIH || urn === BTMH)) upperUrn ??= value.slice(0, BTIH.length);
        if (hash !== undefined && infoHash === undefined) infoHash = hash;
        else if (hash !== undefined && !Buffer.from(hash).equals(Buffer.from(infoHash!)))
          throw bad('two different urn:btih info-hashes', 'xt');
        break;
      }
      case 'dn':
        name = decodeParam(raw, key, true);
        break;
      case 'tr': {
        const tracker = decodeParam(raw, key, false);
        // A magnet may carry thousands of tr=; each is announced to while fetching: the cap of a
        // .torrent's announce-list (limits.ts), the rest left out.
        if (tracker.length > 0 && trackers.size < MAX_TRACKERS) trackers.add(tracker);
        break;
      }
      case 'x.pe':
        peers.push(parsePeer(decodeParam(raw, key, false)));
        break;
      case 'ws': {
        const url = decodeParam(raw, key, false);
        if (url.length > 0 && webSeeds.size < MAX_WEB_SEEDS) webSeeds.add(url);
        break;
      }
      case 'so':
        // Pushed one by one: thousands of so= in one link stay linear.
        selectOnly ??= [];
        for (const range of parseSelectOnly(decodeParam(raw, key, false))) selectOnly.push(range);
        break;
    }
  }
  if (infoHash === undefined && infoHashV2 === undefined)
    throw bad(
      upperUrn === undefined
        ? 'no "xt=urn:btih:" nor "xt=urn:btmh:" info-hash'
        : `no "xt=urn:btih:" nor "xt=urn:btmh:" info-hash ("${upperUrn}" is read in lower case only, as libtorrent reads it)`,
      'xt',
    );
  // A v2 magnet's swarm: the first 20 bytes of the SHA-256, as in handshakes, trackers and the DHT.
  const swarm = infoHash ?? infoHashV2!.slice(0, 20);
  return {
    infoHash: swarm,
    infoHashHex: Buffer.from(swarm).toString('hex'),
    ...(infoHashV2 === undefined ? {} : { infoHashV2 }),
    version: infoHashV2 === undefined ? 'v1' : infoHash === undefined ? 'v2' : 'hybrid',
    name: name === undefined || name.length === 0 ? undefined : name,
    trackers: [...trackers],
    peers,
    webSeeds: [...webSeeds],
    ...(selectOnly === undefined ? {} : { selectOnly }),
  };
}
