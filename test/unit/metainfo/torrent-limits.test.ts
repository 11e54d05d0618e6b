/**
 * MAX_TORRENT_TOKENS at its edges: the densest torrent the other limits allow still parses, and
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
  .filter((c) => !'./\\'.includes(c));

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

test('MAX_TORRENT_TOKENS is derived from the file-entry layout and the byte limit', () => {
  assert.equal(
    MAX_TORRENT_TOKENS,
    Math.ceil((MAX_TORRENT_FILE_BYTES * (5 + MAX_PATH_DEPTH)) / (21 + 3 * MAX_PATH_DEPTH)) + 1024,
  );
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
  assert.ok(values > MAX_TORRENT_TOKENS - 2000, `${values} values: not at the limit`);
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
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    assert.throws(
      () => parseTorrent(bytes),
      (err: unknown) =>
        err instanceof MetainfoError && err.code === 'bencode-tokens' && err.limit === MAX_TORRENT_TOKENS,
    );
    // Counted, not built: no heap to speak of (building the same values took 100-270 bytes each).
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 50e6);
    assert.ok(performance.now() - started < 3000);
  });
}
