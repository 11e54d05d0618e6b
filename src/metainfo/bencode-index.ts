/**
 * A bencoded input checked whole (BEP 3, strictly) and indexed as one flat table of its values, as
 * libtorrent's bdecode does, instead of a tree of objects: a value is a number, its place in the
 * table, and costs 8 bytes whatever it is.
 *
 *   start[k]   offset of value k's first byte: its `i`, `l`, `d` or first length digit
 *   next[k]    the value after value k and everything it holds (k + 1 for a string or integer)
 *
 * Values are numbered in the order they start; a dictionary's key is a value (a string) followed by
 * its value, so the children of a list or dictionary k are k + 1, next[k + 1], … up to next[k].
 *
 * Why: a hostile .torrent is nothing but values, and a tree spends ~100 bytes on each string view,
 * ~190 on each dictionary's Map: 10 MiB of two-byte strings (2.6 M, under MAX_TORRENT_TOKENS) built
 * 536 MB. parse-torrent.ts reads a .torrent through the index and builds only what it keeps;
 * `bdecode()` (bdecode.ts) builds the whole tree from it for the small inputs of trackers and peers.
 *
 * The rules, all checked here while indexing (bdecode.ts and parse-torrent.ts only read the index):
 * integers without leading zeros,
 * `-0` or more digits than int64 takes (or 20 with `wideIntegers`), string lengths that stay in the
 * input, keys that are strings with a value each, at most MAX_BENCODE_DEPTH levels, no trailing
 * bytes unless allowed. The same key twice in a dictionary is refused where the dictionary is read:
 * by `get` for the key it looks up, by `entries` for every key (a walk reads them all). A duplicate
 * in a dictionary nobody reads is harmless, as libtorrent takes it in a v1 torrent.
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

const D = 0x64; // 'd'
const E = 0x65; // 'e'
const I = 0x69; // 'i'
const L = 0x6c; // 'l'
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

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

export type BencodeKind = 'integer' | 'string' | 'list' | 'dictionary';

function syntax(message: string, offset: number): MetainfoError {
  return new MetainfoError('bencode-syntax', `bencode: ${message} at byte ${offset}`, { offset });
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function tooManyTokens(maxTokens: number, offset: number): MetainfoError {
  return new MetainfoError('bencode-tokens', `bencode: more than ${maxTokens} values at byte ${offset}`, {
    offset,
    limit: maxTokens,
  });
}

/**
 * Counts the values of the root value without building anything, and throws `bencode-tokens` at
 * the first one past `maxTokens`. Malformed input, or nesting past MAX_BENCODE_DEPTH, just ends the
 * count (the indexer reports it, and never gets past the count: it stops at the same place or before).
 */
function countTokens(bytes: Uint8Array, maxTokens: number): number {
  const n = bytes.length;
  let pos = 0;
  let depth = 0;
  let tokens = 0;
  while (pos < n) {
    const c = bytes[pos]!;
    if (c === E) {
      if (--depth <= 0) return tokens;
      pos++;
      continue;
    }
    if (++tokens > maxTokens) throw tooManyTokens(maxTokens, pos);
    if (c === L || c === D) {
      // Past the depth limit the indexer rejects the input at this very value: a nesting bomb is
      // counted (and its index sized) to its 101st level, not to its end.
      if (++depth > MAX_BENCODE_DEPTH) return tokens;
      pos++;
    } else if (c === I) {
      const end = bytes.indexOf(E, pos + 1);
      if (end < 0) return tokens;
      pos = end + 1;
    } else if (c >= ZERO && c <= NINE) {
      let length = 0;
      let p = pos;
      while (p < n && p - pos <= MAX_LENGTH_DIGITS && bytes[p]! >= ZERO && bytes[p]! <= NINE)
        length = length * 10 + bytes[p++]! - ZERO;
      if (bytes[p] !== COLON) return tokens;
      pos = p + 1 + length;
    } else return tokens;
    if (depth === 0) return tokens;
  }
  return tokens;
}

/** The digits at `from` up to `stopByte`: their value (exact up to 15 digits) and where they end. */
function readDigits(
  bytes: Uint8Array,
  from: number,
  stopByte: number,
  maxDigits: number,
  what: string,
): [value: number, stop: number] {
  const n = bytes.length;
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
  return [value, p];
}

/** A string's length and the offset of its colon, for the string whose first digit is at `start`. */
function stringHead(bytes: Uint8Array, start: number): [length: number, colon: number] {
  return readDigits(bytes, start, COLON, MAX_LENGTH_DIGITS, 'string length');
}

