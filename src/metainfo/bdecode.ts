/**
 * A strict bencode decoder (BEP 3) of our own, used instead of the `bencode` package's decoder,
 * which is lenient in ways a hostile .torrent can exploit (see docs/metainfo.md):
 *
 *   i<digits>e       integer: no leading zero, no `-0`, no sign without digits, int64 range → bigint
 *   <len>:<bytes>    byte string: the length has no leading zero and never runs past the input
 *   l<values>e       list
 *   d<key><value>…e  dictionary: keys are byte strings, each at most once (any order: real
 *                    torrents have unsorted keys, and the info-hash covers them as they stand)
 *
 * It is iterative (an explicit stack, so 100,000 nested lists cannot overflow the JS stack),
 * limited in depth, rejects trailing bytes, keeps dictionaries in `Map`s (a `__proto__` key is a
 * key like any other) and records each dictionary's byte span, so the info-hash is the SHA-1 of
 * the info dictionary's raw bytes. Strings are views into the input (no copy).
 */
import { MetainfoError } from './metainfo-error.js';

/** libtorrent's default bdecode depth limit; a .torrent needs about 6. */
export const MAX_BENCODE_DEPTH = 100;
/** Digits of an integer: 19 covers the int64 range (libtorrent's `boost::int64_t`). */
const MAX_INTEGER_DIGITS = 19;
/** Digits of a string length: anything longer runs past any input we accept. */
const MAX_LENGTH_DIGITS = 10;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export type BencodeValue = bigint | Uint8Array | BencodeValue[] | BencodeDict;

/** A decoded dictionary: keys as latin1 strings (one char per byte, lossless), with its byte span. */
export class BencodeDict {
  readonly entries = new Map<string, BencodeValue>();
  /** Offset of the `d` in the input. */
  readonly start: number;
  /** Offset just past the closing `e` (set when the dictionary closes). */
  end = -1;
  constructor(start: number) {
    this.start = start;
  }
  get(key: string): BencodeValue | undefined {
    return this.entries.get(key);
  }
}

type Frame =
  | { kind: 'list'; items: BencodeValue[] }
  | { kind: 'dict'; dict: BencodeDict; key: string | undefined };

const D = 0x64; // 'd'
const E = 0x65; // 'e'
const I = 0x69; // 'i'
const L = 0x6c; // 'l'
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

function syntax(message: string, offset: number): MetainfoError {
  return new MetainfoError('bencode-syntax', `bencode: ${message} at byte ${offset}`, { offset });
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export interface BdecodeLimits {
  /**
   * The most values (integers, strings, lists, dictionaries; a dictionary key counts as one) the
   * input may hold. Unlimited by default: a .torrent's size is bounded where it is read. A peer's
   * message is decoded with a limit, so that the work per byte a peer sends stays small (the
   * `wire` layer's extension handshake).
   */
  readonly maxTokens?: number;
}

/** Decodes exactly one bencoded value spanning all of `bytes`. Throws only MetainfoError. */
export function bdecode(bytes: Uint8Array, limits: BdecodeLimits = {}): BencodeValue {
  const stack: Frame[] = [];
  const n = bytes.length;
  let pos = 0;
  const maxTokens = limits.maxTokens ?? Number.POSITIVE_INFINITY;
  let tokens = 0;

  const readDigits = (from: number, stopByte: number, maxDigits: number, what: string): number => {
    let p = from;
    while (p < n && bytes[p]! >= ZERO && bytes[p]! <= NINE) {
      if (p - from >= maxDigits) throw syntax(`${what} has too many digits`, from);
      p++;
    }
    if (p === from) throw syntax(`${what} has no digits`, from);
    if (p >= n) throw syntax(`${what} is truncated`, from);
    if (bytes[p] !== stopByte) throw syntax(`unexpected byte 0x${bytes[p]!.toString(16)} in ${what}`, p);
    if (bytes[from] === ZERO && p - from > 1) throw syntax(`${what} has a leading zero`, from);
    return p;
  };

  const readString = (): Uint8Array => {
    const colon = readDigits(pos, COLON, MAX_LENGTH_DIGITS, 'string length');
    const length = Number(latin1(bytes.subarray(pos, colon)));
    const start = colon + 1;
    if (length > n - start)
      throw syntax(`string of ${length} bytes runs past the end (${n - start} left)`, pos);
    pos = start + length;
    return bytes.subarray(start, pos);
  };

  const readInteger = (): bigint => {
    const at = pos;
    let p = pos + 1;
    const negative = bytes[p] === MINUS;
    if (negative) p++;
    const end = readDigits(p, E, MAX_INTEGER_DIGITS, 'integer');
    if (negative && bytes[p] === ZERO) throw syntax('integer -0 is not allowed', at);
    const value = BigInt(latin1(bytes.subarray(pos + 1, end)));
    if (value < INT64_MIN || value > INT64_MAX)
      throw new MetainfoError('bencode-integer-range', `bencode: integer out of int64 range at byte ${at}`, {
        offset: at,
      });
    pos = end + 1;
    return value;
  };

  for (;;) {
    if (pos >= n) throw syntax(n === 0 ? 'empty input' : 'truncated input', pos);
    const top = stack[stack.length - 1];
    const c = bytes[pos]!;
    let value: BencodeValue;
    if (c !== E && ++tokens > maxTokens)
      throw new MetainfoError('bencode-tokens', `bencode: more than ${maxTokens} values at byte ${pos}`, {
        offset: pos,
        limit: maxTokens,
      });

    if (top !== undefined && c === E) {
      if (top.kind === 'dict' && top.key !== undefined)
        throw syntax(`dictionary key "${top.key}" has no value`, pos);
      pos++;
      stack.pop();
      if (top.kind === 'dict') {
        top.dict.end = pos;
        value = top.dict;
      } else value = top.items;
    } else if (top !== undefined && top.kind === 'dict' && top.key === undefined) {
      if (c < ZERO || c > NINE) throw syntax('dictionary key is not a string', pos);
      const keyAt = pos;
      const key = latin1(readString());
      if (top.dict.entries.has(key))
        throw new MetainfoError('bencode-duplicate-key', `bencode: duplicate key "${key}" at byte ${keyAt}`, {
          offset: keyAt,
          field: key,
        });
      top.key = key;
      continue;
    } else if (c === I) {
      value = readInteger();
    } else if (c >= ZERO && c <= NINE) {
      value = readString();
    } else if (c === L || c === D) {
      if (stack.length >= MAX_BENCODE_DEPTH)
        throw new MetainfoError(
          'bencode-depth',
          `bencode: nested deeper than ${MAX_BENCODE_DEPTH} at byte ${pos}`,
          {
            offset: pos,
            limit: MAX_BENCODE_DEPTH,
          },
        );
      stack.push(
        c === L ? { kind: 'list', items: [] } : { kind: 'dict', dict: new BencodeDict(pos), key: undefined },
      );
      pos++;
      continue;
    } else {
      throw syntax(`unexpected byte 0x${c.toString(16)}`, pos);
    }

    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      if (pos !== n)
        throw new MetainfoError(
          'bencode-trailing',
          `bencode: ${n - pos} trailing bytes after the value at byte ${pos}`,
          {
            offset: pos,
            actual: n - pos,
          },
        );
      return value;
    }
    if (parent.kind === 'list') parent.items.push(value);
    else {
      parent.dict.entries.set(parent.key!, value);
      parent.key = undefined;
    }
  }
}
