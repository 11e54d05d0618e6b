/**
 * BitTorrent v2 torrents made by real libtorrent (Debian's python3-libtorrent 2.0, `create_torrent`
 * with `v2_only`, and a hybrid) over a payload written here: parseTorrent must lay their files out
 * where libtorrent's own `torrent_info` lays them (paths, lengths, offsets, its implicit padding),
 * name them with libtorrent's info-hashes, and every piece of the real payload must match its
 * expected hash through createPieceHash — the merkle roots of `piece layers` for v2, SHA-1 for the
 * hybrid (used through its v1 keys). No network: libtorrent only writes and reads the .torrent.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { createPieceHash } from '../../src/metainfo/piece-hash.js';
import { pieceHash, type Torrent } from '../../src/metainfo/torrent.js';
import { tempDir } from '../helpers/temp-dir.js';
import { type LibtorrentFile, makeTorrentWithLibtorrent } from './harness/libtorrent-create.js';
import { writeMultiFilePayload, writeSingleFilePayload } from './harness/payload.js';

const PIECE = 32 * 1024;

async function libtorrentMake(source: string, out: string, format: 'v2' | 'hybrid') {
  return makeTorrentWithLibtorrent({ source, out, pieceLength: PIECE, format });
}

/** Our layout in libtorrent's terms: a multi-file torrent's paths start with its folder. */
function ourFiles(t: Torrent): LibtorrentFile[] {
  return t.files.map((f) => ({
    path: (t.multiFile ? [t.name, ...f.path] : f.path).join('/'),
    length: f.length,
    offset: f.offset,
    padding: f.padding,
  }));
}

/** Every piece of the payload on disk (padding read as zeros) hashes to the torrent's pieceHash. */
async function assertPayloadVerifies(t: Torrent, saveDir: string): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const f of t.files) {
    if (f.padding) parts.push(new Uint8Array(f.length));
    else parts.push(await readFile(join(saveDir, ...(t.multiFile ? [t.name, ...f.path] : f.path))));
  }
  const payload = Buffer.concat(parts);
  assert.equal(payload.length, t.totalLength);
  for (let i = 0; i < t.pieceCount; i++) {
    const h = createPieceHash(t, i);
    h.update(payload.subarray(i * t.pieceLength, (i + 1) * t.pieceLength));
    assert.deepEqual(Buffer.from(h.digest()), Buffer.from(pieceHash(t, i)), `piece ${i} of ${t.pieceCount}`);
  }
}

test('libtorrent v2-only and hybrid torrents of a folder: its layout, its info-hashes, every piece verifies', async (t) => {
  const dir = await tempDir(t, 'bitstate-v2-');
  // Shorter than a piece, a whole piece, several and a part, empty, one block past a piece, nested.
  await writeMultiFilePayload({
    dir,
    name: 'tree',
    files: [
      { path: 'a-short.txt', length: 5 },
      { path: 'b-piece.bin', length: PIECE },
      { path: 'c-long.bin', length: 5 * PIECE + 12_345 },
      { path: 'd-empty', length: 0 },
      { path: 'nested/e.bin', length: PIECE + 16 * 1024 + 1 },
      { path: 'nested/f.bin', length: 700 },
    ],
  });
  for (const mode of ['v2', 'hybrid'] as const) {
    const out = join(dir, `${mode}.torrent`);
    const theirs = await libtorrentMake(join(dir, 'tree'), out, mode);
    const ours = parseTorrent(await readFile(out));
    assert.equal(ours.version, mode);
    assert.equal(ours.multiFile, true);
    assert.equal(ours.name, theirs.name);
    assert.deepEqual(ourFiles(ours), theirs.files, `${mode}: the layout`);
    assert.deepEqual(
      [ours.totalLength, ours.pieceCount, ours.pieceLength],
      [theirs.totalLength, theirs.pieceCount, theirs.pieceLength],
    );
    assert.equal(Buffer.from(ours.infoHashV2!).toString('hex'), theirs.v2);
    // A v2-only swarm is its v2 info-hash cut to 20 bytes; a hybrid's, its v1 (SHA-1) one.
    assert.equal(ours.infoHashHex, mode === 'v2' ? theirs.v2?.slice(0, 40) : theirs.v1);
    if (mode === 'v2')
      assert.ok(
        ours.files.some((f) => f.padding),
        'implicit padding',
      );
    await assertPayloadVerifies(ours, dir);
  }
});

test('a libtorrent v2-only single file: a single-file torrent named as the file, padded to its last piece', async (t) => {
  const dir = await tempDir(t, 'bitstate-v2-');
  await writeSingleFilePayload({ dir, name: 'one.bin', size: 3 * PIECE + 1000 });
  const out = join(dir, 'one.torrent');
  const theirs = await libtorrentMake(join(dir, 'one.bin'), out, 'v2');
  const ours = parseTorrent(await readFile(out));
  assert.equal(ours.version, 'v2');
  assert.equal(ours.multiFile, false);
  assert.equal(ours.name, theirs.name);
  assert.deepEqual(
    ours.files.map((f) => [f.length, f.offset, f.padding]),
    theirs.files.map((f) => [f.length, f.offset, f.padding]),
  );
  assert.deepEqual(ours.files[0]!.path, ['one.bin']);
  assert.equal(ours.totalLength, theirs.totalLength);
  assert.equal(Buffer.from(ours.infoHashV2!).toString('hex'), theirs.v2);
  await assertPayloadVerifies(ours, dir);
});
