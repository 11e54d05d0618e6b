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
import type { BencodeIndex } from './bencode-index.js';
import { MetainfoError } from './metainfo-error.js';
import type { TorrentFile } from './torrent.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const FIELD = 'info.file tree';

/** Throws `unsupported` when `info` (a dictionary of `ix`) is v2-only. */
export function refuseV2Only(ix: BencodeIndex, info: number): void {
  if (ix.get(info, 'pieces') !== undefined) return;
  if (ix.get(info, 'file tree') === undefined && ix.get(info, 'meta version') === undefined) return;
  throw new MetainfoError('unsupported', 'BitTorrent v2-only torrents are not supported (no v1 pieces)', {
    field: 'info.meta version',
  });
}

/**
 * For a hybrid torrent, throws unless its v2 file tree lists `v1Files` (padding aside). Read
 * through the index: the walk stops at the first difference, and nothing of the tree is built.
 */
export function checkHybridFileTree(ix: BencodeIndex, info: number, v1Files: readonly TorrentFile[]): void {
  const tree = ix.get(info, 'file tree');
  if (tree === undefined) return;
  if (ix.kind(tree) !== 'dictionary') throw treeError(`expected a dictionary`);
  const files = v1Files.filter((f) => !f.padding);
  let index = 0;
  // entries() refuses a name that repeats in a folder (libtorrent 2.0.8 refuses it too).
  const walk = (node: number, path: string[]): void => {
    for (const [key, child] of ix.entries(node)) {
      if (ix.stringLength(key) === 0) {
        visitFile(path, child);
        continue;
      }
      const name = utf8.decode(ix.string(key));
      if (ix.kind(child) !== 'dictionary')
        throw treeError(`"${[...path, name].join('/')}" is not a dictionary`);
      walk(child, [...path, name]);
    }
  };
  const visitFile = (path: string[], leaf: number): void => {
    if (ix.kind(leaf) !== 'dictionary') throw treeError(`"${path.join('/')}" is not a dictionary`);
    // A symbolic link (attr "l") has no length in v2, and length 0 in v1.
    const lengthValue = ix.get(leaf, 'length');
    if (lengthValue !== undefined && ix.kind(lengthValue) !== 'integer')
      throw treeError(`"${path.join('/')}" has no integer length`);
    const length = lengthValue === undefined ? 0n : ix.integer(lengthValue);
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

function treeError(what: string): MetainfoError {
  return new MetainfoError('wrong-type', `${FIELD}: ${what}`, { field: FIELD });
}

function mismatch(what: string): MetainfoError {
  return new MetainfoError('invalid-value', `${FIELD}: the v1 and v2 file lists differ (${what})`, {
    field: FIELD,
  });
}
