import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BencodeDict, type BencodeValue, bdecode, MAX_BENCODE_DEPTH } from '../../../src/metainfo/bdecode.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (v: unknown) => Buffer.from(v as Uint8Array).toString('latin1');

function rejects(input: string | Uint8Array, code: string, offset?: number): void {
  const bytes = typeof input === 'string' ? ascii(input) : input;
  assert.throws(
    () => bdecode(bytes),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError, `not a MetainfoError: ${err}`);
      assert.equal(err.code, code, `${err.message}`);
      assert.equal(err.badInput, true);
      if (offset !== undefined) assert.equal(err.offset, offset, err.message);
      return true;
    },
  );
}

test('integers decode to exact bigints, int64 at both ends', () => {
  assert.equal(bdecode(ascii('i0e')), 0n);
  assert.equal(bdecode(ascii('i-42e')), -42n);
  assert.equal(bdecode(ascii('i9007199254740993e')), 9007199254740993n); // 2^53 + 1, no precision loss
  assert.equal(bdecode(ascii('i9223372036854775807e')), 2n ** 63n - 1n);
  assert.equal(bdecode(ascii('i-9223372036854775808e')), -(2n ** 63n));
});

test('integers the bencode package lets through are rejected', () => {
  rejects('i-0e', 'bencode-syntax', 0);
  rejects('i007e', 'bencode-syntax', 1);
  rejects('i1.5e', 'bencode-syntax', 2);
  rejects('ie', 'bencode-syntax', 1);
  rejects('i-e', 'bencode-syntax', 2);
  rejects('i12', 'bencode-syntax');
  rejects('i9223372036854775808e', 'bencode-integer-range', 0);
  rejects('i12345678901234567890e', 'bencode-syntax'); // 20 digits
});

test('strings are byte views; a length never runs past the input', () => {
  const v = bdecode(ascii('4:ab\x00\xff'));
  assert.deepEqual([...(v as Uint8Array)], [0x61, 0x62, 0x00, 0xff]);
  assert.equal((bdecode(ascii('0:')) as Uint8Array).length, 0);
  rejects('5:abcd', 'bencode-syntax', 0);
  rejects('03:abc', 'bencode-syntax', 0);
  rejects('3abc', 'bencode-syntax', 1);
  rejects('99999999999:a', 'bencode-syntax', 0);
});

test('dictionaries keep unsorted keys in order, with their byte span, and __proto__ as a plain key', () => {
  const input = 'd1:bi1e9:__proto__d1:xi2ee1:ali3eee';
  const v = bdecode(ascii(input));
  assert.ok(v instanceof BencodeDict);
  assert.deepEqual([...v.entries.keys()], ['b', '__proto__', 'a']);
  assert.equal(Object.getPrototypeOf(v), BencodeDict.prototype);
  const inner = v.get('__proto__');
  assert.ok(inner instanceof BencodeDict);
  assert.equal(input.slice(inner.start, inner.end), 'd1:xi2ee');
  assert.equal(v.start, 0);
  assert.equal(v.end, input.length);
  assert.deepEqual(v.get('a'), [3n]);
});

test('duplicate keys, non-string keys, keys without values, trailing bytes and truncation are rejected', () => {
  rejects('d1:ai1e1:ai2ee', 'bencode-duplicate-key', 7);
  rejects('di1ei2ee', 'bencode-syntax', 1);
  rejects('d1:ae', 'bencode-syntax', 4);
  rejects('i1ei2e', 'bencode-trailing', 3);
  rejects('le ', 'bencode-trailing', 2);
  rejects('l', 'bencode-syntax', 1);
  rejects('', 'bencode-syntax', 0);
  rejects('e', 'bencode-syntax', 0);
  rejects('x', 'bencode-syntax', 0);
});

test(`nesting: ${MAX_BENCODE_DEPTH} levels decode, one more is rejected, a 100,000-deep bomb at its ${MAX_BENCODE_DEPTH + 1}st level`, () => {
  const ok = 'l'.repeat(MAX_BENCODE_DEPTH) + 'e'.repeat(MAX_BENCODE_DEPTH);
  assert.ok(Array.isArray(bdecode(ascii(ok))));
  rejects(
    'l'.repeat(MAX_BENCODE_DEPTH + 1) + 'e'.repeat(MAX_BENCODE_DEPTH + 1),
    'bencode-depth',
    MAX_BENCODE_DEPTH,
  );
  // The offset is where the decoder stopped: the 101st opening, however deep the bomb goes on
  // (each 'd1:a' level is 4 bytes), so nothing past it was indexed or built.
  rejects('l'.repeat(100_000) + 'e'.repeat(100_000), 'bencode-depth', MAX_BENCODE_DEPTH);
  rejects('d1:a'.repeat(100_000), 'bencode-depth', 4 * MAX_BENCODE_DEPTH);
});

