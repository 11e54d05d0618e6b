/**
 * The answer to a BEP 52 hash request for the block layer (base layer 0, the 16 KiB leaves of a
 * file's merkle tree), which no torrent keeps: the pieces the run lies in are read back from disk
 * and their blocks hashed, then the run and its proof are laid out as for any hash request
 * (src/metainfo/merkle-proof.ts) — the uncles inside those pieces from the leaves just hashed, those
 * above them read from the file's tree. libtorrent asks for a piece's block hashes after the piece
 * failed its check, to find the bad block (hash_picker::verify_block_hashes).
 *
 * The peer machine decides (machines/peer-hashes.ts: a valid request, at most MAX_BLOCK_HASH_PIECES
 * pieces, each one we have, at most a few reads in flight per connection); this is the effect it
 * asks for, provided by the session as the `blockHashes` actor. Each piece read is checked against
 * its hash in the piece layer first: a piece that does not hash to it (the disk changed under us)
 * gets a reject, not hashes the peer would find false. Memory: one read buffer (at most 1 MiB, as
 * the store reads) and the leaves of the pieces read, 32 bytes a block. The connection closing stops
 * the actor, whose abort signal ends the reading at the next read: a peer that asks and hangs up at
 * once leaves no reads going on for nobody (up to MAX_BLOCK_HASH_PIECES pieces each). A torrent
 * runs at most MAX_TORRENT_BLOCK_HASH_READS of them at once, whatever its connections ask.
 */
import { fromPromise } from 'xstate';
import {
  type BlockLayerAnswer,
  type BlockLayerRead,
  type FileHashTree,
  node,
  uncleCount,
} from '../metainfo/merkle-proof.js';
import { log2, MERKLE_BLOCK_BYTES, MERKLE_HASH_BYTES, sha256 } from '../metainfo/merkle-tree.js';
import { fileTree } from '../metainfo/piece-layer-trees.js';
import { MAX_READ_BLOCK_BYTES, type PieceStore } from './piece-store.js';

/** Reads `length` bytes of piece `index` from `begin` (PieceStore.readBlock). */
export type PieceRead = (
  index: number,
  begin: number,
  length: number,
  into: Uint8Array,
) => Promise<Uint8Array>;

/**
 * The leaf hashes of the file's piece `p` (counted in the file), concatenated: its blocks' SHA-256,
 * the last one shorter, zeros past the file's end; undefined when they do not hash to the piece
 * layer's hash.
 */
async function pieceLeaves(
  read: PieceRead,
  tree: FileHashTree,
  p: number,
  pieceLength: number,
  buffer: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  const leaves = new Uint8Array(2 ** tree.pieceLayer * MERKLE_HASH_BYTES); // zero leaves past the file
  const dataLength = Math.min(pieceLength, tree.length - p * pieceLength);
  for (let at = 0; at < dataLength; at += buffer.length) {
    signal?.throwIfAborted();
    const n = Math.min(buffer.length, dataLength - at);
    const bytes = await read(tree.firstPiece + p, at, n, buffer);
    for (let b = 0; b < n; b += MERKLE_BLOCK_BYTES)
      leaves.set(
        sha256(bytes.subarray(b, Math.min(n, b + MERKLE_BLOCK_BYTES))),
        ((at + b) / MERKLE_BLOCK_BYTES) * MERKLE_HASH_BYTES,
      );
  }
  return Buffer.from(fileTree(leaves, 0).root).equals(node(tree, 0, p)) ? leaves : undefined;
}

/**
 * The hashes answering a block-layer request the machine accepted: `length` leaves from `index`,
 * then the uncles from the run's root's sibling up to height `proof layers`. Undefined when a piece
 * read back does not hash to its piece-layer hash. Throws what the read throws, and the signal's
 * reason once it is aborted (checked before each read).
 */
