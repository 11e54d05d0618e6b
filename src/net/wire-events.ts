/**
 * The peer machine's events made from decoded wire items (tcp-connection.ts hands them on): field
 * by field for the hot messages, shared constants for fieldless ones, BEP 9 / 10 / 11 extension
 * payloads decoded with their bounds, and the rule that drops messages that would tell the machine
 * nothing new.
 */
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import { decodeUtMetadata } from '../wire/decode-ut-metadata.js';
import { decodeUtPex } from '../wire/decode-ut-pex.js';
import type { WireItem } from '../wire/messages.js';
import { decodeUploadOnly, OUR_UPLOAD_ONLY_ID, UPLOAD_ONLY } from '../wire/upload-only.js';
import { OUR_UT_METADATA_ID, UT_METADATA, type UtMetadataMessage } from '../wire/ut-metadata.js';
import { OUR_UT_PEX_ID, UT_PEX, type UtPexMessage } from '../wire/ut-pex.js';
import type { WireError } from '../wire/wire-error.js';

/** The events of messages without fields, made once (the decoder shares these messages too). */
const FIELDLESS_EVENTS: Readonly<Record<string, { type: string }>> = Object.fromEntries(
  ['keepAlive', 'choke', 'unchoke', 'interested', 'notInterested', 'haveAll', 'haveNone'].map((t) => [
    t,
    Object.freeze({ type: `wire.${t}` }),
  ]),
);

/**
 * A message that would tell the peer machine nothing the messages before it in the same socket
 * read did not: dropped before it becomes an event. Every message resets the machine's silence
 * clock, so a keep-alive, an unknown message, BEP 52's hashes and hash reject (answers to hash
 * requests we send only while a hybrid fetches its piece layers, when the connection keeps them:
 * ConnectionHooks.proveHashes) or an extended one other than the handshake (the machine ignores those)
 * says nothing after any other message of the read; and a choke, unchoke,
 * interested, not interested, cancel, suggest or allowed fast says nothing right after the same
 * message. A hostile-peer review measured 6 MB of keep-alives or unknown messages stalling an
 * honest download for 16–27 s, one machine event per 4 or 5 bytes; haves are batched instead
 * (read-batches.ts), and a peer that flaps choke and unchoke is closed (`unchokeFlood`).
 * Extended messages other than the handshake, ut_metadata (BEP 9, which the machine answers),
 * ut_pex (BEP 11, whose peers it queues) and upload_only (BEP 21, which it keeps) are dropped only
 * because the peer machine ignores them: the next extension it reads must be taken out of this rule too.
 */
export function redundantMessage(before: WireItem | 'batched' | undefined, item: WireItem): boolean {
  if (before === undefined) return false;
  switch (item.type) {
    case 'keepAlive':
    case 'unknown':
    case 'hashes':
    case 'hashReject':
      return true;
    case 'extended':
      return (
        item.extendedId !== 0 &&
        item.extendedId !== OUR_UT_METADATA_ID &&
        item.extendedId !== OUR_UT_PEX_ID &&
        item.extendedId !== OUR_UPLOAD_ONLY_ID
      );
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'notInterested':
      return before !== 'batched' && before.type === item.type;
    case 'cancel':
      return (
        before !== 'batched' &&
        before.type === 'cancel' &&
        before.index === item.index &&
        before.begin === item.begin &&
        before.length === item.length
      );
    case 'suggest':
    case 'allowedFast':
      return before !== 'batched' && before.type === item.type && before.index === item.index;
    default:
      return false;
  }
}

/**
 * Turn a decoded item into the machine's event: `{ type: 'wire.<kind>', ...fields }`. A piece (one
 * per 16 KiB block) is built field by field and a fieldless message is a shared constant: a spread
 * and a type string per message were measurable garbage on a fast download (issue #8).
 */
export function wireEvent(item: WireItem): { type: string } {
  if (item.type === 'extended' && item.extendedId === 0) return extensionHandshakeEvent(item.payload);
  if (item.type === 'extended' && item.extendedId === OUR_UT_METADATA_ID) return metadataEvent(item);
  if (item.type === 'extended' && item.extendedId === OUR_UT_PEX_ID) return pexEvent(item.payload);
  if (item.type === 'extended' && item.extendedId === OUR_UPLOAD_ONLY_ID) return uploadOnlyEvent(item);
  if (item.type === 'piece')
    return { type: 'wire.piece', index: item.index, begin: item.begin, block: item.block } as {
      type: string;
    };
  return FIELDLESS_EVENTS[item.type] ?? { ...item, type: `wire.${item.type}` };
}

/**
 * The most bencoded values an extension handshake is decoded through. A real one holds a few dozen
 * (libtorrent's: `m` with ~10 extensions, `v`, `p`, `reqq`, `yourip`, `complete_ago`,
 * `metadata_size`…). Without a bound, a 1 MiB handshake of small values took 60–200 ms to decode
 * on the main thread, and BEP 10 lets a peer send the handshake again whenever it likes: a few
 * connections repeating it held a seeder's event loop most of the time. Past the bound the payload
 * is treated as one that does not decode (the event carries no fields): 25–35 µs for the 1 MiB
 * handshake that took 200 ms before.
 */
export const EXTENSION_HANDSHAKE_MAX_TOKENS = 1000;

