/**
 * BEP 9, the metadata exchange (`ut_metadata`), carried in BEP 10 extended messages under the id
 * each side gave it in its extension handshake (`m: { ut_metadata: <id> }`). The metadata is the
 * info dictionary's raw bytes (whose SHA-1 is the info-hash), cut into 16 KiB pieces; every
 * message is a bencoded dictionary, and a data message is followed by the piece's bytes:
 *
 *   request  <len><id=20><ut_metadata id>d8:msg_typei0e5:piecei<n>ee
 *   data     <len><id=20><ut_metadata id>d8:msg_typei1e5:piecei<n>e10:total_sizei<size>ee<piece bytes>
 *   reject   <len><id=20><ut_metadata id>d8:msg_typei2e5:piecei<n>ee
 *
 * Every piece is 16 KiB but the last, which is what is left. This file is the message type, the
 * limits and the encoder, pure (no Buffer) so the peer machine can answer requests itself; the
 * decoder, which needs the bencode decoder, is `decode-ut-metadata.ts`.
 */

/** The extension's name in the BEP 10 handshake's `m` dictionary. */
export const UT_METADATA = 'ut_metadata';

/** BEP 9: the metadata is sent in pieces of 16 KiB (the last may be shorter). */
export const METADATA_PIECE_LENGTH = 16 * 1024;

/**
 * The largest `metadata_size` / `total_size` we accept, fetch or serve: 4 MiB (libtorrent's
 * ut_metadata.cpp sizes its buffer from a `metadata_size` up to this; it fetches up to its
 * max_metadata_size, ~30 MiB by default). A 4 MiB info dictionary holds ~200,000
 * piece hashes (6.6 TB at 32 MiB pieces) or tens of thousands of files; no real torrent comes
 * near it, and it is what fetching may ever allocate for one torrent.
 */
export const MAX_METADATA_SIZE = 4 * 1024 * 1024;

/** Pieces of the largest metadata: 256. A `piece` at or past it is out of range whatever the size. */
export const MAX_METADATA_PIECES = MAX_METADATA_SIZE / METADATA_PIECE_LENGTH;

/**
 * The largest ut_metadata payload we decode: a 16 KiB piece plus its dictionary, which is ~50
 * bytes; 1 KiB leaves room for a client that adds keys. libtorrent closes a peer whose ut_metadata
 * message is over 17 KiB; so do we (`decodeUtMetadata` before it decodes anything).
 */
export const MAX_UT_METADATA_PAYLOAD = METADATA_PIECE_LENGTH + 1024;

/** The bencoded values a ut_metadata dictionary may hold: a handful of keys and integers. */
export const UT_METADATA_MAX_TOKENS = 32;

export type UtMetadataMessage =
  /** `piece` as the peer sent it: any safe integer, out of range answered with a reject. */
  | { readonly msgType: 'request'; readonly piece: number }
  | {
      readonly msgType: 'data';
      readonly piece: number;
      /** The whole metadata's size (`total_size`), which the piece's length must agree with. */
      readonly totalSize: number;
      /** The piece's bytes: a view of the payload. */
      readonly data: Uint8Array;
    }
  | { readonly msgType: 'reject'; readonly piece: number }
  /** BEP 9: "an unrecognized message ID MUST be ignored"; kept so the caller can say it did. */
  | { readonly msgType: 'unknown'; readonly code: number; readonly piece: number };

/** BEP 9's msg_type numbers. */
export const MetadataMessageType = { request: 0, data: 1, reject: 2 } as const;

/** How many 16 KiB pieces `size` bytes of metadata make. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_LENGTH);
}

/** The length of piece `piece` of `size` bytes of metadata (16 KiB but the last). */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_LENGTH, size - piece * METADATA_PIECE_LENGTH);
}

const encoder = new TextEncoder();

/**
 * The payload of an extended message (after the ut_metadata id byte). Keys in byte order
 * (`msg_type` < `piece` < `total_size`), as BEP 3 requires; a unit test checks the bytes against
 * the bencode encoder. An unknown message cannot be encoded (it is only ever read).
 */
export function encodeUtMetadata(message: Exclude<UtMetadataMessage, { msgType: 'unknown' }>): Uint8Array {
  // A reject echoes the piece of the request it answers, which may be out of range (negative too).
  if (!Number.isSafeInteger(message.piece) || (message.piece < 0 && message.msgType !== 'reject'))
    throw new RangeError(`ut_metadata piece ${message.piece} is not a non-negative integer`);
  const type = MetadataMessageType[message.msgType];
  const tail = message.msgType === 'data' ? `10:total_sizei${message.totalSize}e` : '';
  const head = encoder.encode(`d8:msg_typei${type}e5:piecei${message.piece}e${tail}e`);
  if (message.msgType !== 'data') return head;
  const out = new Uint8Array(head.length + message.data.length);
  out.set(head, 0);
  out.set(message.data, head.length);
  return out;
}

/**
 * The extended message id we take ut_metadata messages under, as our extension handshake's `m`
 * says (BEP 10 lets each side choose; 0 is the handshake itself).
 */
export const OUR_UT_METADATA_ID = 1;