/**
 * Indexes `bytes`, which must hold exactly one bencoded value (see BdecodeLimits). Throws only
 * MetainfoError (and a plain Error for a bug of ours).
 */
export function bdecodeIndex(bytes: Uint8Array, limits: BdecodeLimits = {}): BencodeIndex {
  const capacity = countTokens(bytes, limits.maxTokens ?? Number.POSITIVE_INFINITY);
  const start = new Uint32Array(capacity);
  const next = new Uint32Array(capacity);
  const maxIntegerDigits = limits.wideIntegers === true ? MAX_WIDE_INTEGER_DIGITS : MAX_INTEGER_DIGITS;
  const n = bytes.length;
  // The open lists and dictionaries: their values, and for a dictionary whether a key comes next.
  const open = new Uint32Array(MAX_BENCODE_DEPTH);
  const wantsKey = new Uint8Array(MAX_BENCODE_DEPTH);
  const isDict = new Uint8Array(MAX_BENCODE_DEPTH);
  let depth = 0;
  let pos = 0;
  let k = 0;
  for (;;) {
    if (pos >= n) throw syntax(n === 0 ? 'empty input' : 'truncated input', pos);
    const c = bytes[pos]!;
    const top = depth - 1;
    if (c === E && depth > 0) {
      if (isDict[top] === 1 && wantsKey[top] === 0) {
        const key = k - 1; // the key just read: a string, the last value indexed
        const [length, colon] = stringHead(bytes, start[key]!);
        const text = latin1(bytes.subarray(colon + 1, colon + 1 + length));
        throw syntax(`dictionary key "${text}" has no value`, pos);
      }
      next[open[top]!] = k;
      depth--;
      pos++;
    } else {
      const inDict = depth > 0 && isDict[top] === 1;
      const digit = c >= ZERO && c <= NINE;
      if (inDict && wantsKey[top] === 1 && !digit) throw syntax('dictionary key is not a string', pos);
      if (!digit && c !== I && c !== L && c !== D) throw syntax(`unexpected byte 0x${c.toString(16)}`, pos);
      // The count saw every value the indexer sees: one more is our bug, not the input's.
      if (k >= capacity) throw new Error(`bug: bencode value ${k + 1} at byte ${pos}, ${capacity} counted`);
      start[k] = pos;
      if (c === L || c === D) {
        if (depth >= MAX_BENCODE_DEPTH)
          throw new MetainfoError(
            'bencode-depth',
            `bencode: nested deeper than ${MAX_BENCODE_DEPTH} at byte ${pos}`,
            {
              offset: pos,
              limit: MAX_BENCODE_DEPTH,
            },
          );
        if (inDict) wantsKey[top] = 1;
        open[depth] = k;
        isDict[depth] = c === D ? 1 : 0;
        wantsKey[depth] = 1;
        depth++;
        k++;
        pos++;
        continue;
      }
      if (c === I) {
        const at = pos;
        let p = pos + 1;
        const negative = bytes[p] === MINUS;
        if (negative) p++;
        const end = readDigits(bytes, p, E, maxIntegerDigits, 'integer')[1];
        if (negative && bytes[p] === ZERO) throw syntax('integer -0 is not allowed', at);
        if (maxIntegerDigits === MAX_INTEGER_DIGITS && end - p > 15) {
          const value = BigInt(latin1(bytes.subarray(at + 1, end)));
          if (value < INT64_MIN || value > INT64_MAX)
            throw new MetainfoError(
              'bencode-integer-range',
              `bencode: integer out of int64 range at byte ${at}`,
              {
                offset: at,
              },
            );
        }
        pos = end + 1;
      } else {
        const [length, colon] = stringHead(bytes, pos);
        if (length > n - colon - 1)
          throw syntax(`string of ${length} bytes runs past the end (${n - colon - 1} left)`, pos);
        pos = colon + 1 + length;
      }
      next[k] = k + 1;
      k++;
      if (inDict) wantsKey[top] = wantsKey[top] === 1 ? 0 : 1;
    }
    if (depth === 0) {
      if (pos !== n && limits.allowTrailing !== true)
        throw new MetainfoError(
          'bencode-trailing',
          `bencode: ${n - pos} trailing bytes after the value at byte ${pos}`,
          {
            offset: pos,
            actual: n - pos,
          },
        );
      return new BencodeIndex(bytes, start, next);
    }
  }
}

