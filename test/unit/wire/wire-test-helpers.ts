/** Helpers shared by the wire codec's tests: hex literals and decoding a stream in given chunks. */
import type { WireItem } from '../../../src/wire/messages.js';
import {
  WireDecoder,
  type WireDecoderOptions,
  type WireDecoderStats,
} from '../../../src/wire/wire-decoder.js';
import type { WireError } from '../../../src/wire/wire-error.js';

/** Bytes from hex written for people: spaces, newlines and `#` comments are ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not hex: ${digits.slice(0, 40)}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `bytes` cut at the given offsets (sorted, deduplicated, clamped), as fresh chunks. */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

export interface Decoded {
  readonly items: WireItem[];
  readonly error: WireError | undefined;
  readonly stats: WireDecoderStats;
}

/** Feeds `chunks` to a fresh decoder, then ends it. */
export function decodeChunks(chunks: readonly Uint8Array[], opts?: WireDecoderOptions): Decoded {
  const decoder = new WireDecoder(opts);
  const items: WireItem[] = [];
  const emit = (item: WireItem): void => {
    items.push(item);
  };
  let error: WireError | undefined;
  for (const chunk of chunks) {
    error = decoder.push(chunk, emit);
    if (error) break;
  }
  const stats = decoder.stats();
  error ??= decoder.end();
  return { items, error, stats };
}

export function decodeBytes(
  bytes: Uint8Array,
  chunkSize = bytes.length || 1,
  opts?: WireDecoderOptions,
): Decoded {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.slice(at, at + chunkSize));
  return decodeChunks(chunks, opts);
}

/** Items with their byte arrays as hex, for readable deep comparisons and counterexamples. */
export function readable(items: readonly WireItem[]): unknown[] {
  return items.map((item) =>
    Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v])),
  );
}
