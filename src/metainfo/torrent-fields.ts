/**
 * Reading one field of a .torrent through its index (bencode-index.ts): each reader returns the
 * value when it is of the kind the field takes, and throws a MetainfoError naming the field when it
 * is not (`missing-field`, `wrong-type`, `invalid-value`). Shared by the v1 and v2 parts of
 * parse-torrent.ts.
 */
import type { BencodeIndex } from './bencode-index.js';
import { MetainfoError } from './metainfo-error.js';

/** A value of the .torrent's index (bencode-index.ts); undefined for a key that is not there. */
export type Value = number | undefined;

function typeName(ix: BencodeIndex, v: Value): string {
  if (v === undefined) return 'nothing';
  const kind = ix.kind(v);
  return kind === 'integer' ? 'an integer' : `a ${kind}`;
}

export function wrongType(ix: BencodeIndex, field: string, expected: string, v: Value): MetainfoError {
  return new MetainfoError('wrong-type', `${field}: expected ${expected}, found ${typeName(ix, v)}`, {
    field,
  });
}

export function required(ix: BencodeIndex, d: number, key: string, field: string): number {
  const v = ix.get(d, key);
  if (v === undefined) throw new MetainfoError('missing-field', `${field}: missing`, { field });
  return v;
}

export function asDict(ix: BencodeIndex, v: Value, field: string): number {
  if (v === undefined || ix.kind(v) !== 'dictionary') throw wrongType(ix, field, 'a dictionary', v);
  return v;
}

export function asBytes(ix: BencodeIndex, v: Value, field: string): Uint8Array {
  if (v === undefined || ix.kind(v) !== 'string') throw wrongType(ix, field, 'a string', v);
  return ix.string(v);
}

export function isString(ix: BencodeIndex, v: Value): v is number {
  return v !== undefined && ix.kind(v) === 'string';
}

/** A non-negative integer that a JS number holds exactly. */
export function asLength(ix: BencodeIndex, v: Value, field: string): number {
  if (v === undefined || ix.kind(v) !== 'integer') throw wrongType(ix, field, 'an integer', v);
  const n = ix.integer(v);
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new MetainfoError('invalid-value', `${field}: ${n} is not a length between 0 and 2^53-1`, {
      field,
    });
  return Number(n);
}
