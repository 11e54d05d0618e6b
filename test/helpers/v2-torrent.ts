/**
 * v2-only torrents (BEP 52) made for tests to check src/metainfo/ against: the .torrent written with
 * bencode, its merkle hashes the slow way — every 16 KiB leaf hashed, zero leaves added up to a
 * power of two, the tree built a layer at a time (as test/property/merkle-tree.property.test.ts
 * builds it) — nothing shared with the code under test.
 */
import { createHash } from 'node:crypto';
import { type BencodeInput, bencode } from '../../src/metainfo/bencode.js';

export const BLOCK = 16 * 1024;

export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** The root of `leaves` padded with zero leaves to `width`, layer by layer. */
export function slowRoot(leaves: readonly Uint8Array[], width: number): Buffer {
  let layer = [...leaves];
  while (layer.length < width) layer.push(new Uint8Array(32));
  while (layer.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])));
    layer = up;
  }
  return Buffer.from(layer[0]!);
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * A file's `pieces root` and, when it is longer than a piece, its piece layer (each piece's subtree
 * of `pieceLength / 16 KiB` leaves, the last one padded with zero leaves): both from the leaves.
 */
export function fileHashes(data: Uint8Array, pieceLength: number): { root: Buffer; layer?: Buffer } {
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK) blocks.push(sha256(data.subarray(at, at + BLOCK)));
  const root = slowRoot(blocks, pow2(blocks.length));
  if (data.length <= pieceLength) return { root };
  const perPiece = pieceLength / BLOCK;
  const layer: Uint8Array[] = [];
  for (let i = 0; i < blocks.length; i += perPiece)
    layer.push(slowRoot(blocks.slice(i, i + perPiece), perPiece));
  return { root, layer: Buffer.concat(layer) };
}

export interface Spec {
  readonly path: readonly string[];
  readonly data?: Uint8Array;
  /** The file's dictionary instead of `{ length, pieces root }`. */
  readonly leaf?: { readonly [key: string]: BencodeInput };
}

/** `d4:info…12:piece layersd…ee`: the layers' keys are raw bytes, which bencode() cannot write. */
export function withLayers(
  info: BencodeInput,
  layers: readonly (readonly [Uint8Array, Uint8Array])[] | undefined,
): Buffer {
  const encoded = Buffer.from(bencode({ info }));
  if (layers === undefined) return encoded;
  const sorted = [...layers].sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts = sorted.flatMap(([k, v]) => [Buffer.from(`${k.length}:`), k, Buffer.from(`${v.length}:`), v]);
  return Buffer.concat([
    encoded.subarray(0, -1),
    Buffer.from('12:piece layersd'),
    ...parts,
    Buffer.from('ee'),
  ]);
}

/**
 * A v2-only torrent of `specs` (name `v2`, piece length 16 KiB unless given; `info` adds keys to the
 * info dictionary, or removes them as undefined), with `piece layers` holding its long files'
 * layers — or `layers` instead, or no such key with `layers: null`.
 */
export function v2Torrent(
  specs: readonly Spec[],
  options: {
    pieceLength?: number;
    name?: string;
    info?: { readonly [key: string]: BencodeInput | undefined };
    layers?: readonly (readonly [Uint8Array, Uint8Array])[] | null;
  } = {},
): Buffer {
  const pieceLength = options.pieceLength ?? BLOCK;
  const tree: Record<string, BencodeInput> = {};
  const layers: [Uint8Array, Uint8Array][] = [];
  for (const s of specs) {
    let node = tree;
    for (const c of s.path.slice(0, -1)) node = (node[c] ??= {}) as Record<string, BencodeInput>;
    let leaf = s.leaf;
    if (leaf === undefined) {
      const data = s.data ?? new Uint8Array(0);
      const h = fileHashes(data, pieceLength);
      leaf = { length: data.length, ...(data.length > 0 ? { 'pieces root': h.root } : {}) };
      // Identical files share a root, and their one layer.
      if (h.layer !== undefined && !layers.some(([r]) => h.root.equals(r))) layers.push([h.root, h.layer]);
    }
    node[s.path.at(-1)!] = { '': leaf };
  }
  const info = {
    'file tree': tree,
    'meta version': 2,
    name: options.name ?? 'v2',
    'piece length': pieceLength,
    ...options.info,
  };
  return withLayers(info, options.layers === null ? undefined : (options.layers ?? layers));
}
