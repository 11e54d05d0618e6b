/**
 * `bitstate info`'s text (describeTorrent) for the largest torrent parseTorrent accepts: MAX_FILES
 * files. Spreading one argument per file into Math.max overflowed the stack from ~125,000 files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeTorrent } from '../../../src/cli/commands/info.js';
import { MAX_FILES } from '../../../src/metainfo/limits.js';
import type { Torrent, TorrentFile } from '../../../src/metainfo/torrent.js';

function torrentWithFiles(files: TorrentFile[], name = 'many'): Torrent {
  const totalLength = files.reduce((sum, f) => sum + f.length, 0);
  return {
    infoHash: new Uint8Array(20),
    infoHashHex: '00'.repeat(20),
    name,
    pieceLength: 1 << 20,
    pieceCount: Math.max(1, Math.ceil(totalLength / (1 << 20))),
    pieces: new Uint8Array(20),
    multiFile: true,
    files,
    totalLength,
    announce: undefined,
    announceList: [],
    private: false,
    urlList: [],
    comment: undefined,
    createdBy: undefined,
    creationDate: undefined,
    infoBytes: new Uint8Array(0),
  };
}

test(`describeTorrent lists ${MAX_FILES} files (the MAX_FILES limit)`, () => {
  const files: TorrentFile[] = [];
  for (let i = 0; i < MAX_FILES; i++)
    files.push({ path: [i.toString(16)], length: i === 7 ? 123_456 : 1, offset: i, padding: false });
  const text = describeTorrent(torrentWithFiles(files));
  const lines = text.split('\n');
  assert.ok(lines.includes(`files (${MAX_FILES}):  index  size  path`));
  // Sizes right-aligned to the widest (123456: 6 digits), indexes to the last (262143: 6 digits).
  assert.ok(lines.includes('       0       1  0'), 'first file');
  assert.ok(lines.includes('       7  123456  7'), 'the widest size');
  assert.ok(lines.includes(`  ${MAX_FILES - 1}       1  ${(MAX_FILES - 1).toString(16)}`), 'last file');
});

test('describeTorrent prints file names and the torrent name printable', () => {
  const text = describeTorrent(
    torrentWithFiles([{ path: ['a\x1b[2J', 'b\nFAKE'], length: 5, offset: 0, padding: false }], 'n\x07'),
  );
  assert.match(text, /^name: {10}n\?$/m);
  assert.match(text, /^ {2}0 {2}5 {2}a\?\[2J\/b\?FAKE$/m);
});
