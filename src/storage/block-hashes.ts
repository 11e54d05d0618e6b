/**
 * The SHA-1 of each block of one piece, read back from disk: what the torrent machine's ban rule
 * compares to tell which peer sent a bad block (docs/machines.md, "The ban rule"; libtorrent's
 * smart ban). Asked only about pieces that failed their hash — when they fail, and once again when
 * they pass — so nothing is read or hashed twice on the normal path.
 *
 * The bytes are the ones the piece was verified from: the storage actor reads them back after every
 * write of the piece has settled and before it tells the machine the piece failed, so no block of a
 * new attempt (the machine hands the piece out again only once told) can be written over them
 * first. Padding bytes (BEP 47) read as zeros, as they hash.
 */
import { createHash } from 'node:crypto';
import { pieceLengthAt } from '../metainfo/torrent.js';
import type { PieceStore } from './piece-store.js';

/** Bytes of one block's hash in the answer: a SHA-1. */
export const BLOCK_HASH_BYTES = 20;

/**
 * The SHA-1 of each `blockLength` block of piece `index` (the last one shorter), concatenated:
 * `BLOCK_HASH_BYTES` per block, in block order. One buffer of a block is reused for the reads.
 */
export async function hashBlocks(store: PieceStore, index: number, blockLength: number): Promise<Uint8Array> {
  const length = pieceLengthAt(store.torrent, index);
  const count = Math.ceil(length / blockLength);
  const out = new Uint8Array(count * BLOCK_HASH_BYTES);
  const buffer = new Uint8Array(Math.min(blockLength, length));
  for (let b = 0; b < count; b++) {
    const begin = b * blockLength;
    const bytes = await store.readBlock(index, begin, Math.min(blockLength, length - begin), buffer);
    out.set(createHash('sha1').update(bytes).digest(), b * BLOCK_HASH_BYTES);
  }
  return out;
}
