/**
 * The BitTorrent v2 (BEP 52) `file tree`: a tree of dictionaries whose keys are path components,
 * where a key "" holds a file's own dictionary (its `length`, `pieces root`, `attr`):
 *
 *   file tree: d <name> d <name> d … d "" d 6:length i<n>e 11:pieces root 32:<hash> e e … e e
 *
 * `walkFileTree` reads it as libtorrent 2.0 does (extract_files2): in the order of its keys, which
 * is the order of the torrent's files; an entry whose dictionary holds the key "" and nothing else
 * is a file, any other dictionary a folder (an empty one holds nothing and is skipped); a "" beside
 * other names, or a value that is not a dictionary, is refused. Read through the index: the walk
 * keeps one path, the current one, and nothing of the tree is built.
 *
 * Its two users: a v2-only torrent's files (v2-payload.ts), and the check of a hybrid (both v1
 * `pieces` and a v2 `file tree`), used through its v1 keys but only when its v2 `file tree` lists the
 * same files — the same paths and lengths in the same order, v1 padding files (BEP 47) aside — as
 * libtorrent requires ("the v1 and v2 file metadata does not match"). Otherwise the v1 and v2
 * swarms of one torrent would be downloading different payloads.
 */
import type { BencodeIndex } from './bencode-index.js';
import { MetainfoError } from './metainfo-error.js';
import type { TorrentFile } from './torrent.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
export const FILE_TREE_FIELD = 'info.file tree';

/** A path as an error message shows it: quoted, control characters escaped. */
export function quotedPath(path: readonly string[]): string {
  return JSON.stringify(path.join('/'));
}

/** A path component as text; one ASCII byte without the decoder (V8 keeps those strings once). */
function component(bytes: Uint8Array): string {
  return bytes.length === 1 && bytes[0]! < 0x80 ? String.fromCharCode(bytes[0]!) : utf8.decode(bytes);
}

/** The file dictionary of tree entry `node` when it is a file (its only key is ""), else undefined. */
function fileOf(ix: BencodeIndex, node: number): number | undefined {
  let key: number | undefined;
  let value: number | undefined;
  let count = 0;
  for (const child of ix.children(node)) {
    if (count === 0) key = child;
    else if (count === 1) value = child;
    else return undefined;
    count++;
  }
  return key !== undefined && ix.stringLength(key) === 0 ? value : undefined;
}

/**
 * Calls `visit` for each file of `tree` (a value of `ix`), in order, with its path (the tree's keys,
 * decoded; the array is reused: copy it to keep it) and its file dictionary's value (not checked).
 */
export function walkFileTree(
  ix: BencodeIndex,
  tree: number,
  visit: (path: readonly string[], file: number) => void,
): void {
  if (ix.kind(tree) !== 'dictionary') throw treeError('wrong-type', 'expected a dictionary');
  const path: string[] = [];
  // entries() refuses a name that repeats in a folder (libtorrent 2.0.8 refuses it too). The depth
  // of the recursion is bounded by MAX_BENCODE_DEPTH.
  const walk = (node: number): void => {
    for (const [key, child] of ix.entries(node)) {
      if (ix.stringLength(key) === 0)
        throw treeError(
          'invalid-value',
          path.length === 0
            ? 'a file ("") at the top, without a name'
            : `${quotedPath(path)} is a file ("") and a folder at once`,
        );
      path.push(component(ix.string(key)));
      if (ix.kind(child) !== 'dictionary')
        throw treeError('wrong-type', `${quotedPath(path)} is not a dictionary`);
      const file = fileOf(ix, child);
      if (file === undefined) walk(child);
      else visit(path, file);
      path.pop();
    }
  };
  walk(tree);
}

/** True when `tree` holds one entry and it is a file: a single-file v2 torrent (as libtorrent takes it). */
export function isSingleFileTree(ix: BencodeIndex, tree: number): boolean {
  let entries = 0;
  let only: number | undefined;
  for (const [, child] of ix.entries(tree)) {
    if (++entries > 1) return false;
    only = child;
  }
  return only !== undefined && ix.kind(only) === 'dictionary' && fileOf(ix, only) !== undefined;
}

/**
 * For a hybrid torrent, throws unless its v2 file tree lists `v1Files` (padding aside). The walk
 * stops at the first difference.
 */
export function checkHybridFileTree(ix: BencodeIndex, info: number, v1Files: readonly TorrentFile[]): void {
  const tree = ix.get(info, 'file tree');
  if (tree === undefined) return;
  const files = v1Files.filter((f) => !f.padding);
  let index = 0;
  walkFileTree(ix, tree, (path, leaf) => {
    if (ix.kind(leaf) !== 'dictionary')
      throw treeError('wrong-type', `${quotedPath(path)} is not a dictionary`);
    // A symbolic link (attr "l") has no length in v2, and length 0 in v1.
    const lengthValue = ix.get(leaf, 'length');
    if (lengthValue !== undefined && ix.kind(lengthValue) !== 'integer')
      throw treeError('wrong-type', `${quotedPath(path)} has no integer length`);
    const length = lengthValue === undefined ? 0n : ix.integer(lengthValue);
    const v1 = files[index];
    if (v1 === undefined) throw mismatch(`v2 lists more files than v1's ${files.length}`);
    if (v1.path.join('/') !== path.join('/') || BigInt(v1.length) !== length)
      throw mismatch(
        `file ${index}: v1 ${quotedPath(v1.path)} (${v1.length} bytes), v2 ${quotedPath(path)} (${length} bytes)`,
      );
    index++;
  });
  if (index !== files.length) throw mismatch(`v2 lists ${index} files, v1 ${files.length}`);
}

export function treeError(code: 'wrong-type' | 'invalid-value', what: string): MetainfoError {
  return new MetainfoError(code, `${FILE_TREE_FIELD}: ${what}`, { field: FILE_TREE_FIELD });
}

function mismatch(what: string): MetainfoError {
  return new MetainfoError('invalid-value', `${FILE_TREE_FIELD}: the v1 and v2 file lists differ (${what})`, {
    field: FILE_TREE_FIELD,
  });
}