/** The index of one input (see the top of this file). The root value is 0. */
export class BencodeIndex {
  readonly bytes: Uint8Array;
  readonly #start: Uint32Array;
  readonly #next: Uint32Array;

  constructor(bytes: Uint8Array, start: Uint32Array, next: Uint32Array) {
    this.bytes = bytes;
    this.#start = start;
    this.#next = next;
  }

  /** Offset of value `v`'s first byte. */
  start(v: number): number {
    return this.#start[v]!;
  }

  kind(v: number): BencodeKind {
    const c = this.bytes[this.#start[v]!]!;
    return c === I ? 'integer' : c === L ? 'list' : c === D ? 'dictionary' : 'string';
  }

  /** Offset just past value `v`: for a list or dictionary, past its closing `e`. */
  end(v: number): number {
    const s = this.#start[v]!;
    const c = this.bytes[s]!;
    if (c === I) return this.bytes.indexOf(E, s) + 1;
    if (c !== L && c !== D) {
      const [length, colon] = stringHead(this.bytes, s);
      return colon + 1 + length;
    }
    let last = -1;
    for (let child = v + 1; child < this.#next[v]!; child = this.#next[child]!) last = child;
    return last < 0 ? s + 2 : this.end(last) + 1;
  }

  /** A string's bytes: a view into the input (read-only). */
  string(v: number): Uint8Array {
    const [length, colon] = stringHead(this.bytes, this.#start[v]!);
    return this.bytes.subarray(colon + 1, colon + 1 + length);
  }

  /** A string's length in bytes, without a view. */
  stringLength(v: number): number {
    return stringHead(this.bytes, this.#start[v]!)[0];
  }

  /** An integer's value (checked while indexing). */
  integer(v: number): bigint {
    const s = this.#start[v]!;
    const end = this.bytes.indexOf(E, s);
    // Up to 15 digits a JS number is exact; longer ones are read from the text.
    if (end - s - 1 <= 15) {
      const negative = this.bytes[s + 1] === MINUS;
      let value = 0;
      for (let p = negative ? s + 2 : s + 1; p < end; p++) value = value * 10 + this.bytes[p]! - ZERO;
      return BigInt(negative ? -value : value);
    }
    return BigInt(latin1(this.bytes.subarray(s + 1, end)));
  }

  /** The values a list holds, or a dictionary's keys and values in turn, in input order. */
  *children(v: number): Generator<number> {
    const end = this.#next[v]!;
    for (let child = v + 1; child < end; child = this.#next[child]!) yield child;
  }

  /** How many values a list holds (for a dictionary: keys and values). */
  size(v: number): number {
    let count = 0;
    const end = this.#next[v]!;
    for (let child = v + 1; child < end; child = this.#next[child]!) count++;
    return count;
  }

  /**
   * A dictionary's [key, value, key as latin1] in input order. Whoever walks a dictionary reads
   * every key, so a key that repeats is `bencode-duplicate-key`, at the repeat.
   */
  *entries(dict: number): Generator<[key: number, value: number, name: string]> {
    const seen = new Set<string>();
    const end = this.#next[dict]!;
    for (let key = dict + 1; key < end; key = this.#next[this.#next[key]!]!) {
      const name = latin1(this.string(key));
      if (seen.has(name)) throw duplicateKey(name, this.#start[key]!);
      seen.add(name);
      yield [key, this.#next[key]!, name];
    }
  }

  /** True when string `v`'s bytes are `text`'s characters (each one byte: latin1). */
  equals(v: number, text: string): boolean {
    const [length, colon] = stringHead(this.bytes, this.#start[v]!);
    if (length !== text.length) return false;
    for (let i = 0; i < length; i++) if (this.bytes[colon + 1 + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  /**
   * The value of `key` (latin1: one char per byte) in a dictionary, or undefined. Every key is
   * looked at: one that is there twice is `bencode-duplicate-key`, at the second.
   */
  get(dict: number, key: string): number | undefined {
    let found: number | undefined;
    const end = this.#next[dict]!;
    for (let k = dict + 1; k < end; k = this.#next[this.#next[k]!]!) {
      if (!this.equals(k, key)) continue;
      if (found !== undefined) throw duplicateKey(key, this.#start[k]!);
      found = this.#next[k]!;
    }
    return found;
  }
}

/** The same key twice in one dictionary (which one would count?), at the second. */
function duplicateKey(key: string, offset: number): MetainfoError {
  return new MetainfoError('bencode-duplicate-key', `bencode: duplicate key "${key}" at byte ${offset}`, {
    offset,
    field: key,
  });
}
