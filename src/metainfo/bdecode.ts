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
 * limited in depth, rejects trailing bytes unless told otherwise, keeps dictionaries in `Map`s (a
 * `__proto__` key is a key like any other) and records each dictionary's byte span, so the
 * info-hash is the SHA-1 of the info dictionary's raw bytes. Strings are views into the input (no
 * copy), except the empty string and one-byte strings, which are shared constants (a view costs
 * ~100 bytes of heap, and a .torrent of deep paths is millions of one-byte components): decoded
 * strings are read-only.
 *
 * With `maxTokens`, a first pass counts the values without allocating anything, so input over
 * the limit is rejected before any of it is built (a 10 MB file of `de` would otherwise build
 * millions of dictionaries first).
 */
import { MetainfoError } from './metainfo-error.js';

/** libtorrent's default bdecode depth limit; a .torrent needs about 6. */
export const MAX_BENCODE_DEPTH = 100;
/** Digits of an integer: 19 covers the int64 range (libtorrent's `boost::int64_t`). */
const MAX_INTEGER_DIGITS = 19;
/** Digits of an integer with `wideIntegers`: libtorrent's bdecode takes 20 and refuses 21. */
const MAX_WIDE_INTEGER_DIGITS = 20;
/** Digits of a string length: anything longer runs past any input we accept. */
const MAX_LENGTH_DIGITS = 10;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export type BencodeValue = bigint | Uint8Array | BencodeValue[] | BencodeDict;

/**
 * A decoded dictionary: keys as latin1 strings (one char per byte, lossless), with its byte span.
 * The `Map` is made with the first key (an empty `Map` costs ~190 bytes; `de` costs 2).
 */
export class BencodeDict {
  #entries: Map<string, BencodeValue> | undefined;
  /** Offset of the `d` in the input. */
  readonly start: number;
  /** Offset just past the closing `e` (set when the dictionary closes). */
  end = -1;
  constructor(start: number) {
    this.start = start;
  }
  get entries(): Map<string, BencodeValue> {
    this.#entries ??= new Map();
    return this.#entries;
  }
  get size(): number {
    return this.#entries?.size ?? 0;
  }
  get(key: string): BencodeValue | undefined {
    return this.#entries?.get(key);
  }
  has(key: string): boolean {
    return this.#entries?.has(key) ?? false;
  }
}

/** Shared decoded strings of 0 and 1 bytes (see the file comment). */
const EMPTY = new Uint8Array(0);
const SINGLE = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
/** Shared bigints 0..1023 (immutable, so sharing is safe): a decoded bigint costs ~30 bytes. */
const SMALL_INTEGERS = Array.from({ length: 1024 }, (_, i) => BigInt(i));

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
   * input may hold; counted before anything is built. Unlimited by default. A .torrent is decoded
   * with `MAX_TORRENT_TOKENS` (src/metainfo/limits.ts), a peer's extension handshake with a small
   * limit of the `wire` layer's, so that the work and memory per input byte stay small.
   */
  readonly maxTokens?: number;
  /**
   * Bytes after the root value are ignored instead of rejected (`bencode-trailing`). A .torrent
   * ending in a newline or NUL padding loads in libtorrent, Transmission and aria2; its identity
   * (the info-hash) covers only the info dictionary's bytes.
   */
  readonly allowTrailing?: boolean;
  /**
   * Integers of up to 20 digits outside the int64 range decode (as exact bigints) instead of being
   * rejected (`bencode-integer-range`), as libtorrent's bdecode takes them: whoever reads a value
   * checks it against its own range, and a key nobody reads cannot spoil the file.
   */
  readonly wideIntegers?: boolean;
}

function tooManyTokens(maxTokens: number, offset: number): MetainfoError {
  return new MetainfoError('bencode-tokens', `bencode: more than ${maxTokens} values at byte ${offset}`, {
    offset,
    limit: maxTokens,
  });
}

/**
 * Counts the values of the root value without building any, and throws `bencode-tokens` at the
 * first one past `maxTokens` (the same offset as the decoder would). Malformed input just ends the
 * count: the decoder reports it.
 */