/**
 * BEP 10: the peer's extension handshake (extended id 0) as the machine's event, with the fields
 * the machine uses: `reqq`, `p` (the port the peer listens on), the ids of the extensions it takes
 * and BEP 21's `upload_only`. The payload is already bounded
 * by the wire frame limit (MAX_EXTENDED_PAYLOAD_LENGTH) and decoded through at most
 * EXTENSION_HANDSHAKE_MAX_TOKENS values; a payload that is not a dictionary, or a field that is not
 * an integer, is left out of the event, not fatal: the extension is optional.
 * The machine checks the values' ranges (acceptedReqq, acceptedListenPort).
 */
export function extensionHandshakeEvent(payload: Uint8Array): {
  type: 'wire.extendedHandshake';
  reqq?: number;
  listenPort?: number;
  utMetadata?: number;
  metadataSize?: number;
  utPex?: number;
  uploadOnly?: true;
  uploadOnlyId?: number;
} {
  let dict: BencodeValue;
  try {
    dict = bdecode(payload, { maxTokens: EXTENSION_HANDSHAKE_MAX_TOKENS });
  } catch {
    return { type: 'wire.extendedHandshake' };
  }
  if (!(dict instanceof BencodeDict)) return { type: 'wire.extendedHandshake' };
  const reqq = safeInteger(dict.get('reqq'));
  const listenPort = safeInteger(dict.get('p'));
  // BEP 9: the id the peer reads ut_metadata messages under (0 or none: it has none), and the
  // info dictionary's size when it has it. Ranges are the reader's to check (MAX_METADATA_SIZE).
  const m = dict.get('m');
  const utMetadata = m instanceof BencodeDict ? safeInteger(m.get(UT_METADATA)) : undefined;
  const metadataSize = safeInteger(dict.get('metadata_size'));
  // BEP 11: the id the peer reads ut_pex messages under; 0 turns it off (BEP 10: `m` is additive,
  // so a handshake sent again without ut_pex changes nothing, and one with 0 disables it).
  const utPex = m instanceof BencodeDict ? safeInteger(m.get(UT_PEX)) : undefined;
  // BEP 21: a peer that will not download says `upload_only` 1 (libtorrent: any integer but 0;
  // Transmission's bool is one too); and libtorrent names its upload_only message in `m`, which
  // tells us of a change later (src/wire/upload-only.ts).
  const uploadOnly = safeInteger(dict.get(UPLOAD_ONLY));
  const uploadOnlyId = m instanceof BencodeDict ? safeInteger(m.get(UPLOAD_ONLY)) : undefined;
  return {
    type: 'wire.extendedHandshake',
    ...(reqq === undefined || reqq < 1 ? {} : { reqq }),
    ...(listenPort === undefined ? {} : { listenPort }),
    ...(utMetadata === undefined || utMetadata < 1 || utMetadata > 255 ? {} : { utMetadata }),
    ...(metadataSize === undefined ? {} : { metadataSize }),
    ...(utPex === undefined || utPex < 0 || utPex > 255 ? {} : { utPex }),
    ...(uploadOnly === undefined || uploadOnly === 0 ? {} : { uploadOnly: true as const }),
    ...(uploadOnlyId === undefined || uploadOnlyId < 0 || uploadOnlyId > 255 ? {} : { uploadOnlyId }),
  };
}

/**
 * BEP 21: libtorrent's upload_only message sent to us (under the id our extension handshake gave
 * it): `wire.uploadOnly`. A payload that is not one byte stays the ignored `wire.extended`, as
 * libtorrent ignores it.
 */
export function uploadOnlyEvent(item: Extract<WireItem, { type: 'extended' }>): { type: string } {
  const uploadOnly = decodeUploadOnly(item.payload);
  if (uploadOnly === undefined)
    return { type: 'wire.extended', extendedId: item.extendedId, payload: item.payload } as { type: string };
  return { type: 'wire.uploadOnly', uploadOnly } as { type: string };
}

/**
 * BEP 11: a ut_pex message sent to us (under the id our extension handshake gave it), decoded with
 * its bounds (src/wire/decode-ut-pex.ts): `wire.pex` with at most MAX_PEX_ACCEPTED added and
 * dropped peers. A payload over MAX_UT_PEX_PAYLOAD or one that is not a dictionary closes the
 * connection (`wire.error`), as libtorrent closes with pex_message_too_large / invalid_pex_message.
 */
export function pexEvent(payload: Uint8Array): { type: string } {
  let m: UtPexMessage;
  try {
    m = decodeUtPex(payload);
  } catch (err) {
    const e = err as WireError;
    return { type: 'wire.error', code: e.code, message: e.message } as { type: string };
  }
  return { type: 'wire.pex', added: m.added, dropped: m.dropped } as { type: string };
}

/**
 * BEP 9: a ut_metadata message sent to us (under the id our extension handshake gave it). A request
 * becomes `wire.metadataRequest` for the peer machine to answer; a message that does not decode
 * closes the connection (`wire.error`, as libtorrent closes with invalid_metadata_message); data and
 * rejects, which we never asked for while a torrent runs, stay the ignored `wire.extended`.
 */
export function metadataEvent(item: Extract<WireItem, { type: 'extended' }>): { type: string } {
  let m: UtMetadataMessage;
  try {
    m = decodeUtMetadata(item.payload);
  } catch (err) {
    const e = err as WireError;
    return { type: 'wire.error', code: e.code, message: e.message } as { type: string };
  }
  if (m.msgType === 'request') return { type: 'wire.metadataRequest', piece: m.piece } as { type: string };
  return { type: 'wire.extended', extendedId: item.extendedId, payload: item.payload } as { type: string };
}

/** A bencoded integer that fits a JavaScript number exactly; anything else is undefined. */
function safeInteger(value: BencodeValue | undefined): number | undefined {
  if (typeof value !== 'bigint') return undefined;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : undefined;
}
