/**
 * What a download leaves on disk now that files are created at their first write
 * (src/storage/store-files.ts): nothing when the store opens; once complete, every selected file
 * the torrent lists at its length — zero-length ones created at completion — and no unselected
 * file; a restart hashes only the pieces of files created since the last resume save. A bitstate
 * seeder and downloader in this process on 127.0.0.1, real files in a temp folder, bounded.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { type DownloadResult, download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { openResumed, ResumeSaver, resumePathFor } from '../../../src/session/resume.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 1024;
const specs = [
  { path: ['a.bin'], length: 3000 },
  { path: ['empty'], length: 0 },
  { path: ['sub', 'b.bin'], length: 2500 },
  { path: ['sub', 'deeper', 'empty'], length: 0 },
  { path: ['c.bin'], length: 1500 },
  { path: ['skip', 'empty'], length: 0 },
];
const payload = payloadBytes(7000, 21);
const torrent = makeTorrent('tree', specs, PIECE, payload);

/** The torrent's files under `dir`/tree, as a seeder needs them (every file there). */
async function writeTree(dir: string): Promise<void> {
  let offset = 0;
  for (const s of specs) {
    const path = join(dir, 'tree', ...s.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, payload.subarray(offset, offset + s.length));
    offset += s.length;
  }
}

test('a completed download has every selected file at its length, zero-length ones created at completion, none at open', async (t) => {
  const dir = await tempDir(t, 'bitstate-session-');
  const seedDir = join(dir, 'seed');
  await writeTree(seedDir);
  const port = await listeningSeeder(t, torrent, seedDir);
  const out = join(dir, 'out');
  // c.bin and skip/empty are not selected.
  const selected = [true, true, true, true, false, false];
  const job = download(torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
    selected,
    stallTimeoutMs: 10_000,
  });
  let atOpen: string[] | undefined;
  job.events$.subscribe((e: DownloadEvent) => {
    // Emitted once the store is open, before any peer is dialled.
    if (e.type === 'resume.loaded') atOpen = existsSync(join(out, 'tree')) ? ['tree'] : [];
  });
  const result: DownloadResult = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(atOpen, [], 'nothing created when the store opened');
  let offset = 0;
  for (const [i, s] of specs.entries()) {
    const path = join(out, 'tree', ...s.path);
    if (selected[i])
      assert.deepEqual(
        new Uint8Array(await readFile(path)),
        payload.subarray(offset, offset + s.length),
        path,
      );
    else assert.equal(existsSync(path), false, `${path} is not selected`);
    offset += s.length;
  }
  assert.deepEqual((await readdir(join(out, 'tree'))).sort(), ['a.bin', 'empty', 'sub']);
});

test('a restart trusts the resume file where no file was created since, and hashes only the pieces of one created after the save', async (t) => {
  const out = await tempDir(t);
  const events: DownloadEvent[] = [];
  const first = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  // Pieces 0–1 lie in a.bin alone: written, verified, saved. b.bin is not on disk at the save.
  for (const p of [0, 1]) {
    await first.store.writeBlock(p, 0, payload.subarray(p * PIECE, (p + 1) * PIECE));
    assert.ok(await first.store.verifyPiece(p));
    first.have.set(p);
  }
  await new ResumeSaver(first.store, resumePathFor(torrent, out), () => first.have).save();
  // Then piece 4 (all in b.bin) is written, and the process dies before the next save.
  await first.store.writeBlock(4, 0, payload.subarray(4 * PIECE, 5 * PIECE));
  await first.store.close();

  const again = await openResumed(torrent, { out, hashWorkers: 0 }, (e) => events.push(e));
  await again.store.close();
  const loaded = events.find((e) => e.type === 'resume.loaded');
  // b.bin's pieces 2–4 are hashed (2 is shared with a.bin); 5 and 6 touch c.bin, never created, and
  // are neither trusted nor hashed.
  assert.deepEqual(loaded && { trusted: loaded.trusted, checked: loaded.checked, have: loaded.have }, {
    trusted: 2,
    checked: 3,
    have: 3,
  });
  assert.ok(again.have.has(4), 'found by hashing');
  assert.equal(existsSync(join(out, 'tree', 'c.bin')), false, 'a restart creates nothing');
  assert.equal((await stat(join(out, 'tree', 'sub', 'b.bin'))).size, 2500);
});