function countTokens(bytes: Uint8Array, maxTokens: number): void {
  const n = bytes.length;
  let pos = 0;
  let depth = 0;
  let tokens = 0;
  while (pos < n) {
    const c = bytes[pos]!;
    if (c === E) {
      if (--depth <= 0) return;
      pos++;
      continue;
    }
    if (++tokens > maxTokens) throw tooManyTokens(maxTokens, pos);
    if (c === L || c === D) {
      depth++;
      pos++;
    } else if (c === I) {
      const end = bytes.indexOf(E, pos + 1);
      if (end < 0) return;
      pos = end + 1;
    } else if (c >= ZERO && c <= NINE) {
      let length = 0;
      let p = pos;
      while (p < n && p - pos <= MAX_LENGTH_DIGITS && bytes[p]! >= ZERO && bytes[p]! <= NINE)
        length = length * 10 + bytes[p++]! - ZERO;
      if (bytes[p] !== COLON) return;
      pos = p + 1 + length;
    } else return;
    if (depth === 0) return;
  }
}

/** Decodes exactly one bencoded value spanning all of `bytes`. Throws only MetainfoError. */
export function bdecode(bytes: Uint8Array, limits: BdecodeLimits = {}): BencodeValue {
  const stack: Frame[] = [];
  const n = bytes.length;
  let pos = 0;
  const maxTokens = limits.maxTokens ?? Number.POSITIVE_INFINITY;
  const maxIntegerDigits = limits.wideIntegers === true ? MAX_WIDE_INTEGER_DIGITS : MAX_INTEGER_DIGITS;
  let tokens = 0;
  if (maxTokens !== Number.POSITIVE_INFINITY) countTokens(bytes, maxTokens);

  /** Returns the offset of `stopByte` after the digits at `from`; `digitValue` is their value. */
  let digitValue = 0;
  const readDigits = (from: number, stopByte: number, maxDigits: number, what: string): number => {
    let p = from;
    let value = 0;
    while (p < n && bytes[p]! >= ZERO && bytes[p]! <= NINE) {
      if (p - from >= maxDigits) throw syntax(`${what} has too many digits`, from);
      value = value * 10 + bytes[p]! - ZERO;
      p++;
    }
    if (p === from) throw syntax(`${what} has no digits`, from);
    if (p >= n) throw syntax(`${what} is truncated`, from);
    if (bytes[p] !== stopByte) throw syntax(`unexpected byte 0x${bytes[p]!.toString(16)} in ${what}`, p);
    if (bytes[from] === ZERO && p - from > 1) throw syntax(`${what} has a leading zero`, from);
    digitValue = value;
    return p;
  };

  const readString = (): Uint8Array => {
    const colon = readDigits(pos, COLON, MAX_LENGTH_DIGITS, 'string length');
    const length = digitValue;
    const start = colon + 1;
    if (length > n - start)
      throw syntax(`string of ${length} bytes runs past the end (${n - start} left)`, pos);
    pos = start + length;
    if (length === 0) return EMPTY;
    if (length === 1) return SINGLE[bytes[start]!]!;
    return bytes.subarray(start, pos);
  };

  const readInteger = (): bigint => {
    const at = pos;
    let p = pos + 1;
    const negative = bytes[p] === MINUS;
    if (negative) p++;
    const end = readDigits(p, E, maxIntegerDigits, 'integer');
    if (negative && bytes[p] === ZERO) throw syntax('integer -0 is not allowed', at);
    pos = end + 1;
    // Up to 15 digits the sum in readDigits is exact; longer ones are read from the text.
    if (end - p <= 15) {
      if (!negative && digitValue < SMALL_INTEGERS.length) return SMALL_INTEGERS[digitValue]!;
      return BigInt(negative ? -digitValue : digitValue);
    }
    const value = BigInt(latin1(bytes.subarray(at + 1, end)));
    if (maxIntegerDigits === MAX_INTEGER_DIGITS && (value < INT64_MIN || value > INT64_MAX))
      throw new MetainfoError('bencode-integer-range', `bencode: integer out of int64 range at byte ${at}`, {
        offset: at,
      });
    return value;
  };

  for (;;) {
    if (pos >= n) throw syntax(n === 0 ? 'empty input' : 'truncated input', pos);
    const top = stack[stack.length - 1];
    const c = bytes[pos]!;
    let value: BencodeValue;
    if (c !== E && ++tokens > maxTokens) throw tooManyTokens(maxTokens, pos);

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
      if (top.dict.has(key))
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
      if (pos !== n && limits.allowTrailing !== true)
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
