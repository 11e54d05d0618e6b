/**
 * `bitstate info`'s text (describeTorrent) for the largest torrent parseTorrent accepts: MAX_FILES
 * files. Spreading one argument per file into Math.max overflowed the stack from ~125,000 files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeTorrent } from '../../../src/cli/commands/info.js';
import { MAX_FILES, MAX_TRACKERS, MAX_WEB_SEEDS } from '../../../src/metainfo/limits.js';
import { type FileSpec, makeTorrent } from '../storage/make-torrent.js';

test(`describeTorrent lists ${MAX_FILES} files (the MAX_FILES limit)`, () => {
  const files: FileSpec[] = [];
  for (let i = 0; i < MAX_FILES; i++) files.push({ path: [i.toString(16)], length: i === 7 ? 123_456 : 1 });
  const total = files.reduce((sum, f) => sum + f.length, 0);
  const text = describeTorrent(makeTorrent('many', files, 1 << 20, new Uint8Array(total)));
  const lines = text.split('\n');
  assert.ok(lines.includes(`files (${MAX_FILES}):  index  size  path`));
  // Sizes right-aligned to the widest (123456: 6 digits), indexes to the last (262143: 6 digits).
  assert.ok(lines.includes('       0       1  0'), 'first file');
  assert.ok(lines.includes('       7  123456  7'), 'the widest size');
  assert.ok(lines.includes(`  ${MAX_FILES - 1}       1  ${(MAX_FILES - 1).toString(16)}`), 'last file');
});

test('describeTorrent prints file names and the torrent name printable', () => {
  const text = describeTorrent(
    makeTorrent('n\x07', [{ path: ['a\x1b[2J', 'b\nFAKE'], length: 5 }], 1 << 20, new Uint8Array(5)),
  );
  assert.match(text, /^name: {10}n\?$/m);
  assert.match(text, /^ {2}0 {2}5 {2}a\?\[2J\/b\?FAKE$/m);
});

test('describeTorrent says how many trackers and web seeds were left out past their limits', () => {
  const t = {
    ...makeTorrent('x', [{ path: ['a'], length: 1 }], 1 << 20, new Uint8Array(1)),
    announceList: [['http://t0.example/a']],
    ignoredTrackers: 12,
    urlList: ['http://s/'],
    ignoredWebSeeds: 1,
  };
  const lines = describeTorrent(t).split('\n');
  assert.ok(
    lines.includes(`  (12 more tracker URLs past the first ${MAX_TRACKERS} left out)`),
    lines.join('\n'),
  );
  assert.ok(lines.includes(`  (1 more web seed past the first ${MAX_WEB_SEEDS} left out)`), lines.join('\n'));
});
