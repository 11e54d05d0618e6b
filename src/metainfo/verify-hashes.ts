/**
 * The asking side of BEP 52's hash requests: whether a peer's `hashes` answer proves itself against
 * the file's `pieces root` — the one hash we trust, from the info dictionary whose SHA-256 is the
 * magnet's v2 info-hash. The requests (piece-layer-requests.ts) ask for proofs up to just below the
 * root, so every answer is checked on its own against it, with no other node of the tree kept.
 *
 * An answer (merkle-proof.ts has the layout) verifies when its length is the run plus the uncles the
 * request asked for, and folding the run (a power of two of hashes, padding included as the peer
 * sends it) then each uncle on the side the run's index says gives the `pieces root`. Pure; one
 * SHA-256 of 64 bytes per node folded, nothing kept but the run.
 */
import { HASH_LENGTH } from '../wire/limits.js';
import type { HashRange } from '../wire/messages.js';
import { uncleCount } from './merkle-proof.js';
import { hashPair, log2, MerkleRoot } from './merkle-tree.js';

/**
 * The run of `req`'s base layer (`length` hashes, a view into `hashes`) when `hashes` answers `req`
 * and proves it up to `root` in a tree of height `height`; undefined when it does not (a wrong count,
 * a proof that stops below the root, or hashes that fold to another root).
 */
export function verifyHashes(
  root: Uint8Array,
  height: number,
  req: Omit<HashRange, 'piecesRoot'>,
  hashes: Uint8Array,
): Uint8Array | undefined {
  const { baseLayer, index, length, proofLayers } = req;
  if (length < 1 || (length & (length - 1)) !== 0 || index % length !== 0) return undefined;
  if (baseLayer < 0 || baseLayer >= height || proofLayers < 0) return undefined;
  const uncles = uncleCount(length, proofLayers);
  if (hashes.length !== (length + uncles) * HASH_LENGTH) return undefined;
  // Only a proof that reaches the root can be checked against it.
  if (log2(length) + uncles !== height - baseLayer) return undefined;
  if (index + length > 2 ** (height - baseLayer)) return undefined;
  const run = hashes.subarray(0, length * HASH_LENGTH);
  const tree = new MerkleRoot();
  for (let j = 0; j < length; j++) tree.push(run.subarray(j * HASH_LENGTH, (j + 1) * HASH_LENGTH));
  let node = tree.root(length);
  let position = index / length;
  for (let u = 0; u < uncles; u++) {
    const uncle = hashes.subarray((length + u) * HASH_LENGTH, (length + u + 1) * HASH_LENGTH);
    node = position % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node);
    position = Math.floor(position / 2);
  }
  return Buffer.from(node).equals(Buffer.from(root)) ? run : undefined;
}
