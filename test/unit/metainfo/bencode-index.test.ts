/**
 * The flat index read directly (bencode-index.ts): what parse-torrent.ts and bdecode() read through
 * it - kinds, spans (`end`), strings, integers of any width, children, and duplicate keys refused
 * where a dictionary is read (`get` for its key, `entries` for every key).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bdecodeIndex } from '../../../src/metainfo/bencode-index.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';

const index = (s: string, wideIntegers = false) => bdecodeIndex(Buffer.from(s, 'latin1'), { wideIntegers });
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function duplicate(fn: () => unknown, key: string, offset: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MetainfoError, String(err));
    assert.equal(err.code, 'bencode-duplicate-key');
    assert.equal(err.message, `bencode: duplicate key "${key}" at byte ${offset}`);
    assert.equal(err.offset, offset);
    assert.equal(err.field, key);
    return true;
  });
}

test('kinds, starts and ends of every value, nested and empty', () => {
  const s = 'd1:ai-12e1:bl0:3:xyzde1:cleee';
  const ix = index(s);
  const spans: [string, string][] = [];
  for (let v = 0; v < 9; v++) spans.push([ix.kind(v), s.slice(ix.start(v), ix.end(v))]);
  assert.deepEqual(spans, [
    ['dictionary', s],
    ['string', '1:a'],
    ['integer', 'i-12e'],
    ['string', '1:b'],
    ['list', 'l0:3:xyzde1:clee'],
    ['string', '0:'],
    ['string', '3:xyz'],
    ['dictionary', 'de'],
    ['string', '1:c'],
  ]);
  assert.equal(ix.end(9), s.length - 2); // the empty list `le`, before the outer list's and root's `e`
  assert.equal(ix.end(0), s.length);
});

test('strings are views of the input; lengths and equals read the length digits', () => {
  const ix = index('l10:0123456789e');
  assert.equal(text(ix.string(1)), '0123456789');
  assert.equal(ix.stringLength(1), 10);
  assert.ok(ix.equals(1, '0123456789'));
  assert.ok(!ix.equals(1, '012345678'));
  assert.ok(!ix.equals(1, '012345678x'));
});

test('integers: exact to 15 digits by arithmetic, past it from the text, int64 ends and 20 wide digits', () => {
  const values = [
    '0',
    '-1',
    '999999999999999', // 15 digits
    '1000000000000000', // 16
    '-9007199254740993', // past 2^53: a JS number would round it
    '9223372036854775807',
    '-9223372036854775808',
  ];
  const ix = index(`l${values.map((v) => `i${v}e`).join('')}e`);
  assert.deepEqual(
    [...ix.children(0)].map((v) => ix.integer(v)),
    values.map((v) => BigInt(v)),
  );
  const wide = index('i18446744073709551615e', true);
  assert.equal(wide.integer(0), 18446744073709551615n);
  assert.throws(() => index('i9223372036854775808e'), { code: 'bencode-integer-range' });
  assert.throws(() => index('i18446744073709551615e'), { code: 'bencode-syntax' }); // 20 digits
  assert.throws(() => index('i184467440737095516150e', true), { code: 'bencode-syntax' }); // 21
});

test('children, size and entries in input order; get finds a key or nothing', () => {
  const ix = index('d1:bi2e1:ai1e1:cl1:x1:yee');
  assert.equal(ix.size(0), 6);
  assert.deepEqual(
    [...ix.entries(0)].map(([k, v, name]) => [text(ix.string(k)), ix.kind(v), name]),
    [
      ['b', 'integer', 'b'],
      ['a', 'integer', 'a'],
      ['c', 'list', 'c'],
    ],
  );
  const c = ix.get(0, 'c')!;
  assert.deepEqual(
    [...ix.children(c)].map((v) => text(ix.string(v))),
    ['x', 'y'],
  );
  assert.equal(ix.size(c), 2);
  assert.equal(ix.integer(ix.get(0, 'a')!), 1n);
  assert.equal(ix.get(0, 'z'), undefined);
});

test('a key twice: refused by get for that key and by entries at the repeat, harmless otherwise', () => {
  const s = 'd1:ai1e1:bi2e1:ai3ee';
  const ix = index(s); // indexing does not look at keys
  duplicate(() => ix.get(0, 'a'), 'a', s.lastIndexOf('1:a'));
  assert.equal(ix.integer(ix.get(0, 'b')!), 2n); // another key's lookup does not care
  const seen: string[] = [];
  duplicate(
    () => {
      for (const [, , name] of ix.entries(0)) seen.push(name);
    },
    'a',
    s.lastIndexOf('1:a'),
  );
  assert.deepEqual(seen, ['a', 'b']); // refused where it is reached
  // Keys are compared as bytes: "\xe9" and "é" in UTF-8 are different keys.
  assert.equal([...index('d1:\xe9i1e2:\xc3\xa9i2ee').entries(0)].length, 2);
  duplicate(() => [...index('d2:\xc3\xa9i1e2:\xc3\xa9i2ee').entries(0)], '\xc3\xa9', 8);
});
