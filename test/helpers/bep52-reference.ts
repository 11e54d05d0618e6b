/**
 * BEP 52's merkle hashes of one file computed the slow way, straight from the BEP's words, for
 * tests to compare bitstate's streaming trees with: the tree over every 16 KiB block of the file
 * (the last one shorter), zero leaves past its end up to a power of two; a piece layer entry is the
 * root of the subtree of `piece length / 16 KiB` leaves under one piece. The whole file in memory.
 */
import { createHash } from 'node:crypto';

export const BLOCK = 16 * 1024;
export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** The root of `leaves`, `pad` leaves (zero leaves unless given) added up to `width`, built layer by layer. */
export function slowRoot(
  leaves: readonly Uint8Array[],
  width: number,
  pad: Uint8Array = new Uint8Array(32),
): Buffer {
  let layer = [...leaves];
  while (layer.length < width) layer.push(pad);
  while (layer.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])));
    layer = up;
  }
  return Buffer.from(layer[0]!);
}

/** The SHA-256 of each 16 KiB block of `data` (the last one shorter): the tree's leaves. */
export function blockHashes(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK) out.push(sha256(data.subarray(at, at + BLOCK)));
  return out;
}

/** A non-empty file's `pieces root`. */
export function referencePiecesRoot(data: Uint8Array): Buffer {
  const blocks = blockHashes(data);
  let width = 1;
  while (width < blocks.length) width *= 2;
  return slowRoot(blocks, width);
}

/** A file's piece layer: one 32-byte root per piece (BEP 52 writes it only past one piece). */
export function referencePieceLayer(data: Uint8Array, pieceLength: number): Buffer {
  const blocks = blockHashes(data);
  const perPiece = pieceLength / BLOCK;
  const out: Uint8Array[] = [];
  for (let at = 0; at < blocks.length; at += perPiece)
    out.push(slowRoot(blocks.slice(at, at + perPiece), perPiece));
  return Buffer.concat(out);
}

/** A file's `pieces root` and, when it is longer than a piece, its piece layer. */
export function fileHashes(data: Uint8Array, pieceLength: number): { root: Buffer; layer?: Buffer } {
  const root = referencePiecesRoot(data);
  return data.length <= pieceLength ? { root } : { root, layer: referencePieceLayer(data, pieceLength) };
}

/**
 * Every layer of the tree over `leaves` (hashes), zero leaves added up to a power of two: `[0]` the
 * leaves, the last the root alone. Built pair by pair, for checking proofs against.
 */
export function slowLayers(leaves: readonly Uint8Array[]): Uint8Array[][] {
  let width = 1;
  while (width < leaves.length) width *= 2;
  let layer: Uint8Array[] = [...leaves];
  while (layer.length < width) layer.push(new Uint8Array(32));
  const layers: Uint8Array[][] = [layer];
  while (layer.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])));
    layers.push(up);
    layer = up;
  }
  return layers;
}

/** `count` distinct made-up leaf hashes (not of any data), the same for the same `seed`. */
export function madeUpLeaves(count: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => sha256(Uint8Array.of(i & 0xff, i >> 8, seed)));
}
