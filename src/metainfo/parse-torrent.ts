/**
 * `parseTorrent(bytes)`: a .torrent file (BEP 3, with BEP 12 announce-list, BEP 19 url-list,
 * BEP 27 private, BEP 47 padding files) into the validated `Torrent`. Pure: no I/O. Every
 * rejection is a MetainfoError naming its field. What is tolerated (as libtorrent tolerates it)
 * and what is rejected is listed in docs/metainfo.md.
 */
import { createHash } from 'node:crypto';
import { BencodeDict, type BencodeValue, bdecode } from './bdecode.js';
import { resolveCaseCollisions } from './case-collisions.js';
import {
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_PIECES,
  MAX_TORRENT_FILE_BYTES,
  MAX_TORRENT_TOKENS,
} from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import type { Torrent, TorrentFile } from './torrent.js';
import { checkPath, checkPathComponent, PathSet } from './torrent-path.js';
import { checkHybridFileTree, refuseV2Only } from './v2-file-tree.js';

/** Invalid UTF-8 becomes U+FFFD (libtorrent rewrites it too); the path checks run on the result. */
const utf8 = new TextDecoder('utf-8', { fatal: false });

function typeName(v: BencodeValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'bigint') return 'an integer';
  if (v instanceof Uint8Array) return 'a string';
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

function wrongType(field: string, expected: string, v: BencodeValue | undefined): MetainfoError {
  return new MetainfoError('wrong-type', `${field}: expected ${expected}, found ${typeName(v)}`, { field });
}

function required(d: BencodeDict, key: string, field: string): BencodeValue {
  const v = d.get(key);
  if (v === undefined) throw new MetainfoError('missing-field', `${field}: missing`, { field });
  return v;
}

function asDict(v: BencodeValue | undefined, field: string): BencodeDict {
  if (!(v instanceof BencodeDict)) throw wrongType(field, 'a dictionary', v);
  return v;
}

function asBytes(v: BencodeValue | undefined, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw wrongType(field, 'a string', v);
  return v;
}

/** A non-negative integer that a JS number holds exactly. */
function asLength(v: BencodeValue | undefined, field: string): number {
  if (typeof v !== 'bigint') throw wrongType(field, 'an integer', v);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new MetainfoError('invalid-value', `${field}: ${v} is not a length between 0 and 2^53-1`, {
      field,
    });
  return Number(v);
}

/** `key.utf-8` when it is a string, else `key` (libtorrent's preference). */
function text(d: BencodeDict, key: string, field: string): string {
  const alt = d.get(`${key}.utf-8`);
  return utf8.decode(alt instanceof Uint8Array ? alt : asBytes(required(d, key, field), field));
}

/** An optional text field: absent, empty or ill-typed is `undefined` (libtorrent ignores those too). */
function optionalText(d: BencodeDict, key: string): string | undefined {
  const v = d.get(`${key}.utf-8`) ?? d.get(key);
  if (!(v instanceof Uint8Array) || v.length === 0) return undefined;
  return utf8.decode(v);
}

function stringList(v: BencodeValue | undefined): string[] {
  if (v instanceof Uint8Array) return v.length > 0 ? [utf8.decode(v)] : [];
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is Uint8Array => x instanceof Uint8Array && x.length > 0).map((x) => utf8.decode(x));
}

/** BEP 12: tiers of tracker URLs. Like libtorrent, skips what is not a list of strings, and empty tiers. */
function announceTiers(root: BencodeDict, announce: string | undefined): string[][] {
  const v = root.get('announce-list');
  const tiers = Array.isArray(v)
    ? v
        .filter(Array.isArray)
        .map(stringList)
        .filter((t) => t.length > 0)
    : [];
  if (tiers.length > 0) return tiers;
  return announce === undefined ? [] : [[announce]];
}

