/**
 * BitTorrent v2 (BEP 52) as far as a v1 client must know it. bitstate speaks v1 only:
 *
 * - a v2-only torrent (a `file tree`, no v1 `pieces`) is refused as `unsupported`, saying so,
 *   instead of failing on the first v1 key it lacks (`info.length: missing`);
 * - a hybrid (both) is used through its v1 keys, but only when its v2 `file tree` lists the same
 *   files — the same paths and lengths in the same order, v1 padding files (BEP 47) aside — as
 *   libtorrent requires ("the v1 and v2 file metadata does not match"). Otherwise the v1 and v2
 *   swarms of one torrent would be downloading different payloads.
 *
 *   file tree: d <name> d <name> d … d "" d 6:length i<n>e 11:pieces root 32:<hash> e e … e e
 *
 * The check costs one walk of the tree, stopped at the first difference.
 */
import type { BencodeDict, BencodeValue } from './bdecode.js';
import { BencodeDict as Dict } from './bdecode.js';
import { MetainfoError } from './metainfo-error.js';
import type { TorrentFile } from './torrent.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const FIELD = 'info.file tree';

/** Throws `unsupported` when `info` is v2-only. */
export function refuseV2Only(info: BencodeDict): void {
  if (info.get('pieces') !== undefined) return;
  if (info.get('file tree') === undefined && info.get('meta version') === undefined) return;
  throw new MetainfoError('unsupported', 'BitTorrent v2-only torrents are not supported (no v1 pieces)', {
    field: 'info.meta version',
  });
}

/** For a hybrid torrent, throws unless its v2 file tree lists `v1Files` (padding aside). */
export function checkHybridFileTree(info: BencodeDict, v1Files: readonly TorrentFile[]): void {
  const tree = info.get('file tree');
  if (tree === undefined) return;
  if (!(tree instanceof Dict)) throw treeError(`expected a dictionary`);
  const files = v1Files.filter((f) => !f.padding);
  let index = 0;
  const walk = (node: BencodeDict, path: string[]): void => {
    for (const [key, child] of node.entries) {
      if (key === '') {
        visitFile(path, child);
        continue;
      }
      if (!(child instanceof Dict))
        throw treeError(`"${[...path, text(key)].join('/')}" is not a dictionary`);
      walk(child, [...path, text(key)]);
    }
  };
  const visitFile = (path: string[], leaf: BencodeValue): void => {
    if (!(leaf instanceof Dict)) throw treeError(`"${path.join('/')}" is not a dictionary`);
    // A symbolic link (attr "l") has no length in v2, and length 0 in v1.
    const length = leaf.get('length') ?? 0n;
    if (typeof length !== 'bigint') throw treeError(`"${path.join('/')}" has no integer length`);
    const v1 = files[index];
    if (v1 === undefined) throw mismatch(`v2 lists more files than v1's ${files.length}`);
    if (v1.path.join('/') !== path.join('/') || BigInt(v1.length) !== length)
      throw mismatch(
        `file ${index}: v1 "${v1.path.join('/')}" (${v1.length} bytes), v2 "${path.join('/')}" (${length} bytes)`,
      );
    index++;
  };
  walk(tree, []);
  if (index !== files.length) throw mismatch(`v2 lists ${index} files, v1 ${files.length}`);
}

function text(key: string): string {
  return utf8.decode(Buffer.from(key, 'latin1'));
}

function treeError(what: string): MetainfoError {
  return new MetainfoError('wrong-type', `${FIELD}: ${what}`, { field: FIELD });
}

function mismatch(what: string): MetainfoError {
  return new MetainfoError('invalid-value', `${FIELD}: the v1 and v2 file lists differ (${what})`, {
    field: FIELD,
  });
}
