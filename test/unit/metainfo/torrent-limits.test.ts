/**
 * MAX_TORRENT_TOKENS at its edges: the densest torrents the other limits allow (v1, hybrid and
 * v2-only) still parse, and
 * bencode bombs in a key nobody reads are refused before they are built (the input review's
 * `token_bomb.sh`: 9.9 MB of `de` took 1.3 GB and 10 s before the limit).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_FILES,
  MAX_PATH_DEPTH,
  MAX_TORRENT_FILE_BYTES,
  MAX_TORRENT_TOKENS,
} from '../../../src/metainfo/limits.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';

const b = (s: string) => `${s.length}:${s}`;
/** One-byte path components that stay distinct through UTF-8 decoding and pass the path checks. */
const ALPHABET = [...Array(95).keys()]
  .map((i) => String.fromCharCode(32 + i))
  .filter((c) => !'./\\:'.includes(c));

/** `d4:infod5:filesl<entries>e4:name…e e`, the files made by `entry(i)`, one 1-byte file among them. */
function torrentOf(count: number, entry: (i: number) => string, tail = ''): Buffer {
  const parts: string[] = [`d4:infod5:filesl`];
  for (let i = 0; i < count; i++) parts.push(entry(i));
  parts.push(`e${b('name')}${b('x')}${b('piece length')}i16384e${b('pieces')}${b('H'.repeat(20))}e${tail}e`);
  return Buffer.from(parts.join(''), 'latin1');
}

/** A path of `depth` one-byte components, distinct for each `i` (its last components spell `i`). */
function densePath(i: number, depth: number): string {
  const comps = Array<string>(depth).fill(ALPHABET[0]!);
  for (let k = depth - 1, n = i; k >= 0 && n > 0; k--, n = Math.floor(n / ALPHABET.length))
    comps[k] = ALPHABET[n % ALPHABET.length]!;
  return comps.map(b).join('');
}

test('MAX_TORRENT_TOKENS is derived from the densest file entries and the byte limit', () => {
  const D = MAX_PATH_DEPTH;
  // A v2-only file tree's entries (2D + 4 values in 5D + 15 bytes) are denser than a hybrid's.
  assert.ok((2 * D + 4) / (5 * D + 15) > (5 + D + 2 * D + 4) / (21 + 3 * D + 5 * D + 15));
  assert.equal(MAX_TORRENT_TOKENS, Math.ceil((MAX_TORRENT_FILE_BYTES * (2 * D + 4)) / (5 * D + 15)) + 1024);
});

/** Path component `k` of file `i` in the hybrid below: the first spells `i`, the rest are one byte. */
const topName = (i: number): string => {
  let name = '';
  for (let n = i; ; n = Math.floor(n / ALPHABET.length) - 1) {
    name = ALPHABET[n % ALPHABET.length]! + name;
    if (n < ALPHABET.length) return name;
  }
};

test('the densest hybrid the limits allow parses: MAX_PATH_DEPTH-deep empty files, no folder shared in the v2 tree', () => {
  const D = MAX_PATH_DEPTH;
  const pathOf = (i: number) => [topName(i), ...Array<string>(D - 1).fill(' ')];
  const v1 = (i: number) => `d6:lengthi${i === 0 ? 1 : 0}e4:pathl${pathOf(i).map(b).join('')}ee`;
  const leaf = (i: number) =>
    i === 0 ? `d0:d6:lengthi1e11:pieces root32:${'R'.repeat(32)}ee` : 'd0:d6:lengthi0eee';
  const v2 = (i: number) =>
    pathOf(i)
      .map((c, k) => (k === 0 ? b(c) : `d${b(c)}`))
      .join('') + `${leaf(i)}${'e'.repeat(D - 1)}`;
  const build = (count: number) => {
    const v1s: string[] = [];
    const v2s: string[] = [];
    for (let i = 0; i < count; i++) {
      v1s.push(v1(i));
      v2s.push(v2(i));
    }
    return Buffer.from(
      `d4:infod9:file treed${v2s.join('')}e5:filesl${v1s.join('')}e12:meta versioni2e` +
        `${b('name')}${b('x')}${b('piece length')}i16384e${b('pieces')}${b('H'.repeat(20))}ee`,
      'latin1',
    );
  };
  // As many files as fit.
  let count = 0;
  for (
    let size = build(0).length;
    size + v1(count).length + v2(count).length <= MAX_TORRENT_FILE_BYTES;
    count++
  )
    size += v1(count).length + v2(count).length;
  const bytes = build(count);
  assert.ok(bytes.length <= MAX_TORRENT_FILE_BYTES);
  const values = count * (5 + D + 2 * D + 4) + 20;
  const hybridBound = Math.ceil((MAX_TORRENT_FILE_BYTES * (5 + D + 2 * D + 4)) / (21 + 3 * D + 5 * D + 15));
  assert.ok(
    values > hybridBound - 60_000,
    `${values} values: not near the hybrid layout's bound ${hybridBound}`,
  );
  assert.ok(values > 3_500_000, 'more than the v1-only layout allows');
  const t = parseTorrent(bytes);
  assert.equal(t.files.length, count);
});

