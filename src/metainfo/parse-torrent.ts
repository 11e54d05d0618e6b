/**
 * `parseTorrent(bytes)`: a .torrent file (BEP 3, with BEP 12 announce-list, BEP 19 url-list,
 * BEP 27 private, BEP 47 padding files; BitTorrent v2 and hybrids, BEP 52) into the validated
 * `Torrent`. Pure: no I/O. Every rejection is a MetainfoError naming its field. A v2-only
 * torrent's payload is read by v2-payload.ts, the rest here. What is tolerated (as libtorrent
 * tolerates it) and what is rejected is listed in docs/metainfo.md.
 */
import { createHash } from 'node:crypto';
import { type BencodeIndex, bdecodeIndex } from './bencode-index.js';
import { resolveCaseCollisions } from './case-collisions.js';
import {
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_TORRENT_FILE_BYTES,
  MAX_TORRENT_TOKENS,
  MAX_TRACKERS,
  MAX_WEB_SEEDS,
} from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import type { Torrent, TorrentFile, TorrentVersion } from './torrent.js';
import { asBytes, asDict, asLength, isString, required, wrongType } from './torrent-fields.js';
import { checkPath, checkPathComponent, checkPathDepth, PathSet } from './torrent-path.js';
import { checkHybridFileTree } from './v2-file-tree.js';
import { hybridLayers, isV2Only, type Payload, v2Payload } from './v2-payload.js';

