/**
 * What a resumed download looks at on disk (src/storage/file-looks.ts, docs/resume.md): its open
 * looks at each folder and each file once; a resume save looks only at the files the store changed
 * since its last look at them, the last save of a run at every file on disk, once; and the stamp a
 * save records for a file is the one seen after the store's last change of it, so that a file some
 * other program changed or removed meanwhile is never trusted by the restart. Real files in a temp
 * folder; the stat and lstat calls counted as they run (test/helpers/stat-calls.ts).
 */
import assert from 'node:assert/strict';
import { open, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openResumed, ResumeSaver, resumePathFor } from '../../../src/session/resume.js';
import { inodesStable } from '../../../src/storage/file-looks.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { countStatCalls } from '../../helpers/stat-calls.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 64;
// One piece per file; three folders (looks, looks/a, looks/b).
const payload = payloadBytes(4 * PIECE, 5);
const torrent = makeTorrent(
  'looks',
  [
    { path: ['a', 'x'], length: PIECE },
    { path: ['a', 'y'], length: PIECE },
    { path: ['b', 'z'], length: PIECE },
    { path: ['w'], length: PIECE },
  ],
  PIECE,
  payload,
);
const FOLDERS = 3;
const FILES = 4;
const pieceBytes = (p: number) => payload.subarray(p * PIECE, (p + 1) * PIECE);
const removed = (e: unknown) => e instanceof StorageError && e.code === 'fileRemoved';

/** Opens the download under `out`, writes and verifies `pieces`, saves: what a run of ours leaves. */
async function run(out: string, pieces: readonly number[]): Promise<void> {
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  try {
    for (const p of pieces) {
      await store.writeBlock(p, 0, pieceBytes(p));
      assert.ok(await store.verifyPiece(p));
      have.set(p);
    }
    await new ResumeSaver(store, resumePathFor(torrent, out), () => have).save();
  } finally {
    await store.close();
  }
}

test('a resumed open looks at each folder and each file once', async (t) => {
  const out = await tempDir(t);
  await run(out, [0, 1, 2, 3]);
  const calls = countStatCalls(t);
  const events: { type: string; trusted?: number }[] = [];
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, (e) => events.push(e));
  await store.close();
  assert.equal(calls.count, FOLDERS + FILES, 'one lstat per folder component and per file');
  assert.equal(have.count, 4);
  assert.equal(events.find((e) => e.type === 'resume.loaded')?.trusted, 4, 'no piece hashed');
});

test('a resume save looks only at the files the store changed since its last look; the last save at every file on disk, once', async (t) => {
  const out = await tempDir(t);
  await run(out, [0, 1, 2, 3]);
  const calls = countStatCalls(t);
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  try {
    const saver = new ResumeSaver(store, resumePathFor(torrent, out), () => have);
    // Every save lstats its own folder (.bitstate) before anything else: 1.
    calls.reset();
    await saver.save();
    assert.equal(calls.count, 1, 'nothing changed since the open looked: no file looked at');
    await store.writeBlock(3, 0, pieceBytes(3));
    calls.reset();
    await saver.save();
    assert.equal(calls.count, 1 + 1, 'the file written since');
    calls.reset();
    await saver.save();
    assert.equal(calls.count, 1, 'and not again');
    calls.reset();
    await saver.save({ everyFile: true });
    assert.equal(calls.count, 1 + FILES, 'the last save: each file once');
  } finally {
    await store.close();
  }
});

for (const everyFile of [false, true])
  test(`a verified piece's bytes changed by another program between two saves are hashed by the restart, not trusted (${everyFile ? 'the last save' : 'a save'} after it)`, async (t) => {
    const out = await tempDir(t);
    const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
    const y = join(out, 'looks', 'a', 'y');
    try {
      const saver = new ResumeSaver(store, resumePathFor(torrent, out), () => have);
      for (const p of [0, 1]) {
        await store.writeBlock(p, 0, pieceBytes(p));
        assert.ok(await store.verifyPiece(p));
        have.set(p);
      }
      await saver.save();
      // Another program overwrites piece 1's bytes (a/y); its mtime moves (set, not left to the
      // clock's granularity).
      const h = await open(y, 'r+');
      await h.write(new Uint8Array(8).fill(0xee), 0, 8, 0);
      await h.close();
      await utimes(y, new Date(2001, 0, 1), new Date(2001, 0, 1));
      // The download goes on in another file, and saves again.
      await store.writeBlock(3, 0, pieceBytes(3));
      assert.ok(await store.verifyPiece(3));
      have.set(3);
      await saver.save({ everyFile });
    } finally {
      await store.close();
    }
    const events: { type: string; checked?: number }[] = [];
    const again = await openResumed(torrent, { out, hashWorkers: 0 }, (e) => events.push(e));
    await again.store.close();
    assert.deepEqual([...again.have.indexes()], [0, 3], 'piece 1 is not trusted: it no longer verifies');
    assert.equal(events.find((e) => e.type === 'resume.loaded')?.checked, 1, 'piece 1 hashed');
  });

test('a file another program removed, not changed by the store since its last look: a save does not look, the restart fetches its piece again, the last save finds it removed', async (t) => {
  const out = await tempDir(t);
  await run(out, [0, 1, 2, 3]);
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  try {
    const saver = new ResumeSaver(store, resumePathFor(torrent, out), () => have);
    await rm(join(out, 'looks', 'w'));
    // It records w's stamp from the open's look: no file has it now, so the restart trusts nothing
    // of w's (writes of ours into a removed file would have been found: the store looks at every
    // file it changed).
    await saver.save();
    await assert.rejects(saver.save({ everyFile: true }), removed);
  } finally {
    await store.close();
  }
  const again = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  await again.store.close();
  assert.deepEqual([...again.have.indexes()], [0, 1, 2], "w's piece is fetched again");
});

test("a verified piece's file replaced by another program (a same-length file renamed over it) before the save: the save fails, the restart does not trust the piece", {
  skip: (await inodesStable(tmpdir()))
    ? false
    : "the temp folder's file system is not known to keep inode numbers",
}, async (t) => {
  const out = await tempDir(t);
  await run(out, [1]);
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  const x = join(out, 'looks', 'a', 'x');
  try {
    const saver = new ResumeSaver(store, resumePathFor(torrent, out), () => have);
    await store.writeBlock(0, 0, pieceBytes(0));
    assert.ok(await store.verifyPiece(0));
    have.set(0);
    await writeFile(`${x}.new`, new Uint8Array(PIECE).fill(0xee));
    await rename(`${x}.new`, x);
    // The store changed x since its last look: the save looks, and finds another file there.
    await assert.rejects(saver.save(), removed);
  } finally {
    await store.close();
  }
  const again = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  await again.store.close();
  assert.deepEqual([...again.have.indexes()], [1], 'piece 0 is not trusted: it is not on disk');
});
