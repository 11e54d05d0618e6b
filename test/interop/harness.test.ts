/**
 * Self-check of the interop harness with third-party clients only: if this fails, the harness or
 * the machine is broken, not bitstate. Seconds, 127.0.0.1 only, every process stopped by the test.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { aria2Download, startAria2Seeder } from './harness/aria2.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { startOpentracker } from './harness/opentracker.js';
import { compareTrees, writeMultiFilePayload } from './harness/payload.js';
import { stopOnEnd } from './harness/processes.js';

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-harness-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('payloads are deterministic and compareTrees sees a flipped byte and a missing file', async (t) => {
  const dir = await tempDir(t);
  const a = await writeMultiFilePayload({ dir: join(dir, 'a'), approxSize: 1 << 20, seed: 7 });
  const b = await writeMultiFilePayload({ dir: join(dir, 'b'), approxSize: 1 << 20, seed: 7 });
  const same = await compareTrees(a.root, b.root);
  assert.deepEqual(same.mismatches, []);
  assert.equal(same.bytes, a.totalLength);
  assert.equal(same.files, a.files.length);

  const fh = await open(join(b.root, 'nested', 'b.bin'), 'r+');
  const byte = Buffer.alloc(1);
  await fh.read(byte, 0, 1, 1000);
  byte[0] = (byte[0] ?? 0) ^ 0xff;
  await fh.write(byte, 0, 1, 1000);
  await fh.close();
  await rm(join(b.root, 'tiny.txt'));
  const diff = await compareTrees(a.root, b.root);
  assert.equal(diff.equal, false);
  assert.equal(diff.mismatches.length, 2, diff.mismatches.join('\n'));
  assert.match(diff.mismatches.join('\n'), /content of nested\/b\.bin/);
  assert.match(diff.mismatches.join('\n'), /missing tiny\.txt/);

  const other = await writeMultiFilePayload({ dir: join(dir, 'c'), approxSize: 1 << 20, seed: 8 });
  assert.equal((await compareTrees(a.root, other.root)).equal, false);
});

test('libtorrent seeds a multi-file torrent through opentracker to aria2, byte for byte', async (t) => {
  const dir = await tempDir(t);
  const payload = await writeMultiFilePayload({ dir: join(dir, 'seed'), name: 'tree', approxSize: 3 << 20 });
  const tracker = await startOpentracker();
  stopOnEnd(t, tracker);
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  const info = await referenceTorrentInfo(torrent);
  assert.equal(info.totalLength, payload.totalLength);
  assert.equal(info.files.length, payload.files.length);

  // Debian's opentracker serves only whitelisted info-hashes.
  assert.equal((await tracker.scrape(info.infoHash)).complete, 0);
  await tracker.allow([info.infoHash]);

  const seeder = await startLibtorrentSeeder({ torrent, dataDir: join(dir, 'seed') });
  stopOnEnd(t, seeder);
  await tracker.waitForSeeders(info.infoHash, 1, 10_000);

  const out = join(dir, 'aria2-out');
  await mkdir(out);
  await aria2Download({ torrent, outDir: out, timeoutMs: 20_000 });
  const cmp = await compareTrees(payload.root, join(out, 'tree'));
  assert.deepEqual(cmp.mismatches, []);
  assert.equal(cmp.bytes, payload.totalLength);
});

test('aria2 seeds to a libtorrent downloader that dials it (--peer, no tracker)', async (t) => {
  const dir = await tempDir(t);
  const payload = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    approxSize: 2 << 20,
    seed: 3,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 32 * 1024,
  });
  const seeder = await startAria2Seeder({ torrent, dataDir: join(dir, 'seed') });
  stopOnEnd(t, seeder);

  const out = join(dir, 'lt-out');
  await mkdir(out);
  await libtorrentDownload({ torrent, outDir: out, peers: [`127.0.0.1:${seeder.port}`], timeoutMs: 20_000 });
  const cmp = await compareTrees(payload.root, join(out, 'tree'));
  assert.deepEqual(cmp.mismatches, []);
});
