/**
 * BEP 52 in the peer machine: answering a peer's hash requests from our v2 torrent's piece layers
 * (which come in through the machine's input, by reference, hashed once per torrent:
 * src/metainfo/piece-layer-trees.ts). A client that started from a magnet link (`urn:btmh:`) has
 * the info dictionary but not the piece layers, and asks for them 512 hashes at a time.
 *
 *   a request valid for the file whose `pieces root` it names, at the piece layer or above
 *     →  hashes { the request's 48 bytes } + the run and its proof (src/metainfo/merkle-proof.ts)
 *   a block-layer request, an unknown root, any invalid request, a v1 or hybrid torrent
 *     →  hash reject { the request's 48 bytes }
 *
 * Hash requests are answered whatever our choke (BEP 52: "may be sent to a peer regardless of its
 * choke state"), as libtorrent answers them. `hashes` and `hash reject` from the peer answer
 * requests we never send: ignored (the connection drops them as it drops unknown messages).
 *
 * Bound: a connection may make hashRequestLimit() requests — two for each 512-hash run of the
 * torrent's piece layers plus MAX_HASH_REQUESTS — and the next closes it (`hashRequestFlood`).
 * Each answer is at most 8,192 + 64 hashes (~258 KiB), sent through the connection's send queue,
 * whose read pause (4 MiB unsent) holds back a peer that asks without reading the answers.
 */
import {
  hashRequestProblem,
  merkleHashes,
  type PieceLayerTrees,
  rootKey,
} from '../src/metainfo/merkle-proof.js';
import type { Hashes, HashRange, HashReject } from '../src/wire/messages.js';
import type { PeerContext } from './peer-context.js';

/**
 * Hash requests one connection may make beyond two per 512-hash run of the piece layers. libtorrent
 * asks a peer for each run once (again only after a reject or a lost connection) and, after a piece
 * fails its check, for that piece's block hashes, which we reject: a few dozen beyond the runs in an
 * honest download. Past this the peer is not fetching, it is making us send: closed, as the
 * ut_metadata flood is.
 */
export const MAX_HASH_REQUESTS = 1024;

/** The hash requests this connection may make: two per 512-hash run of the piece layers, plus MAX_HASH_REQUESTS. */
export function hashRequestLimit(c: Pick<PeerContext, 'pieceLayerTrees'>): number {
  return MAX_HASH_REQUESTS + 2 * (c.pieceLayerTrees?.pieceLayerRequests ?? 0);
}

/** The peer has made hashRequestLimit() requests already: this one closes the connection. */
export function isHashRequestFlood(c: Pick<PeerContext, 'pieceLayerTrees' | 'hashRequests'>): boolean {
  return c.hashRequests >= hashRequestLimit(c);
}

/**
 * The answer to a hash request: `hashes` with the run and its proof, or a `hash reject`, both
 * repeating the request's fields (the root copied: the request's is a view into the receive buffer).
 */
export function hashAnswer(trees: PieceLayerTrees | undefined, req: HashRange): Hashes | HashReject {
  const fields: HashRange = {
    piecesRoot: new Uint8Array(req.piecesRoot), // a copy (a Buffer's slice() would be a view)
    baseLayer: req.baseLayer,
    index: req.index,
    length: req.length,
    proofLayers: req.proofLayers,
  };
  const tree = trees?.files.get(rootKey(req.piecesRoot));
  if (tree === undefined || hashRequestProblem(tree, req) !== undefined)
    return { type: 'hashReject', ...fields };
  return { type: 'hashes', ...fields, hashes: merkleHashes(tree, req) };
}