test('the densest v2-only torrent the limits allow parses: MAX_PATH_DEPTH-deep empty files, no folder shared', () => {
  const D = MAX_PATH_DEPTH;
  const pathOf = (i: number) => [topName(i), ...Array<string>(D - 1).fill(' ')];
  // The first file has one byte: a payload of nothing but empty files is refused.
  const leaf = (i: number) =>
    i === 0 ? `d0:d6:lengthi1e11:pieces root32:${'R'.repeat(32)}ee` : 'd0:d6:lengthi0eee';
  const entry = (i: number) =>
    pathOf(i)
      .map((c, k) => (k === 0 ? b(c) : `d${b(c)}`))
      .join('') + `${leaf(i)}${'e'.repeat(D - 1)}`;
  const head = `d4:infod9:file treed`;
  const tail = `e12:meta versioni2e${b('name')}${b('x')}${b('piece length')}i16384eee`;
  const entries: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; size + entry(i).length <= MAX_TORRENT_FILE_BYTES; i++) {
    entries.push(entry(i));
    size += entry(i).length;
  }
  const bytes = Buffer.from(head + entries.join('') + tail, 'latin1');
  assert.ok(
    bytes.length <= MAX_TORRENT_FILE_BYTES && bytes.length > MAX_TORRENT_FILE_BYTES - entry(0).length,
  );
  const values = entries.length * (2 * D + 4) + 2 + 9; // + the leaf's pieces root; root, info and its keys
  assert.ok(
    values > MAX_TORRENT_TOKENS - 60_000,
    `${values} values: not near the limit ${MAX_TORRENT_TOKENS}`,
  );
  const t = parseTorrent(bytes);
  assert.equal(t.version, 'v2');
  // Each file, and after the one-byte file its padding to the end of the piece.
  assert.equal(t.files.length, entries.length + 1);
  assert.equal(t.files.at(-1)!.path.length, D);
});

test('the densest torrent the limits allow parses: MAX_TORRENT_FILE_BYTES of MAX_PATH_DEPTH-deep one-byte paths', () => {
  const entryBytes = 21 + 3 * MAX_PATH_DEPTH;
  const overhead = torrentOf(0, () => '').length;
  const count = Math.floor((MAX_TORRENT_FILE_BYTES - overhead) / entryBytes);
  const bytes = torrentOf(
    count,
    (i) => `d6:lengthi${i === 0 ? 1 : 0}e4:pathl${densePath(i, MAX_PATH_DEPTH)}ee`,
  );
  assert.ok(bytes.length <= MAX_TORRENT_FILE_BYTES && bytes.length > MAX_TORRENT_FILE_BYTES - entryBytes);
  const values = count * (5 + MAX_PATH_DEPTH) + 12; // + root, info key and dict, 4 info keys and values, files list
  const v1Bound = Math.ceil((MAX_TORRENT_FILE_BYTES * (5 + MAX_PATH_DEPTH)) / (21 + 3 * MAX_PATH_DEPTH));
  assert.ok(values > v1Bound - 2000, `${values} values: not at the v1-only layout's bound ${v1Bound}`);
  const t = parseTorrent(bytes);
  assert.equal(t.files.length, count);
  assert.equal(t.files[count - 1]!.path.length, MAX_PATH_DEPTH);
});

test('MAX_FILES files parse', () => {
  const bytes = torrentOf(MAX_FILES, (i) => `d6:lengthi${i === 0 ? 1 : 0}e4:pathl${b(i.toString(36))}ee`);
  assert.equal(parseTorrent(bytes).files.length, MAX_FILES);
});

for (const [what, item] of [
  ['empty dictionaries', 'de'],
  ['empty strings', '0:'],
  ['empty lists', 'le'],
] as const) {
  test(`a bomb of ${what} in an unknown key is refused as bencode-tokens before it is built`, () => {
    const bytes = torrentOf(1, () => `d6:lengthi1e4:pathl1:aee`, `1:xl${item.repeat(MAX_TORRENT_TOKENS)}e`);
    assert.ok(bytes.length <= MAX_TORRENT_FILE_BYTES);
    // The values before the bomb's items: d 4:info d 5:files l, the file's d 6:length i1e 4:path l
    // 1:a, 4:name 1:x 12:piece length i16384e 6:pieces 20:H…, then 1:x l. The items (2 bytes each)
    // fill the input up to its last two bytes (the list's e and the root's).
    const before = 19;
    const firstItem = bytes.length - 2 - item.length * MAX_TORRENT_TOKENS;
    const pastLimit = firstItem + item.length * (MAX_TORRENT_TOKENS - before);
    const heapBefore = process.memoryUsage().heapUsed;
    assert.throws(
      () => parseTorrent(bytes),
      (err: unknown) =>
        err instanceof MetainfoError &&
        err.code === 'bencode-tokens' &&
        err.limit === MAX_TORRENT_TOKENS &&
        // Refused at the first value past the limit, not after reading the rest of the bomb.
        err.offset === pastLimit,
    );
    // Counted, not built: no heap to speak of (building the same values took 100-270 bytes each).
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 50e6);
  });
}
