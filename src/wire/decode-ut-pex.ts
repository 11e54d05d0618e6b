/**
 * The decoder of BEP 11 ut_pex messages (the format is in `ut-pex.ts`). Strict about size and
 * shape, lenient about fields, as libtorrent and Transmission are: a payload over
 * MAX_UT_PEX_PAYLOAD, or one that is not a bencoded dictionary, is a typed error (the connection is
 * closed, as libtorrent closes with invalid_pex_message); a key that is missing or not a string is
 * an empty list, a trailing partial entry is ignored, flags whose length does not match their
 * addresses are read as no flags, and an entry with port 0 is skipped. At most MAX_PEX_ACCEPTED
 * added and dropped peers are decoded from one message, whatever it holds.
 */
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import { addressOfCompact } from '../net/compact-address.js';
import {
  MAX_PEX_ACCEPTED,
  MAX_UT_PEX_PAYLOAD,
  type PexPeer,
  UT_PEX_MAX_TOKENS,
  type UtPexMessage,
} from './ut-pex.js';
import { WireError } from './wire-error.js';

function bad(detail: string, received = 0, limit = 0): WireError {
  return new WireError('badPexMessage', { received, limit, detail });
}

function bytesOf(value: BencodeValue | undefined): Uint8Array | undefined {
  return value instanceof Uint8Array ? value : undefined;
}

/** The addresses of a compact string (6 or 18 bytes each), up to `room` of them. */
function addresses(value: BencodeValue | undefined, size: 6 | 18, room: number): (string | undefined)[] {
  const bytes = bytesOf(value);
  if (bytes === undefined) return [];
  const n = Math.min(Math.floor(bytes.length / size), room);
  const out: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) out.push(addressOfCompact(bytes, i * size, size));
  return out;
}

/** Added peers of one family with their flags (none when `added.f` does not have one byte each). */
function added(dict: BencodeDict, key: string, size: 6 | 18, room: number): PexPeer[] {
  const all = bytesOf(dict.get(key));
  const list = addresses(all, size, room);
  const flags = bytesOf(dict.get(`${key}.f`));
  const flagsFit = all !== undefined && flags?.length === Math.floor(all.length / size);
  const out: PexPeer[] = [];
  list.forEach((address, i) => {
    if (address !== undefined) out.push({ address, flags: flagsFit ? flags[i]! : 0 });
  });
  return out;
}

/**
 * Decodes one ut_pex payload (the bytes after the extended message's id). Throws WireError
 * ('badPexMessage') only: never another exception, whatever the bytes.
 */
export function decodeUtPex(payload: Uint8Array): UtPexMessage {
  if (payload.length > MAX_UT_PEX_PAYLOAD)
    throw bad(
      `${payload.length} bytes; the limit is ${MAX_UT_PEX_PAYLOAD}`,
      payload.length,
      MAX_UT_PEX_PAYLOAD,
    );
  let dict: BencodeValue;
  try {
    dict = bdecode(payload, { maxTokens: UT_PEX_MAX_TOKENS });
  } catch (cause) {
    throw bad(`its dictionary does not decode (${(cause as Error).message})`);
  }
  if (!(dict instanceof BencodeDict)) throw bad('it is not a dictionary');
  const added4 = added(dict, 'added', 6, MAX_PEX_ACCEPTED);
  const added6 = added(dict, 'added6', 18, MAX_PEX_ACCEPTED - added4.length);
  const dropped4 = addresses(dict.get('dropped'), 6, MAX_PEX_ACCEPTED);
  const dropped6 = addresses(dict.get('dropped6'), 18, MAX_PEX_ACCEPTED - dropped4.length);
  return {
    added: [...added4, ...added6],
    dropped: [...dropped4, ...dropped6].filter((a): a is string => a !== undefined),
  };
}