/** Invalid UTF-8 becomes U+FFFD (libtorrent rewrites it too); the path checks run on the result. */
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `key.utf-8` when it is a string, else `key` (libtorrent's preference). */
function text(ix: BencodeIndex, d: number, key: string, field: string): string {
  const alt = ix.get(d, `${key}.utf-8`);
  return utf8.decode(isString(ix, alt) ? ix.string(alt) : asBytes(ix, required(ix, d, key, field), field));
}

/** An optional text field: absent, empty or ill-typed is `undefined` (libtorrent ignores those too). */
function optionalText(ix: BencodeIndex, d: number, key: string): string | undefined {
  const v = ix.get(d, `${key}.utf-8`) ?? ix.get(d, key);
  if (!isString(ix, v) || ix.stringLength(v) === 0) return undefined;
  return utf8.decode(ix.string(v));
}

/**
 * Distinct dropped URLs remembered so that each is counted once: past this many, a URL that is not
 * among them or the kept ones counts again each time it repeats (a hostile list of millions of
 * distinct URLs would otherwise be kept as millions of strings just to be counted).
 */
const MAX_DROPPED_COUNTED_ONCE = 65_536;

/**
 * Distinct non-empty URLs, in order, at most `max`; `ignored` counts the distinct ones past them
 * (a repeat of a kept or already counted URL is not counted). Non-strings are skipped, as
 * libtorrent skips them.
 */
class UrlSet {
  readonly #kept = new Set<string>();
  readonly #dropped = new Set<string>();
  ignored = 0;
  constructor(private readonly max: number) {}
  /** The URL of string value `v` when it is a new one and there is room, else undefined. */
  take(ix: BencodeIndex, v: number): string | undefined {
    if (!isString(ix, v) || ix.stringLength(v) === 0) return undefined;
    const url = utf8.decode(ix.string(v));
    if (this.#kept.has(url) || this.#dropped.has(url)) return undefined;
    if (this.#kept.size < this.max) {
      this.#kept.add(url);
      return url;
    }
    if (this.#dropped.size < MAX_DROPPED_COUNTED_ONCE) this.#dropped.add(url);
    this.ignored++;
    return undefined;
  }
}

/** BEP 19 `url-list`: one string or a list of them. */
function webSeeds(ix: BencodeIndex, root: number): { urls: string[]; ignored: number } {
  const v = ix.get(root, 'url-list');
  const set = new UrlSet(MAX_WEB_SEEDS);
  const urls: string[] = [];
  if (v !== undefined) {
    const items = ix.kind(v) === 'list' ? ix.children(v) : [v];
    for (const item of items) {
      const url = set.take(ix, item);
      if (url !== undefined) urls.push(url);
    }
  }
  return { urls, ignored: set.ignored };
}

/**
 * BEP 12: tiers of tracker URLs. Like libtorrent, skips what is not a list of strings, and empty
 * tiers; a URL already in an earlier tier is left out (as Transmission does), and past
 * MAX_TRACKERS distinct URLs the rest are counted, not kept.
 */
function announceTiers(
  ix: BencodeIndex,
  root: number,
  announce: string | undefined,
): { tiers: string[][]; ignored: number } {
  const v = ix.get(root, 'announce-list');
  const set = new UrlSet(MAX_TRACKERS);
  const tiers: string[][] = [];
  if (v !== undefined && ix.kind(v) === 'list')
    for (const tier of ix.children(v)) {
      if (ix.kind(tier) !== 'list') continue;
      const urls: string[] = [];
      for (const item of ix.children(tier)) {
        const url = set.take(ix, item);
        if (url !== undefined) urls.push(url);
      }
      if (urls.length > 0) tiers.push(urls);
    }
  if (tiers.length > 0) return { tiers, ignored: set.ignored };
  return { tiers: announce === undefined ? [] : [[announce]], ignored: set.ignored };
}

function parseFiles(ix: BencodeIndex, info: number, name: string): TorrentFile[] {
  const list = ix.get(info, 'files');
  if (list === undefined) {
    const length = asLength(ix, required(ix, info, 'length', 'info.length'), 'info.length');
    return [{ path: [name], length, offset: 0, padding: false }];
  }
  if (ix.kind(list) !== 'list') throw wrongType(ix, 'info.files', 'a list', list);
  const count = ix.size(list);
  if (count === 0) throw new MetainfoError('invalid-value', 'info.files: no files', { field: 'info.files' });
  if (count > MAX_FILES)
    throw new MetainfoError('limit-exceeded', `info.files: ${count} files (limit ${MAX_FILES})`, {
      field: 'info.files',
      limit: MAX_FILES,
      actual: count,
    });
  const seen = new PathSet();
  const files: TorrentFile[] = [];
  let offset = 0;
  let i = 0;
  for (const item of ix.children(list)) {
    const field = `info.files[${i++}]`;
    const f = asDict(ix, item, field);
    const length = asLength(ix, required(ix, f, 'length', `${field}.length`), `${field}.length`);
    const path = filePath(ix, f, `${field}.path`);
    checkPath(path, `${field}.path`);
    const attr = ix.get(f, 'attr');
    // BEP 47: attr 'p' marks a padding file, never written to disk, so it may repeat a path.
    const padding = isString(ix, attr) && ix.string(attr).includes(0x70);
    if (!padding) seen.add(path, `${field}.path`);
    if (offset + length > Number.MAX_SAFE_INTEGER)
      throw new MetainfoError('invalid-value', `${field}.length: total length past 2^53-1`, {
        field: `${field}.length`,
      });
    files.push({ path, length, offset, padding });
    offset += length;
  }
  return files;
}

function filePath(ix: BencodeIndex, f: number, field: string): string[] {
  const alt = ix.get(f, 'path.utf-8');
  const useAlt = alt !== undefined && ix.kind(alt) === 'list' && ix.size(alt) > 0 && allStrings(ix, alt);
  const path = useAlt ? alt : required(ix, f, 'path', field);
  if (ix.kind(path) !== 'list') throw wrongType(ix, field, 'a list', path);
  // The depth from the index, before a component is built: 3.5 M one-byte components fit in
  // MAX_TORRENT_FILE_BYTES, and building them first cost ~150 MB of heap.
  checkPathDepth(ix.size(path), field);
  const out: string[] = [];
  for (const c of ix.children(path)) out.push(component(asBytes(ix, c, `${field}[${out.length}]`)));
  return out;
}

function allStrings(ix: BencodeIndex, list: number): boolean {
  for (const c of ix.children(list)) if (!isString(ix, c)) return false;
  return true;
}

/** A path component as text; one ASCII byte without the decoder (V8 keeps those strings once). */
function component(bytes: Uint8Array): string {
  return bytes.length === 1 && bytes[0]! < 0x80 ? String.fromCharCode(bytes[0]!) : utf8.decode(bytes);
}

/** The payload of a v1 or hybrid `info` (`name` read and checked): its v1 keys. */
function v1Payload(ix: BencodeIndex, info: number, name: string): Payload {
  const pieceLengthValue = required(ix, info, 'piece length', 'info.piece length');
  if (ix.kind(pieceLengthValue) !== 'integer')
    throw wrongType(ix, 'info.piece length', 'an integer', pieceLengthValue);
  const pieceLengthNumber = ix.integer(pieceLengthValue);
  if (pieceLengthNumber <= 0n || pieceLengthNumber > BigInt(MAX_PIECE_LENGTH))
    throw new MetainfoError(
      'invalid-value',
      `info.piece length: ${pieceLengthNumber} is not between 1 and ${MAX_PIECE_LENGTH}`,
      { field: 'info.piece length', limit: MAX_PIECE_LENGTH },
    );
  const pieceLength = Number(pieceLengthNumber);

  const multiFile = ix.get(info, 'files') !== undefined;
  const named = parseFiles(ix, info, name);
  checkHybridFileTree(ix, info, named); // the torrent's own paths
  const files = resolveCaseCollisions(named);
  const last = files[files.length - 1]!;
  const totalLength = last.offset + last.length;
  if (totalLength === 0) {
    const field = multiFile ? 'info.files' : 'info.length';
    throw new MetainfoError('invalid-value', `${field}: the payload is empty (total length 0)`, { field });
  }

  const pieces = asBytes(ix, required(ix, info, 'pieces', 'info.pieces'), 'info.pieces');
  const pieceCount = Math.ceil(totalLength / pieceLength);
  if (pieceCount > MAX_PIECES)
    throw new MetainfoError('limit-exceeded', `info.pieces: ${pieceCount} pieces (limit ${MAX_PIECES})`, {
      field: 'info.pieces',
      limit: MAX_PIECES,
      actual: pieceCount,
    });
  if (pieces.length !== pieceCount * 20)
    throw new MetainfoError(
      'piece-count-mismatch',
      `info.pieces: ${pieces.length} bytes, expected ${pieceCount * 20} (${pieceCount} pieces of ${pieceLength} for ${totalLength} bytes)`,
      { field: 'info.pieces', limit: pieceCount * 20, actual: pieces.length },
    );
  // A copy as a plain Uint8Array (a Buffer's slice() would be a view into the caller's bytes).
  return { name, pieceLength, pieceCount, pieces: new Uint8Array(pieces), multiFile, files, totalLength };
}

/** Parses and validates a whole .torrent file. Throws MetainfoError only. */
export function parseTorrent(bytes: Uint8Array): Torrent {
  if (bytes.length > MAX_TORRENT_FILE_BYTES)
    throw new MetainfoError(
      'limit-exceeded',
      `torrent of ${bytes.length} bytes (limit ${MAX_TORRENT_FILE_BYTES})`,
      {
        limit: MAX_TORRENT_FILE_BYTES,
        actual: bytes.length,
      },
    );
  // Trailing bytes and wide integers are taken as libtorrent takes them (docs/metainfo.md). Read
  // through the index: what is not read here is never built (bencode-index.ts).
  const ix = bdecodeIndex(bytes, { maxTokens: MAX_TORRENT_TOKENS, allowTrailing: true, wideIntegers: true });
  const root = asDict(ix, 0, '(root)');
  const info = asDict(ix, required(ix, root, 'info', 'info'), 'info');

  const infoName = text(ix, info, 'name', 'info.name');
  checkPathComponent(infoName, 'info.name');
  // BEP 52: a v2-only torrent is read from its `file tree` and `piece layers`; a v1 one, and a
  // hybrid (its pieces checked with its v1 SHA-1s), from its v1 keys. A hybrid's piece layers, when
  // its .torrent has them, are kept to answer its v2 peers' hash requests.
  const v2Only = isV2Only(ix, info);
  const version: TorrentVersion = v2Only ? 'v2' : ix.get(info, 'file tree') !== undefined ? 'hybrid' : 'v1';
  const payload = v2Only ? v2Payload(ix, root, info, infoName) : v1Payload(ix, info, infoName);
  const pieceLayers = version === 'hybrid' ? hybridLayers(ix, root, info, payload) : undefined;

  const privateValue = ix.get(info, 'private');
  if (privateValue !== undefined && ix.kind(privateValue) !== 'integer')
    throw wrongType(ix, 'info.private', 'an integer', privateValue);

  // A copy as a plain Uint8Array (a Buffer's slice() would be a view into the caller's bytes).
  const infoBytes = new Uint8Array(bytes.subarray(ix.start(info), ix.end(info)));
  const infoHashV2 =
    version === 'v1' ? undefined : new Uint8Array(createHash('sha256').update(infoBytes).digest());
  // BEP 52: a v2-only torrent's swarm is named by its SHA-256 cut to 20 bytes (handshake,
  // trackers, DHT); v1 and hybrid by the SHA-1.
  const infoHash = v2Only
    ? infoHashV2!.slice(0, 20)
    : new Uint8Array(createHash('sha1').update(infoBytes).digest());
  const announce = optionalText(ix, root, 'announce');
  const trackers = announceTiers(ix, root, announce);
  const seeds = webSeeds(ix, root);
  const creationValue = ix.get(root, 'creation date');
  const creationDate =
    creationValue !== undefined && ix.kind(creationValue) === 'integer'
      ? ix.integer(creationValue)
      : undefined;

  return {
    version,
    infoHash,
    ...(infoHashV2 === undefined ? {} : { infoHashV2 }),
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    ...payload,
    ...(pieceLayers === undefined ? {} : { pieceLayers }),
    announce,
    announceList: trackers.tiers,
    ...(trackers.ignored > 0 ? { ignoredTrackers: trackers.ignored } : {}),
    private: privateValue !== undefined && ix.integer(privateValue) !== 0n,
    urlList: seeds.urls,
    ...(seeds.ignored > 0 ? { ignoredWebSeeds: seeds.ignored } : {}),
    comment: optionalText(ix, root, 'comment'),
    createdBy: optionalText(ix, root, 'created by'),
    creationDate:
      creationDate !== undefined && creationDate >= 0n && creationDate <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(creationDate)
        : undefined,
    infoBytes,
  };
}
