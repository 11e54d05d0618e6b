import { type BencodeInput, bencode } from '../../src/metainfo/bencode.js';

import { BLOCK, fileHashes, sha256 } from './bep52-reference.js';

export { BLOCK, fileHashes, sha256 };

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
