/**
 * BitTorrent v2 (BEP 52) merkle trees: SHA-256 over 16 KiB blocks of one file.
 *
 *   leaf     = SHA-256(block)            a file's last block may be shorter; no padding of its bytes
 *   node     = SHA-256(left ‖ right)
 *   past EOF = 32 zero bytes as leaves, up to a power of two, so every layer is full
 *
 * A file's `pieces root` is the tree's root. A file larger than one piece also has a *piece layer*
 * (the torrent's `piece layers`): the roots of its subtrees of `piece length / 16 KiB` leaves, one
 * 32-byte hash per piece, the last one over zero leaves past the file's end. Those are what a
 * piece's bytes are checked against; a file of one piece or less is checked against its root.
 *
 * Everything here works from hashes it is given or bytes it is fed, a subtree at a time: memory is
 * one stack of hashes per tree height, never the tree.
 */
import * as crypto from 'node:crypto';

/** Bytes under one leaf (BEP 52: "blocks of 16 KiB"). */
export const MERKLE_BLOCK_BYTES = 16 * 1024;
/** Bytes of one node: a SHA-256. */
export const MERKLE_HASH_BYTES = 32;

/** `padHashes[h]`: the root of a subtree of 2^h zero leaves. Grown on demand, shared. */
const padHashes: Uint8Array[] = [new Uint8Array(MERKLE_HASH_BYTES)];

/** The root of a subtree of 2^`height` zero leaves (height 0: the zero leaf itself). */
export function padHash(height: number): Uint8Array {
  while (padHashes.length <= height) {
    const below = padHashes[padHashes.length - 1]!;
    padHashes.push(hashPair(below, below));
  }
  return padHashes[height]!;
}

/**
 * SHA-256 of `bytes`: one call, no Hash object, where Node has `crypto.hash` (20.12 and later; a
 * v2 piece of 1 MiB is 64 leaves and 63 pairs, and the Hash object per call cost ~10 % of hashing
 * a piece).
 */
export const sha256: (bytes: Uint8Array) => Uint8Array =
  typeof crypto.hash === 'function'
    ? (bytes) => crypto.hash('sha256', bytes, 'buffer')
    : (bytes) => crypto.createHash('sha256').update(bytes).digest();

/** Where a pair is laid out to be hashed (hashing is synchronous: one scratch serves every call). */
const pairScratch = new Uint8Array(2 * MERKLE_HASH_BYTES);

/** SHA-256(left ‖ right). */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pairScratch.set(left, 0);
  pairScratch.set(right, MERKLE_HASH_BYTES);
  return sha256(pairScratch);
}

/** The smallest power of two ≥ `n` (1 for n ≤ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
export function log2(powerOfTwo: number): number {
  return Math.round(Math.log2(powerOfTwo));
}

/**
 * Builds a root from leaves pushed one at a time, left to right (a binary counter of subtree
 * roots: at most one per height). Leaves here are hashes: a block's SHA-256 or, for a piece layer,
 * a piece's subtree root.
 */
export class MerkleRoot {
  /** `levels[h]`: the root of a complete subtree of 2^h leaves waiting for its right sibling. */
  readonly #levels: (Uint8Array | undefined)[] = [];
  /** Leaves pushed so far, counted in leaves of height 0. */
  #count = 0;

  get count(): number {
    return this.#count;
  }

  /** Adds the root of a complete subtree of 2^`height` leaves; `count` must be a multiple of 2^height. */
  push(hash: Uint8Array, height = 0): void {
    let h = hash;
    let level = height;
    while (this.#levels[level] !== undefined) {
      h = hashPair(this.#levels[level]!, h);
      this.#levels[level] = undefined;
      level++;
    }
    this.#levels[level] = h;
    this.#count += 2 ** height;
  }

  /**
   * The root of a tree of `leaves` leaves (a power of two, ≥ `count`): what was pushed, then
   * subtrees padded with `padLeafHeight`-high zero subtrees (0: zero leaves; a piece layer is padded
   * with the roots of whole zero pieces). Ends this accumulator.
   */
  root(leaves: number, padLeafHeight = 0): Uint8Array {
    if (leaves < this.#count || (leaves & (leaves - 1)) !== 0)
      throw new RangeError(`a tree of ${leaves} leaves cannot hold ${this.#count}`);
    while (this.#count < leaves) {
      // The largest complete zero subtree that starts here and fits.
      let height = 0;
      while (this.#count % 2 ** (height + 1) === 0 && this.#count + 2 ** (height + 1) <= leaves) height++;
      this.push(padHash(height + padLeafHeight), height);
    }
    return this.#levels[log2(leaves)]!;
  }
}

/**
 * The root of a layer of 32-byte hashes (concatenated), padded to a power of two with
 * `padHash(padLeafHeight)`: a piece layer's root is its file's `pieces root`.
 */
export function layerRoot(layer: Uint8Array, padLeafHeight: number): Uint8Array {
  const count = layer.length / MERKLE_HASH_BYTES;
  const tree = new MerkleRoot();
  for (let i = 0; i < count; i++)
    tree.push(layer.subarray(i * MERKLE_HASH_BYTES, (i + 1) * MERKLE_HASH_BYTES));
  return tree.root(nextPowerOfTwo(count), padLeafHeight);
}

/**
 * The merkle root of one piece's bytes, fed in order in any slicing: 16 KiB leaves, the last one
 * shorter, zero leaves up to `leaves`. Bytes past `dataLength` are ignored (the implicit padding
 * that aligns the next file, which BEP 52 does not hash). `update`/`digest` as node:crypto's Hash.
 */
export class PieceMerkle {
  readonly #dataLength: number;
  readonly #leaves: number;
  readonly #tree = new MerkleRoot();
  /** A leaf's bytes that came in pieces (only when an update does not end on a leaf boundary). */
  #partial: Uint8Array | undefined;
  #partialLength = 0;
  /** Data bytes taken so far. */
  #taken = 0;

  constructor(dataLength: number, leaves: number) {
    if (dataLength <= 0 || leaves * MERKLE_BLOCK_BYTES < dataLength || (leaves & (leaves - 1)) !== 0)
      throw new RangeError(`a piece of ${dataLength} bytes cannot have ${leaves} leaves`);
    this.#dataLength = dataLength;
    this.#leaves = leaves;
  }

  update(bytes: Uint8Array): this {
    let at = 0;
    const end = Math.min(bytes.length, this.#dataLength - this.#taken);
    while (at < end) {
      if (this.#partialLength === 0 && end - at >= MERKLE_BLOCK_BYTES) {
        this.#tree.push(sha256(bytes.subarray(at, at + MERKLE_BLOCK_BYTES)));
        at += MERKLE_BLOCK_BYTES;
        continue;
      }
      this.#partial ??= new Uint8Array(MERKLE_BLOCK_BYTES);
      const n = Math.min(MERKLE_BLOCK_BYTES - this.#partialLength, end - at);
      this.#partial.set(bytes.subarray(at, at + n), this.#partialLength);
      this.#partialLength += n;
      at += n;
      if (this.#partialLength === MERKLE_BLOCK_BYTES) this.#flushPartial();
    }
    this.#taken += end;
    return this;
  }

  #flushPartial(): void {
    this.#tree.push(sha256(this.#partial!.subarray(0, this.#partialLength)));
    this.#partialLength = 0;
  }

  /** The root; undefined-free: bytes short of `dataLength` simply make a different (wrong) root. */
  digest(): Uint8Array {
    if (this.#partialLength > 0) this.#flushPartial();
    return this.#tree.root(this.#leaves);
  }
}
