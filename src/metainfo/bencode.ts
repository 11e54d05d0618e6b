/**
 * A bencode encoder (BEP 3) for what we write ourselves (.torrent files from `createTorrent`).
 * Our own rather than the `bencode` package's: that one silently drops BigInt and null, turns a
 * fractional number into a warning on the console and ships no types. Dictionary keys are sorted
 * by their raw bytes, as BEP 3 requires (a JS string sort would order by UTF-16 code units).
 *
 * A dictionary is a plain object, or a Map when its keys are bytes (BEP 52's `piece layers`, keyed by
 * a file's 32-byte `pieces root`) or come from outside (a `file tree`'s names, where `__proto__` is a
 * file name like any other). A Map's keys must be distinct as bytes: a repeat is a bug (TypeError).
 */

export type BencodeInput =
  | bigint
  | number
  | string
  | Uint8Array
  | readonly BencodeInput[]
  | ReadonlyMap<string | Uint8Array, BencodeInput>
  | { readonly [key: string]: BencodeInput | undefined };

const encoder = new TextEncoder();

/** Encodes `value`; keys whose value is `undefined` are left out. A non-integer number is a bug: TypeError. */
export function bencode(value: BencodeInput): Uint8Array {
  const parts: Uint8Array[] = [];
  write(value, parts, 0);
  return Buffer.concat(parts);
}

function ascii(s: string): Uint8Array {
  return encoder.encode(s);
}

function write(value: BencodeInput, parts: Uint8Array[], depth: number): void {
  if (depth > 100) throw new TypeError('bencode: value nested deeper than 100');
  if (typeof value === 'bigint') {
    parts.push(ascii(`i${value}e`));
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`bencode: ${value} is not a safe integer`);
    parts.push(ascii(`i${value}e`));
  } else if (typeof value === 'string') {
    const bytes = encoder.encode(value);
    parts.push(ascii(`${bytes.length}:`), bytes);
  } else if (value instanceof Uint8Array) {
    parts.push(ascii(`${value.length}:`), value);
  } else if (Array.isArray(value)) {
    parts.push(ascii('l'));
    for (const item of value as readonly BencodeInput[]) write(item, parts, depth + 1);
    parts.push(ascii('e'));
  } else {
    const entries = (
      value instanceof Map
        ? [...(value as ReadonlyMap<string | Uint8Array, BencodeInput>)].map(
            ([k, v]) => [typeof k === 'string' ? encoder.encode(k) : k, v] as const,
          )
        : Object.entries(value as { [key: string]: BencodeInput | undefined })
            .filter((e): e is [string, BencodeInput] => e[1] !== undefined)
            .map(([k, v]) => [encoder.encode(k), v] as const)
    ).sort((a, b) => Buffer.compare(a[0], b[0]));
    parts.push(ascii('d'));
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      if (i > 0 && Buffer.compare(entries[i - 1]![0], k) === 0)
        throw new TypeError(`bencode: the key ${Buffer.from(k).toString('hex')} repeats`);
      parts.push(ascii(`${k.length}:`), k);
      write(v, parts, depth + 1);
    }
    parts.push(ascii('e'));
  }
}