function parseFiles(info: BencodeDict, name: string): TorrentFile[] {
  const list = info.get('files');
  if (list === undefined) {
    const length = asLength(required(info, 'length', 'info.length'), 'info.length');
    return [{ path: [name], length, offset: 0, padding: false }];
  }
  if (!Array.isArray(list)) throw wrongType('info.files', 'a list', list);
  if (list.length === 0)
    throw new MetainfoError('invalid-value', 'info.files: no files', { field: 'info.files' });
  if (list.length > MAX_FILES)
    throw new MetainfoError('limit-exceeded', `info.files: ${list.length} files (limit ${MAX_FILES})`, {
      field: 'info.files',
      limit: MAX_FILES,
      actual: list.length,
    });
  const seen = new PathSet();
  const files: TorrentFile[] = [];
  let offset = 0;
  list.forEach((item, i) => {
    const field = `info.files[${i}]`;
    const f = asDict(item, field);
    const length = asLength(required(f, 'length', `${field}.length`), `${field}.length`);
    const path = filePath(f, `${field}.path`);
    checkPath(path, `${field}.path`);
    const attr = f.get('attr');
    // BEP 47: attr 'p' marks a padding file, never written to disk, so it may repeat a path.
    const padding = attr instanceof Uint8Array && attr.includes(0x70);
    if (!padding) seen.add(path, `${field}.path`);
    if (offset + length > Number.MAX_SAFE_INTEGER)
      throw new MetainfoError('invalid-value', `${field}.length: total length past 2^53-1`, {
        field: `${field}.length`,
      });
    files.push({ path, length, offset, padding });
    offset += length;
  });
  return files;
}

function filePath(f: BencodeDict, field: string): string[] {
  const alt = f.get('path.utf-8');
  if (Array.isArray(alt) && alt.length > 0 && alt.every((c) => c instanceof Uint8Array))
    return (alt as Uint8Array[]).map(component);
  const path = required(f, 'path', field);
  if (!Array.isArray(path)) throw wrongType(field, 'a list', path);
  return path.map((c, i) => component(asBytes(c, `${field}[${i}]`)));
}

/** A path component as text; one ASCII byte without the decoder (V8 keeps those strings once). */
function component(bytes: Uint8Array): string {
  return bytes.length === 1 && bytes[0]! < 0x80 ? String.fromCharCode(bytes[0]!) : utf8.decode(bytes);
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
  // Trailing bytes and wide integers are taken as libtorrent takes them (docs/metainfo.md).
  const root = asDict(
    bdecode(bytes, { maxTokens: MAX_TORRENT_TOKENS, allowTrailing: true, wideIntegers: true }),
    '(root)',
  );
  const info = asDict(required(root, 'info', 'info'), 'info');
  refuseV2Only(info);

  const name = text(info, 'name', 'info.name');
  checkPathComponent(name, 'info.name');

  const pieceLengthValue = required(info, 'piece length', 'info.piece length');
  if (typeof pieceLengthValue !== 'bigint')
    throw wrongType('info.piece length', 'an integer', pieceLengthValue);
  if (pieceLengthValue <= 0n || pieceLengthValue > BigInt(MAX_PIECE_LENGTH))
    throw new MetainfoError(
      'invalid-value',
      `info.piece length: ${pieceLengthValue} is not between 1 and ${MAX_PIECE_LENGTH}`,
      { field: 'info.piece length', limit: MAX_PIECE_LENGTH },
    );
  const pieceLength = Number(pieceLengthValue);

  const multiFile = info.get('files') !== undefined;
  const named = parseFiles(info, name);
  checkHybridFileTree(info, named); // the torrent's own paths
  const files = resolveCaseCollisions(named);
  const last = files[files.length - 1]!;
  const totalLength = last.offset + last.length;
  if (totalLength === 0) {
    const field = multiFile ? 'info.files' : 'info.length';
    throw new MetainfoError('invalid-value', `${field}: the payload is empty (total length 0)`, { field });
  }

  const pieces = asBytes(required(info, 'pieces', 'info.pieces'), 'info.pieces');
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

  const privateValue = info.get('private');
  if (privateValue !== undefined && typeof privateValue !== 'bigint')
    throw wrongType('info.private', 'an integer', privateValue);

  // Copies as plain Uint8Arrays (a Buffer's slice() would be a view into the caller's bytes).
  const infoBytes = new Uint8Array(bytes.subarray(info.start, info.end));
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest());
  const announce = optionalText(root, 'announce');
  const creationDate = root.get('creation date');

  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    name,
    pieceLength,
    pieceCount,
    pieces: new Uint8Array(pieces),
    multiFile,
    files,
    totalLength,
    announce,
    announceList: announceTiers(root, announce),
    private: privateValue !== undefined && privateValue !== 0n,
    urlList: stringList(root.get('url-list')),
    comment: optionalText(root, 'comment'),
    createdBy: optionalText(root, 'created by'),
    creationDate:
      typeof creationDate === 'bigint' &&
      creationDate >= 0n &&
      creationDate <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(creationDate)
        : undefined,
    infoBytes,
  };
}
