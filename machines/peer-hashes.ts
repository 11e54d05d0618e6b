/**
 * BEP 52 in the peer machine: answering a peer's hash requests from our torrent's piece layers — a
 * v2 torrent's, or a hybrid's when its .torrent has them — which come in through the machine's
 * input, by reference, hashed once per torrent (src/metainfo/piece-layer-trees.ts). A client that
 * started from a magnet link (`urn:btmh:`) has the info dictionary but not the piece layers, and
 * asks for them 512 hashes at a time; after a piece fails its check, libtorrent asks for that
 * piece's block hashes (base layer 0) to find the bad block.
 *
 *   a request valid for the file whose `pieces root` it names, at the piece layer or above
 *     →  hashes { the request's 48 bytes } + the run and its proof (src/metainfo/merkle-proof.ts)
 *   a valid block-layer request over at most MAX_BLOCK_HASH_PIECES pieces, all of which we have
 *     →  the `blockHashes` actor reads them back and hashes them (src/storage/block-layer-hashes.ts),
 *        then hashes { … } + the run and its proof; at most MAX_BLOCK_HASH_READS at once and
 *        MAX_BLOCK_HASH_READS_PER_CONNECTION in all, the rest rejected
 *   an unknown root, any invalid request, a v1 torrent, a hybrid without piece layers
 *     →  hash reject { the request's 48 bytes }
 *
 * Hash requests are answered whatever our choke (BEP 52: "may be sent to a peer regardless of its
 * choke state"), as libtorrent answers them. `hashes` and `hash reject` from the peer answer our
 * requests (a hybrid fetched by magnet fetching its layers: torrent-piece-layers.ts), passed on to
 * the torrent machine by peer.machine.ts, which ignores any other.
 *
 * Bound: a connection may make hashRequestLimit() requests — two for each 512-hash run of the
 * torrent's piece layers plus MAX_HASH_REQUESTS — and the next closes it (`hashRequestFlood`).
 * Each answer is at most 8,192 + 64 hashes (~258 KiB), sent through the connection's send queue,
 * whose read pause (4 MiB unsent) holds back a peer that asks without reading the answers.
 */
import {
  type BlockLayerRead,
  blockRunPieces,
  hashRequestProblem,
  isBlockLayerRequest,
  merkleHashes,
  rootKey,
} from '../src/metainfo/merkle-proof.js';
import type { Hashes, HashRange, HashReject } from '../src/wire/messages.js';
import type { PeerContext } from './peer-context.js';

/**
 * Hash requests one connection may make beyond two per 512-hash run of the piece layers. libtorrent
 * asks a peer for each run once (again only after a reject or a lost connection) and, after a piece
 * fails its check, for that piece's block hashes: a few dozen beyond the runs in an honest download.
 * Past this the peer is not fetching, it is making us send: closed, as the ut_metadata flood is.
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
 * Block-layer reads one connection may start in all: each reads up to MAX_BLOCK_HASH_PIECES pieces
 * back from disk; libtorrent asks once per piece that failed its check. Past them: rejected.
 */
export const MAX_BLOCK_HASH_READS_PER_CONNECTION = 64;

/**
 * Block-layer requests one connection may have being read at once (libtorrent has at most two hash
 * requests out to a peer); one past them is rejected. Each read has its own child actor id,
 * `blockHashes.<slot>` (a few ids, reused: XState keeps per-event-type data for each).
 */
export const MAX_BLOCK_HASH_READS = 2;

/** The child actor id of block-layer read slot `slot`. */
export function blockHashesId(slot: number): string {
  return `blockHashes.${slot}`;
}

/** What to do with a hash request: send the answer, or read the blocks back first (in `slot`). */
export type HashRequestAnswer =
  | { readonly kind: 'send'; readonly message: Hashes | HashReject }
  | { readonly kind: 'read'; readonly slot: number; readonly read: BlockLayerRead };

/** The request's fields with its root copied (the request's is a view into the receive buffer). */
function fieldsOf(req: HashRange): HashRange {
  return {
    piecesRoot: new Uint8Array(req.piecesRoot), // a copy (a Buffer's slice() would be a view)
    baseLayer: req.baseLayer,
    index: req.index,
    length: req.length,
    proofLayers: req.proofLayers,
  };
}

/**
 * The answer to a hash request: `hashes` with the run and its proof, or a `hash reject`, both
 * repeating the request's fields. A valid block-layer request over pieces we all have, with a read
 * slot free, is read first (`read`: the machine spawns the `blockHashes` actor, whose answer
 * blockLayerMessage turns into the message).
 */
export function answerHashRequest(
  c: Pick<
    PeerContext,
    'pieceLayerTrees' | 'ourBitfield' | 'pieceLength' | 'blockHashReads' | 'blockHashReadCount'
  >,
  req: HashRange,
): HashRequestAnswer {
  const fields = fieldsOf(req);
  const reject = { kind: 'send', message: { type: 'hashReject', ...fields } } as const;
  const tree = c.pieceLayerTrees?.files.get(rootKey(req.piecesRoot));
  if (tree === undefined || hashRequestProblem(tree, req) !== undefined) return reject;
  if (!isBlockLayerRequest(tree, req))
    return { kind: 'send', message: { type: 'hashes', ...fields, hashes: merkleHashes(tree, req) } };
  if (c.blockHashReadCount >= MAX_BLOCK_HASH_READS_PER_CONNECTION) return reject;
  const { first, count } = blockRunPieces(tree, req);
  for (let p = first; p < first + count; p++) if (!c.ourBitfield.has(p)) return reject;
  for (let slot = 0; slot < MAX_BLOCK_HASH_READS; slot++)
    if ((c.blockHashReads & (1 << slot)) === 0)
      return { kind: 'read', slot, read: { range: fields, tree, pieceLength: c.pieceLength } };
  return reject;
}

/** The message answering a block-layer request once its blocks were read back and hashed. */
export function blockLayerMessage(range: HashRange, hashes: Uint8Array | undefined): Hashes | HashReject {
  return hashes === undefined ? { type: 'hashReject', ...range } : { type: 'hashes', ...range, hashes };
}
