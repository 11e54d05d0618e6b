/**
 * BEP 9 in the peer machine: serving the torrent's metadata (the info dictionary's bytes, which
 * come in through the machine's input, by reference) to a peer that asks for it with ut_metadata
 * requests — typically a client that started from a magnet link. Pure: the connection decodes the
 * requests (`wire.metadataRequest`), and the answer is encoded here without Buffer.
 *
 *   request for piece p, 0 ≤ p < ceil(size / 16 KiB)  →  data { piece p, total_size } + the piece's bytes
 *   any other piece (negative, ≥ 256 too), or no metadata to give (or above 4 MiB)  →  reject { piece p }
 *
 * Bound: a connection may make MAX_METADATA_REQUESTS requests; the next closes it (`metadataFlood`).
 * Each answer is at most 16 KiB plus ~50 bytes, sent through the connection's send queue, whose
 * read pause (4 MiB unsent) holds back a peer that asks without reading the answers.
 */
import type { WireItem } from '../src/wire/messages.js';
import {
  encodeUtMetadata,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
} from '../src/wire/ut-metadata.js';
import type { PeerContext } from './peer-context.js';

/**
 * The ut_metadata requests one connection may make. Fetching the largest metadata we serve or
 * fetch (4 MiB) takes 256; a client that asks again after timeouts or rejects may need a few times
 * that (libtorrent queues up to 1,024 before it answers with rejects). Past this the peer is not
 * fetching, it is making us send: closed, as the block request flood is.
 */
export const MAX_METADATA_REQUESTS = 1024;

/**
 * The metadata we offer and serve: none above MAX_METADATA_SIZE (4 MiB, 256 pieces), the bound of
 * our ut_metadata pieces both ways. bitstate cannot fetch more; libtorrent can (its
 * max_metadata_size is ~30 MiB by default; a larger `metadata_size` only skips sizing its buffer),
 * so an info dictionary of 4–10 MiB (a .torrent's own limit) is not served to peers that could take
 * it. Such dictionaries hold 200,000+ piece hashes or files.
 */
export function servedMetadata(c: Pick<PeerContext, 'metadata'>): Uint8Array | undefined {
  return c.metadata !== undefined && c.metadata.length <= MAX_METADATA_SIZE ? c.metadata : undefined;
}

/** The answer to a request for piece `piece`, or undefined when the peer gave us no ut_metadata id. */
export function metadataAnswer(
  c: Pick<PeerContext, 'metadata' | 'peerUtMetadata'>,
  piece: number,
): WireItem | undefined {
  if (c.peerUtMetadata === undefined) return undefined;
  const m = servedMetadata(c);
  const payload =
    m !== undefined && Number.isInteger(piece) && piece >= 0 && piece < metadataPieceCount(m.length)
      ? encodeUtMetadata({
          msgType: 'data',
          piece,
          totalSize: m.length,
          data: m.subarray(piece * METADATA_PIECE_LENGTH, (piece + 1) * METADATA_PIECE_LENGTH),
        })
      : encodeUtMetadata({ msgType: 'reject', piece: Number.isSafeInteger(piece) ? piece : 0 });
  return { type: 'extended', extendedId: c.peerUtMetadata, payload };
}

/** The peer has made MAX_METADATA_REQUESTS requests already: this one closes the connection. */
export function isMetadataFlood(c: Pick<PeerContext, 'metadataRequests'>): boolean {
  return c.metadataRequests >= MAX_METADATA_REQUESTS;
}