test('a nesting bomb is not even counted past its depth limit: no work or memory grows with the rest of it', () => {
  // The count that sizes the index stops at the 101st opening, so a value limit just above the
  // depth limit is never reached, however deep the bomb goes on: the depth is what rejects it.
  for (const open of ['l', 'd1:a'])
    assert.throws(
      () => bdecode(ascii(open.repeat(100_000)), { maxTokens: 2 * (MAX_BENCODE_DEPTH + 1) }),
      (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-depth',
    );
});

test('maxTokens counts every value and dictionary key; past it the input is rejected', () => {
  // d, key a, i1e, key b, l, 1:x = 6 values (the closing e's are not values).
  assert.ok(bdecode(ascii('d1:ai1e1:bl1:xee'), { maxTokens: 6 }) instanceof BencodeDict);
  assert.throws(
    () => bdecode(ascii('d1:ai1e1:bl1:xee'), { maxTokens: 5 }),
    (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-tokens' && err.offset === 11,
  );
  assert.deepEqual(bdecode(ascii(`l${'i1e'.repeat(10_000)}e`)), Array(10_000).fill(1n));
});

test('the encoder sorts keys by raw bytes, writes bigints and refuses fractions', () => {
  const out = bencode({ b: 1, a: 'x', é: 2n, Z: [new Uint8Array([0xff])], skip: undefined });
  // 'Z' (0x5a) < 'a' < 'b' < 'é' (0xc3 0xa9)
  assert.equal(text(out), `d1:Zl1:\xffe1:a1:x1:bi1e2:\xc3\xa9i2ee`);
  assert.equal(text(bencode(2n ** 62n)), `i${2n ** 62n}e`);
  assert.throws(() => bencode(1.5), TypeError);
  // What the encoder writes, the decoder reads back.
  const back = bdecode(out);
  assert.ok(back instanceof BencodeDict);
  assert.equal(back.get('b'), 1n);
});

test('a Map is a dictionary with byte or string keys (piece layers, file tree), sorted by bytes; a repeat is a bug', () => {
  const map = new Map<string | Uint8Array, number | Map<string, number>>([
    [Uint8Array.of(0xff, 0x00), 1],
    ['__proto__', new Map([['', 2]])],
    [Uint8Array.of(0x41), 3],
  ]);
  assert.equal(text(bencode(map)), 'd1:Ai3e9:__proto__d0:i2ee2:\xff\x00i1ee');
  assert.throws(
    () =>
      bencode(
        new Map<string | Uint8Array, number>([
          ['A', 1],
          [Uint8Array.of(0x41), 2],
        ]),
      ),
    TypeError,
  );
});

test('maxTokens is counted before anything is built: a later error in the same input is not reached', () => {
  // l, d, key a, i1e, key a (a duplicate, found only while building), i1e: the 6th value is past 5.
  const input = ascii('ld1:ai1e1:ai1eee');
  rejects(input, 'bencode-duplicate-key', 8);
  assert.throws(
    () => bdecode(input, { maxTokens: 5 }),
    (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-tokens' && err.offset === 11,
  );
  // Malformed input under the limit is still reported as what it is.
  assert.throws(
    () => bdecode(ascii('l1:ax'), { maxTokens: 5 }),
    (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-syntax',
  );
});

test('empty and one-byte strings and small integers are shared; an empty dictionary has no Map until read', () => {
  const v = bdecode(ascii('l1:a1:a0:0:i7ei7edee')) as BencodeValue[];
  assert.equal(v[0], v[1]);
  assert.equal(v[2], v[3]);
  assert.deepEqual([...(v[0] as Uint8Array)], [0x61]);
  assert.equal(v[4], 7n);
  const empty = v[6] as BencodeDict;
  assert.equal(empty.size, 0);
  assert.equal(empty.get('x'), undefined);
  assert.equal(empty.has('x'), false);
});

test('allowTrailing ignores bytes after the root value; wideIntegers takes 20 digits outside int64', () => {
  assert.deepEqual(bdecode(ascii('le\n'), { allowTrailing: true }), []);
  assert.deepEqual(bdecode(ascii('li1eeGARBAGE'), { allowTrailing: true }), [1n]);
  rejects('le\n', 'bencode-trailing', 2);
  assert.equal(bdecode(ascii('i9223372036854775808e'), { wideIntegers: true }), 2n ** 63n);
  assert.equal(bdecode(ascii('i-99999999999999999999e'), { wideIntegers: true }), -(10n ** 20n - 1n));
  assert.throws(
    () => bdecode(ascii('i100000000000000000000e'), { wideIntegers: true }), // 21 digits: libtorrent refuses too
    (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-syntax',
  );
  assert.throws(
    () => bdecode(ascii('i-0e'), { wideIntegers: true }),
    (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-syntax',
  );
});
