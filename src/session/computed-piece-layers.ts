/**
 * BEP 52: a hybrid's `piece layers` hashed from its own data, as libtorrent hashes them from the
 * data it verified. A hybrid fetched by magnet link whose peers gave none (v1-only connections, v2
 * peers that reject) — or loaded from a .torrent without them — checks its pieces with its v1
 * SHA-1s, and had nothing to answer a v2 peer's hash requests with: every v2-only downloader that
 * came to it was stuck.
 *
 * Once the download is complete (src/session/download.ts: when it starts seeding), each file longer
 * than a piece whose every piece is verified (a selective download: only the files it stores) is
 * read once, 1 MiB at a time, into its merkle tree — `FileMerkleTree`, as `bitstate create` builds
 * it (16 KiB leaves, zero leaves past the file's end) — and the root compared with the file's
 * `pieces root` from the info dictionary:
 * - equal: the file's piece layer is known; served and saved as fetched ones are;
 * - not: the torrent's v1 and v2 descriptions disagree (libtorrent's torrent_inconsistent_hashes):
 *   the data passed its SHA-1s, so it is seeded to v1 peers, but no layer is served for it.
 *
 * Off the hot path: one file at a time, one read of 1 MiB in flight, its SHA-256s (a few ms) run
 * between reads. Memory: the read buffer and each file's layer (32 bytes a piece). A stop aborts
 * between two reads.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { type FileHashes, FileMerkleTree } from '../metainfo/file-merkle-tree.js';
import type { FileLayer } from '../metainfo/piece-layer-trees.js';
import type { Torrent } from '../metainfo/torrent.js';
import { hybridPiecesRoots } from '../metainfo/v2-payload.js';
import type { Bitfield } from '../picker/bitfield.js';

/** Bytes read at a time. */
export const LAYER_READ_BYTES = 1024 * 1024;

/** A file whose layer was hashed and proved to its `pieces root`. */
export interface ComputedLayer extends FileLayer {
  /** Its index in `torrent.files`. */
  readonly file: number;
  readonly piecesRoot: Uint8Array;
}

export interface ComputedLayers {
  /** The layers that hash to their file's root, one per root (identical files share one). */
  readonly layers: readonly ComputedLayer[];
  /** Files whose verified data hashes to another root than their `pieces root` (indices). */
  readonly inconsistent: readonly number[];
  /** Roots of files longer than a piece still without a layer: none of their files is complete on disk. */
  readonly missing: number;
}

/**
 * One file's v2 hashes from its `length` bytes at `path`, read in order, LAYER_READ_BYTES at a time.
 * Rejects with `signal`'s reason once it is aborted, or when the file is shorter than `length`.
 */
export async function hashFileFromDisk(
  path: string,
  length: number,
  pieceLength: number,
  signal?: AbortSignal,
): Promise<FileHashes> {
  const tree = new FileMerkleTree(length, pieceLength);
  const buffer = new Uint8Array(Math.min(LAYER_READ_BYTES, length));
  signal?.throwIfAborted();
  // Our own file: a symlink planted at its place is not followed (as the store opens it).
  const handle: FileHandle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let at = 0;
    while (at < length) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - at), at);
      if (bytesRead === 0) throw new Error(`${path} is shorter than ${length} bytes`);
      tree.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return tree.digest();
}

/**
 * The piece layers of the hybrid `torrent` hashed from its files on disk (`paths[i]`: file i's, as
 * the store has them), for the files whose every piece `have` holds and that are `selected` (default:
 * every file), except those under a root in `known` (hex: layers the torrent has already).
 */
export async function computePieceLayers(
  torrent: Pick<Torrent, 'files' | 'pieceLength' | 'infoBytes'>,
  options: {
    readonly paths: readonly (string | null)[];
    readonly have: Pick<Bitfield, 'has'>;
    readonly selected?: readonly boolean[];
    readonly known?: ReadonlySet<string>;
    readonly signal?: AbortSignal;
  },
): Promise<ComputedLayers> {
  const roots = hybridPiecesRoots(torrent);
  const pieceLength = torrent.pieceLength;
  const layers: ComputedLayer[] = [];
  const inconsistent: number[] = [];
  /** Roots hashed (matched or not), and those still without a complete file. */
  const done = new Set<string>(options.known);
  const waiting = new Set<string>();
  for (const [i, f] of torrent.files.entries()) {
    const root = roots[i];
    if (root === undefined || f.padding || f.length <= pieceLength) continue;
    const key = Buffer.from(root).toString('hex');
    if (done.has(key)) continue;
    const path = options.paths[i];
    const firstPiece = f.offset / pieceLength;
    const count = Math.ceil(f.length / pieceLength);
    let complete = path != null && options.selected?.[i] !== false;
    for (let p = firstPiece; complete && p < firstPiece + count; p++) complete = options.have.has(p);
    if (!complete) {
      waiting.add(key);
      continue;
    }
    const hashes = await hashFileFromDisk(path!, f.length, pieceLength, options.signal);
    done.add(key);
    waiting.delete(key);
    if (hashes.pieceLayer !== undefined && Buffer.from(hashes.piecesRoot).equals(root))
      layers.push({ file: i, piecesRoot: root, layer: hashes.pieceLayer, firstPiece, length: f.length });
    else inconsistent.push(i);
  }
  return { layers, inconsistent, missing: waiting.size };
}

/**
 * Layers known by their `pieces root` (fetched from peers: `torrent.pieceLayers`) laid on the files
 * of the hybrid `torrent` that have them, one file per root: what layerTrees builds the trees from.
 * None under the root of a file in `inconsistent` (ComputedLayers.inconsistent): its verified data
 * does not hash to that root, so a v2 peer given the layer would find our blocks of it false.
 */
export function layersOnFiles(
  torrent: Pick<Torrent, 'files' | 'pieceLength' | 'infoBytes'>,
  known: readonly { readonly piecesRoot: Uint8Array; readonly layer: Uint8Array }[],
  inconsistent: readonly number[] = [],
): FileLayer[] {
  const byRoot = new Map(known.map((l) => [Buffer.from(l.piecesRoot).toString('hex'), l.layer]));
  const roots = hybridPiecesRoots(torrent);
  for (const i of inconsistent) {
    const root = roots[i];
    if (root !== undefined) byRoot.delete(Buffer.from(root).toString('hex'));
  }
  const placed: FileLayer[] = [];
  for (const [i, f] of torrent.files.entries()) {
    const root = roots[i];
    if (root === undefined || f.length <= torrent.pieceLength) continue;
    const key = Buffer.from(root).toString('hex');
    const layer = byRoot.get(key);
    if (layer === undefined) continue;
    byRoot.delete(key);
    placed.push({ layer, firstPiece: f.offset / torrent.pieceLength, length: f.length });
  }
  return placed;
}
