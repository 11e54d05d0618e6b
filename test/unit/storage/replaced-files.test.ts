/**
 * A file another program replaced at its path — a file renamed over it, or rm and a new file — is
 * not the store's file (store-files.ts, file-looks.ts `identify`): the store's writes went to the
 * file it replaced, where nobody can reach them, and the pieces verified in it are not in the new
 * one. Whoever finds it first says `fileRemoved`: a resume save's look at the path (lstat: another
 * device or inode), the fd cache's reopen of it (fstat of the new handle), the last save of a run.
 * Real files in a temp folder, replaced with the same length so that only their identity tells.
 */
import assert from 'node:assert/strict';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inodesStable } from '../../../src/storage/file-looks.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

const PIECE = 64;
// One piece per file.
const payload = payloadBytes(2 * PIECE, 9);
const torrent = makeTorrent(
  'rep',
  [
    { path: ['a'], length: PIECE },
    { path: ['b'], length: PIECE },
  ],
  PIECE,
  payload,
);
const pieceBytes = (p: number) => payload.subarray(p * PIECE, (p + 1) * PIECE);
const JUNK = new Uint8Array(PIECE).fill(0xee);
const replaced = (e: unknown) =>
  e instanceof StorageError && e.code === 'fileRemoved' && /replaced/.test(e.message);

/** What another program does: a file of the same length renamed over `path`. */
async function renameOver(path: string): Promise<void> {
  await writeFile(`${path}.new`, JUNK);
  await rename(`${path}.new`, path);
}

/** What another program does: `path` removed, and a new file of the same length made there. */
async function removeAndCreate(path: string): Promise<void> {
  await rm(path);
  await writeFile(path, JUNK);
}

/**
 * The check runs only where the file system keeps inode numbers (file-looks.ts `inodesStable`);
 * where the temp folder's does not (an overlayfs container), these tests cannot say anything.
 */
const skip = (await inodesStable(tmpdir()))
  ? false
  : `${tmpdir()}'s file system is not known to keep inode numbers`;

for (const [how, replace] of [
  ['renamed over it', renameOver],
  ['rm and a new file', removeAndCreate],
] as const)
  test(`a file replaced after the store wrote it (${how}): the next save's look finds it replaced`, {
    skip,
  }, async (t) => {
    const out = await tempDir(t);
    const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
    try {
      await store.writeBlock(0, 0, pieceBytes(0));
      assert.ok(await store.verifyPiece(0));
      await replace(join(out, 'rep', 'a'));
      await assert.rejects(store.stampFiles(), replaced);
    } finally {
      await store.close();
    }
  });

test('a file replaced while its handle was closed: the fd cache reopens it and the write fails, the new file untouched', {
  skip,
}, async (t) => {
  const out = await tempDir(t);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0, maxOpenFiles: 1 });
  const a = join(out, 'rep', 'a');
  try {
    await store.writeBlock(0, 0, pieceBytes(0).subarray(0, 16));
    await store.writeBlock(1, 0, pieceBytes(1)); // b's handle: a's is closed
    await renameOver(a);
    await assert.rejects(store.writeBlock(0, 16, pieceBytes(0).subarray(16)), replaced);
  } finally {
    await store.close().catch(() => {});
  }
  assert.deepEqual(new Uint8Array(await readFile(a)), JUNK);
});

test('a file found at the open and replaced before the store first opened it: the first write fails', {
  skip,
}, async (t) => {
  const out = await tempDir(t);
  const first = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  await first.writeBlock(0, 0, pieceBytes(0));
  await first.close();
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  try {
    await renameOver(join(out, 'rep', 'a'));
    await assert.rejects(store.writeBlock(0, 0, pieceBytes(0)), replaced);
  } finally {
    await store.close().catch(() => {});
  }
});

test('a file replaced that the store has not changed since its last look: a save does not look, the every-file look finds it', {
  skip,
}, async (t) => {
  const out = await tempDir(t);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  try {
    await store.writeBlock(0, 0, pieceBytes(0));
    await store.stampFiles();
    await renameOver(join(out, 'rep', 'a'));
    await store.stampFiles();
    await assert.rejects(store.stampFiles({ everyFile: true }), replaced);
  } finally {
    await store.close();
  }
});

test('the store reopening its own file (evicted, not replaced) is not a replacement', { skip }, async (t) => {
  const out = await tempDir(t);
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0, maxOpenFiles: 1 });
  try {
    for (let round = 0; round < 3; round++)
      for (const p of [0, 1]) await store.writeBlock(p, 0, pieceBytes(p));
    await store.stampFiles({ everyFile: true });
    for (const p of [0, 1]) assert.ok(await store.verifyPiece(p));
  } finally {
    await store.close();
  }
});
