/**
 * The decoder of BEP 9 ut_metadata messages (the format is in `ut-metadata.ts`). Strict where a
 * wrong answer could cost us: the payload's size is checked before anything is decoded, the
 * dictionary goes through the strict bencode decoder with a small value bound, and a data
 * message's bytes must be exactly the length its `piece` and `total_size` call for. Whether the
 * piece was asked for, and whether `total_size` is the one we fetch, is for the metadata machine.
 */
import { BencodeDict, bdecode } from '../metainfo/bdecode.js';
import {
  MAX_METADATA_PIECES,
  MAX_METADATA_SIZE,
  MAX_UT_METADATA_PAYLOAD,
  METADATA_PIECE_LENGTH,
  MetadataMessageType,
  metadataPieceLength,
  UT_METADATA_MAX_TOKENS,
  type UtMetadataMessage,
} from './ut-metadata.js';
import { WireError } from './wire-error.js';

function bad(detail: string, received = 0, limit = 0): WireError {
  return new WireError('badMetadataMessage', { received, limit, detail });
}

/** An integer key of the dictionary within [min, max], else a typed error. */
function integer(dict: BencodeDict, key: string, min: number, max: number): number {
  const value = dict.get(key);
  if (typeof value !== 'bigint') throw bad(`${key} is ${value === undefined ? 'missing' : 'not an integer'}`);
  if (value < BigInt(min) || value > BigInt(max))
    throw bad(`${key} ${value} is outside ${min}..${max}`, Number(value), value < BigInt(min) ? min : max);
  return Number(value);
}

/**
 * Decodes one ut_metadata payload (the bytes after the extended message's id). Throws WireError
 * ('badMetadataMessage') only: never another exception, whatever the bytes.
 */
export function decodeUtMetadata(payload: Uint8Array): UtMetadataMessage {
  if (payload.length > MAX_UT_METADATA_PAYLOAD)
    throw bad(
      `${payload.length} bytes; the limit is ${MAX_UT_METADATA_PAYLOAD}`,
      payload.length,
      MAX_UT_METADATA_PAYLOAD,
    );
  let dict: unknown;
  try {
    dict = bdecode(payload, { allowTrailing: true, maxTokens: UT_METADATA_MAX_TOKENS });
  } catch (cause) {
    throw bad(`its dictionary does not decode (${(cause as Error).message})`);
  }
  if (!(dict instanceof BencodeDict)) throw bad('it is not a dictionary');
  const code = integer(dict, 'msg_type', 0, Number.MAX_SAFE_INTEGER);
  // A request for a piece no metadata has (negative, or past the 256th) is still a request: it is
  // answered with a reject, as libtorrent does, not a reason to close the connection.
  const piece =
    code === MetadataMessageType.request
      ? integer(dict, 'piece', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      : integer(dict, 'piece', 0, MAX_METADATA_PIECES - 1);
  const rest = payload.length - dict.end;
  switch (code) {
    case MetadataMessageType.request:
    case MetadataMessageType.reject:
      if (rest !== 0) throw bad(`${rest} bytes follow a ${code === 0 ? 'request' : 'reject'}`, rest, 0);
      return { msgType: code === 0 ? 'request' : 'reject', piece };
    case MetadataMessageType.data: {
      const totalSize = integer(dict, 'total_size', 1, MAX_METADATA_SIZE);
      if (piece * METADATA_PIECE_LENGTH >= totalSize)
        throw bad(
          `piece ${piece} is past total_size ${totalSize}`,
          piece,
          Math.ceil(totalSize / METADATA_PIECE_LENGTH) - 1,
        );
      const expected = metadataPieceLength(totalSize, piece);
      if (rest !== expected)
        throw bad(
          `piece ${piece} of total_size ${totalSize} carries ${rest} bytes, not ${expected}`,
          rest,
          expected,
        );
      return { msgType: 'data', piece, totalSize, data: payload.subarray(dict.end) };
    }
    default:
      return { msgType: 'unknown', code, piece };
  }
}
