/**
 * A hybrid torrent (BEP 52) fetched by magnet link has the `pieces root` of each file but not the
 * `piece layers` under them, which a v2 peer asks us for with hash requests. The v1 download goes
 * on with its SHA-1 piece hashes; the torrent machine fetches the layers over the same connections
 * (machines/torrent-piece-layers.ts). This is its world side: which files need a layer (the plan)
 * and the check of each `hashes` answer against its file's root (SHA-256, so not in a machine),
 * the same plan and check a v2 magnet's metadata fetch uses (src/session/fetch-metadata.ts: pieceLayerFetchOf).
 */
import type { PieceLayerPlan } from '../../machines/piece-layer-fetch.js';
import { fileTreeHeight, pieceLayerOf } from '../metainfo/piece-layer-requests.js';
import type { Torrent } from '../metainfo/torrent.js';
import { pieceLayerPlan } from '../metainfo/v2-payload.js';
import { verifyHashes } from '../metainfo/verify-hashes.js';
import type { HashRange } from '../wire/messages.js';

/** The piece layers to fetch (the plan), and the check of an answer against its file's root. */
export interface PieceLayerProver {
  readonly plan: PieceLayerPlan;
  /** A `hashes` answer's run of piece-layer hashes when it proves up to its file's root, else undefined. */
  readonly prove: (range: HashRange, hashes: Uint8Array) => Uint8Array | undefined;
}

/**
 * What fetching the piece layers of the torrent whose info dictionary is `info` asks for (a v2
 * torrent's, or with `hybrid` a hybrid's), and how an answer is checked: undefined for a torrent
 * of neither kind. Shared by a v2 magnet's metadata fetch (fetch-metadata.ts) and a hybrid's.
 */
export function pieceLayerFetchOf(
  info: Uint8Array,
  options: { readonly hybrid?: boolean } = {},
): PieceLayerProver | undefined {
  const plan = pieceLayerPlan(info, options);
  if (plan === undefined) return undefined;
  const pieceLayer = pieceLayerOf(plan.pieceLength);
  /** Each layered file's tree height, by its `pieces root` (hex). */
  const heights = new Map(
    plan.files.map((f) => [Buffer.from(f.piecesRoot).toString('hex'), fileTreeHeight(pieceLayer, f.pieces)]),
  );
  return {
    plan: { pieceLayer, files: plan.files },
    prove: (range, hashes) => {
      const root = range.piecesRoot;
      const height = heights.get(Buffer.from(root.buffer, root.byteOffset, root.byteLength).toString('hex'));
      return height === undefined ? undefined : verifyHashes(root, height, range, hashes);
    },
  };
}

/**
 * What a hybrid without its piece layers fetches: undefined for a v1 or v2 torrent, a hybrid whose
 * .torrent has them, or one with no file longer than a piece (no layer to fetch).
 */
export function hybridLayerFetch(
  torrent: Pick<Torrent, 'version' | 'pieceLayers' | 'infoBytes'>,
): PieceLayerProver | undefined {
  if (torrent.version !== 'hybrid' || torrent.pieceLayers !== undefined) return undefined;
  const fetch = pieceLayerFetchOf(torrent.infoBytes, { hybrid: true });
  return fetch === undefined || fetch.plan.files.length === 0 ? undefined : fetch;
}
