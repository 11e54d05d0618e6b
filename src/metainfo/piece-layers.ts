/**
 * BEP 52 `piece layers`, a key of the .torrent's root dictionary beside `info`: for each file longer
 * than one piece, its `pieces root` → the roots of its pieces' subtrees (`piece length / 16 KiB`
 * leaves each), 32 bytes a piece, concatenated. A file of one piece or less has none: its `pieces
 * root` is its one piece's hash.
 *
 * `v2PieceHashes` makes a v2 torrent's `pieces` (one 32-byte hash a piece, Torrent.pieces) from them,
 * each layer checked as libtorrent 2.0.8 checks it — the length of its file's pieces, every entry a
 * 32-byte key and whole hashes — and, past libtorrent, that it hashes up to its file's `pieces root`
 * (libtorrent drops a layer that does not, and asks peers for the hashes): a .torrent whose layers
 * are missing or wrong is refused, naming the file. A v2 magnet's metadata is the info dictionary
 * alone: its layers are fetched from peers with BEP 52 hash requests (machines/piece-layer-fetch.ts)
 * and put beside it before it is parsed here (torrent-from-metadata.ts).
 *
 * A hybrid (BEP 52, v1 `pieces` and a v2 `file tree`) is checked with its v1 SHA-1s, but its
 * `piece layers` are kept too (`hybridPieceLayers`: Torrent.pieceLayers), to answer the hash
 * requests of its v2 peers: laid on its v1 pieces (every file starts a piece, after its BEP 47
 * padding) and checked as a v2 torrent's, with the same errors. A hybrid without `piece layers` is
 * taken as libtorrent takes it (its v1 hashes check every piece): it has none to serve.
 */
import { type BencodeIndex, latin1 } from './bencode-index.js';
import { layerRoot, log2, MERKLE_BLOCK_BYTES, MERKLE_HASH_BYTES } from './merkle-tree.js';
import { MetainfoError } from './metainfo-error.js';
import type { TorrentFile } from './torrent.js';
import { wrongType } from './torrent-fields.js';
import { quotedPath } from './v2-file-tree.js';

const FIELD = 'piece layers';

function invalid(what: string): MetainfoError {
  return new MetainfoError('invalid-value', `${FIELD}: ${what}`, { field: FIELD });
}

/**
 * The `pieces` of a v2 torrent laid out as `files` (each data file at a piece boundary; `roots[i]`
 * the `pieces root` of file i, undefined for padding and empty files), `root` the .torrent's root
 * dictionary.
 */
export function v2PieceHashes(
  ix: BencodeIndex,
  root: number,
  files: readonly TorrentFile[],
  roots: readonly (Uint8Array | undefined)[],
  pieceLength: number,
  pieceCount: number,
  hybrid = false,
): Uint8Array {
  const layered = files.flatMap((f, i) => (roots[i] !== undefined && f.length > pieceLength ? [i] : []));
  const layers =
    layered.length === 0 ? new Map<string, number>() : readLayers(ix, root, files[layered[0]!]!, hybrid);
  const height = log2(pieceLength / MERKLE_BLOCK_BYTES);
  // A layer is checked once, however many files share it (identical files have one root).
  const checked = new Set<string>();
  for (const i of layered) {
    const file = files[i]!;
    const key = latin1(roots[i]!);
    const layer = layers.get(key);
    if (layer === undefined) throw missing(file, hybrid);
    const count = Math.ceil(file.length / pieceLength);
    if (ix.stringLength(layer) !== count * MERKLE_HASH_BYTES)
      throw invalid(
        `the layer of ${quotedPath(file.path)} is ${ix.stringLength(layer)} bytes, not ${count * MERKLE_HASH_BYTES} (${count} pieces of 32)`,
      );
    if (checked.has(key)) continue;
    if (!Buffer.from(layerRoot(ix.string(layer), height)).equals(roots[i]!))
      throw invalid(`the layer of ${quotedPath(file.path)} does not hash to its pieces root`);
    checked.add(key);
  }
  // Allocated once every layer is known to be there and of its size: at most MAX_PIECES × 32.
  const pieces = new Uint8Array(pieceCount * MERKLE_HASH_BYTES);
  files.forEach((f, i) => {
    const fileRoot = roots[i];
    if (fileRoot === undefined) return;
    const at = (f.offset / pieceLength) * MERKLE_HASH_BYTES;
    pieces.set(f.length > pieceLength ? ix.string(layers.get(latin1(fileRoot))!) : fileRoot, at);
  });
  return pieces;
}

/** `piece layers` as pieces root (latin1) → the layer's value; `first` is a file that needs one. */
function readLayers(
  ix: BencodeIndex,
  root: number,
  first: TorrentFile,
  hybrid: boolean,
): Map<string, number> {
  const value = ix.get(root, FIELD);
  if (value === undefined) throw missing(first, hybrid);
  if (ix.kind(value) !== 'dictionary') throw wrongType(ix, FIELD, 'a dictionary', value);
  const layers = new Map<string, number>();
  // entries() refuses a key that repeats. libtorrent 2.0.8 refuses a malformed entry too.
  for (const [key, layer, name] of ix.entries(value)) {
    if (name.length !== MERKLE_HASH_BYTES)
      throw invalid(`a key of ${name.length} bytes, not a ${MERKLE_HASH_BYTES}-byte pieces root`);
    if (ix.kind(layer) !== 'string' || ix.stringLength(layer) % MERKLE_HASH_BYTES !== 0)
      throw invalid(
        `the layer of ${Buffer.from(ix.string(key)).toString('hex')} is not whole 32-byte hashes`,
      );
    layers.set(name, layer);
  }
  return layers;
}

function missing(file: TorrentFile, hybrid: boolean): MetainfoError {
  return new MetainfoError(
    'unsupported',
    hybrid
      ? `${FIELD} missing: ${quotedPath(file.path)} is longer than a piece and has no layer (a hybrid's piece layers are all there or none)`
      : `${FIELD} missing: ${quotedPath(file.path)} is longer than a piece and has no layer (bitstate asks peers for them only when it starts from a v2 magnet link)`,
    { field: FIELD },
  );
}

/**
 * A hybrid's piece layers laid on its v1 pieces (one 32-byte hash a piece, as a v2 torrent's
 * `pieces`; a piece of padding or of an empty file all zeros), or undefined when its .torrent has
 * no `piece layers`. `files` are its v1 files, padding included, `roots[i]` the `pieces root` of
 * file i (undefined for padding and empty files), `root` the .torrent's root dictionary. Throws
 * MetainfoError as for a v2 torrent, and when a file with a layer does not start a piece (its v2
 * pieces would not be its v1 ones).
 */
export function hybridPieceLayers(
  ix: BencodeIndex,
  root: number,
  files: readonly TorrentFile[],
  roots: readonly (Uint8Array | undefined)[],
  pieceLength: number,
  pieceCount: number,
): Uint8Array | undefined {
  if (ix.get(root, FIELD) === undefined) return undefined;
  files.forEach((f, i) => {
    if (roots[i] !== undefined && f.offset % pieceLength !== 0)
      throw invalid(
        `${quotedPath(f.path)} starts at byte ${f.offset}, not at a piece boundary: no padding file before it, so its v2 pieces are not the hybrid's pieces`,
      );
  });
  return v2PieceHashes(ix, root, files, roots, pieceLength, pieceCount, true);
}
