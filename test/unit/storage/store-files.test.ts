/**
 * Files already at a torrent's paths when a store opens (docs/storage.md, "Files already there"):
 * never cut unless bitstate's resume file vouches for them, refused before anything is created,
 * extended when shorter, left as they are when of the right size. Real files in a temp folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openResumed, ResumeSaver, resumePathFor } from '../../../src/session/resume.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { stampOfStats } from '../../../src/storage/resume-file.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-store-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const foreign = (e: unknown): boolean =>
  e instanceof StorageError && e.code === 'foreignFile' && e.badInput && !e.message.includes('\n');

const PIECE = 64;
const payload = payloadBytes(300, 5);
// notes.txt is empty in the torrent, as in the review's repro; data.bin follows it.
const torrent = makeTorrent(
  'multi',
  [
    { path: ['a.bin'], length: 100 },
    { path: ['notes.txt'], length: 0 },
    { path: ['sub', 'data.bin'], length: 200 },
  ],
  PIECE,
  payload,
);

test('a longer file nobody vouches for is refused, byte for byte intact, and nothing is created', async (t) => {
  const out = await tempDir(t);
  await mkdir(join(out, 'multi'));
  const mine = Buffer.from('my precious notes, not part of any torrent\n');
  await writeFile(join(out, 'multi', 'notes.txt'), mine);
  await assert.rejects(PieceStore.open(torrent, out), (e) => {
    assert.ok(foreign(e), String(e));
    assert.match((e as Error).message, /notes\.txt already exists with 43 bytes, more than the torrent's 0/);
    return true;
  });
  assert.deepEqual(await readFile(join(out, 'multi', 'notes.txt')), mine);
  // a.bin comes first in the torrent but was not created: the check runs before any change.
  assert.deepEqual(await readdir(join(out, 'multi')), ['notes.txt']);
});

test('single file: an unrelated 1,000,000-byte file where the torrent has 200 bytes keeps every byte', async (t) => {
  const out = await tempDir(t);
  const single = makeTorrent(
    'single.bin',
    [{ path: ['single.bin'], length: 200 }],
    PIECE,
    payload.subarray(0, 200),
    false,
  );
  const mine = Buffer.from(payloadBytes(1_000_000, 9));
  await writeFile(join(out, 'single.bin'), mine);
  await assert.rejects(PieceStore.open(single, out), foreign);
  assert.deepEqual(await readFile(join(out, 'single.bin')), mine);
});

test('a shorter file is extended, its bytes kept, and its pieces found; one of the right size is left as it is', async (t) => {
  const out = await tempDir(t);
  await mkdir(join(out, 'multi', 'sub'), { recursive: true });
  // Another client's partial download: a.bin whole, data.bin's first 90 bytes.
  await writeFile(join(out, 'multi', 'a.bin'), payload.subarray(0, 100));
  await writeFile(join(out, 'multi', 'sub', 'data.bin'), payload.subarray(100, 190));
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  try {
    assert.equal((await stat(join(out, 'multi', 'a.bin'))).size, 100);
    const data = await readFile(join(out, 'multi', 'sub', 'data.bin'));
    assert.equal(data.length, 200);
    assert.deepEqual(data.subarray(0, 90), Buffer.from(payload.subarray(100, 190)));
    assert.deepEqual([...(await store.checkPieces()).indexes()], [0, 1], 'bytes 0..127 are there');
  } finally {
    await store.close();
  }
});

test('a file that has the stamp the caller has on record (its resume file) is cut to its torrent length', async (t) => {
  const out = await tempDir(t);
  await mkdir(join(out, 'multi', 'sub'), { recursive: true });
  await writeFile(
    join(out, 'multi', 'a.bin'),
    Buffer.concat([payload.subarray(0, 100), Buffer.alloc(50, 7)]),
  );
  const stamp = stampOfStats(await lstat(join(out, 'multi', 'a.bin'), { bigint: true }));
  await assert.rejects(PieceStore.open(torrent, out, { recorded: [null, null, null] }), foreign);
  await assert.rejects(PieceStore.open(torrent, out, { recorded: [[150, '1'], null, null] }), foreign);
  assert.equal((await stat(join(out, 'multi', 'a.bin'))).size, 150);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0, recorded: [stamp, null, null] });
  await store.close();
  assert.equal((await stat(join(out, 'multi', 'a.bin'))).size, 100);
});

test('something not a regular file at a path (a FIFO, a folder) is refused at once, never opened', async (t) => {
  const out = await tempDir(t);
  await mkdir(join(out, 'multi', 'sub'), { recursive: true });
  execFileSync('mkfifo', [join(out, 'multi', 'a.bin')]);
  await assert.rejects(PieceStore.open(torrent, out), foreign);
  await rm(join(out, 'multi', 'a.bin'));
  await mkdir(join(out, 'multi', 'a.bin'));
  await assert.rejects(PieceStore.open(torrent, out), foreign);
});

test('openResumed: a file the resume file records as it is now is ours and cut (also with --recheck); one changed since, or unrecorded, is refused', async (t) => {
  const out = await tempDir(t);
  const a = join(out, 'multi', 'a.bin');
  const longer = Buffer.concat([payload.subarray(0, 100), Buffer.alloc(30, 1)]);
  /** A download of ours that grew a.bin before its resume save (so the save recorded 130 bytes). */
  const ourRun = async () => {
    const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
    await store.writeBlock(0, 0, payload.subarray(0, PIECE));
    assert.ok(await store.verifyPiece(0));
    have.set(0);
    await writeFile(a, longer);
    await new ResumeSaver(store, resumePathFor(torrent, out), () => have).save();
    await store.close();
  };
  for (const recheck of [false, true]) {
    await ourRun();
    const r = await openResumed(torrent, { out, hashWorkers: 0, recheck }, () => {});
    await r.store.close();
    assert.equal((await stat(a)).size, 100, `recheck ${recheck}`);
    assert.ok(r.have.has(0));
  }
  // Recorded, but replaced since by someone's longer file (a new mtime): not ours any more.
  await ourRun();
  await new Promise((r) => setTimeout(r, 20));
  const theirs = Buffer.alloc(500, 2);
  await writeFile(a, theirs);
  await assert.rejects(
    openResumed(torrent, { out, hashWorkers: 0 }, () => {}),
    foreign,
  );
  assert.deepEqual(await readFile(a), theirs);
  // Without the resume file, the file as we left it is someone else's too.
  await rm(a);
  await ourRun();
  await rm(resumePathFor(torrent, out));
  await assert.rejects(
    openResumed(torrent, { out, hashWorkers: 0 }, () => {}),
    foreign,
  );
  assert.equal((await stat(a)).size, 130);
});
