/**
 * A strict bencode decoder (BEP 3) of our own, used instead of the `bencode` package's decoder,
 * which is lenient in ways a hostile input can exploit (see docs/metainfo.md):
 *
 *   i<digits>e       integer: no leading zero, no `-0`, no sign without digits, int64 range → bigint
 *   <len>:<bytes>    byte string: the length has no leading zero and never runs past the input
 *   l<values>e       list
 *   d<key><value>…e  dictionary: keys are byte strings, each at most once (any order: real
 *                    torrents have unsorted keys)
 *
 * The input is checked and indexed first (bencode-index.ts: iterative, so 100,000 nested lists
 * cannot overflow the JS stack; limited in depth and, with `maxTokens`, in values, counted before
 * anything is allocated), then built into a tree: dictionaries are `Map`s (a `__proto__` key is a
 * key like any other) with their byte span; strings are views into the input (no copy), except the
 * empty string and one-byte strings, which are shared constants (a view costs ~100 bytes of heap):
 * decoded strings are read-only. The tree is for small inputs (a tracker's answer, a peer's
 * extension handshake); a .torrent is read through the index itself (parse-torrent.ts).
 */
import { type BdecodeLimits, type BencodeIndex, bdecodeIndex } from './bencode-index.js';

export { type BdecodeLimits, latin1, MAX_BENCODE_DEPTH } from './bencode-index.js';

export type BencodeValue = bigint | Uint8Array | BencodeValue[] | BencodeDict;

/**
 * A decoded dictionary: keys as latin1 strings (one char per byte, lossless), with its byte span.
 * The `Map` is made with the first key (an empty `Map` costs ~190 bytes; `de` costs 2).
 */
export class BencodeDict {
  #entries: Map<string, BencodeValue> | undefined;
  /** Offset of the `d` in the input. */
  readonly start: number;
  /** Offset just past the closing `e`. */
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

/** Decodes exactly one bencoded value spanning all of `bytes`. Throws only MetainfoError. */
export function bdecode(bytes: Uint8Array, limits: BdecodeLimits = {}): BencodeValue {
  return build(bdecodeIndex(bytes, limits), 0);
}

/** Value `v` of the index as a tree (depth ≤ MAX_BENCODE_DEPTH, so recursion is bounded). */
function build(index: BencodeIndex, v: number): BencodeValue {
  switch (index.kind(v)) {
    case 'integer': {
      const value = index.integer(v);
      return value >= 0n && value < 1024n ? SMALL_INTEGERS[Number(value)]! : value;
    }
    case 'string': {
      const s = index.string(v);
      return s.length === 0 ? EMPTY : s.length === 1 ? SINGLE[s[0]!]! : s;
    }
    case 'list': {
      const items: BencodeValue[] = [];
      for (const child of index.children(v)) items.push(build(index, child));
      return items;
    }
    case 'dictionary': {
      const dict = new BencodeDict(index.start(v));
      let last = -1;
      for (const [, value, key] of index.entries(v)) {
        dict.entries.set(key, build(index, value));
        last = value;
      }
      dict.end = last < 0 ? dict.start + 2 : index.end(last) + 1;
      return dict;
    }
  }
}