export async function blockLayerHashes(
  read: PieceRead,
  input: BlockLayerRead,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  const { tree, range, pieceLength } = input;
  const perPiece = 2 ** tree.pieceLayer;
  const filePieces = tree.layers[0]!.length / MERKLE_HASH_BYTES;
  // The whole pieces the run lies in: a power of two of them, aligned (index is a multiple of length).
  const from = Math.floor(range.index / perPiece);
  const to = Math.max(from + 1, (range.index + range.length) / perPiece);
  const buffer = new Uint8Array(Math.min(pieceLength, MAX_READ_BLOCK_BYTES));
  // Past the file, zero leaves (the tree pads with them): left as allocated.
  const leaves = new Uint8Array((to - from) * perPiece * MERKLE_HASH_BYTES);
  for (let p = from; p < Math.min(to, filePieces); p++) {
    const piece = await pieceLeaves(read, tree, p, pieceLength, buffer, signal);
    if (piece === undefined) return undefined;
    leaves.set(piece, (p - from) * perPiece * MERKLE_HASH_BYTES);
  }
  // The tree over the pieces read, its layers counted from the leaves (a power of two of them).
  const readTree = fileTree(leaves, 0);
  const readHeight = log2(leaves.length / MERKLE_HASH_BYTES);
  const firstLeaf = from * perPiece;
  const uncles = uncleCount(range.length, range.proofLayers);
  const out = new Uint8Array((range.length + uncles) * MERKLE_HASH_BYTES);
  out.set(
    leaves.subarray(
      (range.index - firstLeaf) * MERKLE_HASH_BYTES,
      (range.index - firstLeaf + range.length) * MERKLE_HASH_BYTES,
    ),
  );
  const firstUncle = range.proofLayers + 1 - uncles;
  for (let u = 0; u < uncles; u++) {
    const h = firstUncle + u;
    const ancestor = Math.floor(range.index / 2 ** h);
    const sibling = ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1;
    // Inside the pieces read: from their leaves; above them (h ≥ the piece layer): from the tree.
    const hash =
      h < readHeight
        ? node(readTree, h, sibling - firstLeaf / 2 ** h)
        : node(tree, h - tree.pieceLayer, sibling);
    out.set(hash, (range.length + u) * MERKLE_HASH_BYTES);
  }
  return out;
}

/**
 * Block-layer reads one torrent runs at once, whatever its connections ask (each may have
 * MAX_BLOCK_HASH_READS in flight: 2 × its peers, a read buffer of up to 1 MiB each, bypassing the
 * choke and the upload limit); the others wait their turn — not rejected, as libtorrent takes a
 * block-layer reject badly (docs/wire.md).
 */
export const MAX_TORRENT_BLOCK_HASH_READS = 4;

/**
 * The `blockHashes` actor the session gives the peer machine (one per torrent: its reads share
 * MAX_TORRENT_BLOCK_HASH_READS turns): the answer read from `store`; a failed read is a reject (the
 * connection's serving reads report the disk's failures). Stopped (the connection closed), it
 * reads no further: one stopped while it waits reads nothing once its turn comes, and hands it on.
 */
export function blockHashesActor(store: Pick<PieceStore, 'readBlock'>) {
  let reading = 0;
  /** Reads waiting for a turn, first come first served: each called when a turn is handed to it. */
  const waiting: (() => void)[] = [];
  /** Resolves when the read may start (at once while fewer than the bound are reading). */
  const turn = async (): Promise<void> => {
    if (reading < MAX_TORRENT_BLOCK_HASH_READS) reading++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
  };
  /** A read ended: its turn goes to the first waiting, if any (`reading` unchanged then). */
  const handOver = () => {
    const next = waiting.shift();
    if (next === undefined) reading--;
    else next();
  };
  return fromPromise<BlockLayerAnswer, BlockLayerRead>(async ({ input, signal }) => {
    await turn();
    try {
      return {
        range: input.range,
        hashes: await blockLayerHashes((i, b, l, into) => store.readBlock(i, b, l, into), input, signal),
      };
    } catch {
      return { range: input.range, hashes: undefined };
    } finally {
      handOver();
    }
  });
}
