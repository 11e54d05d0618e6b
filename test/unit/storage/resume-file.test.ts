/**
 * The resume file: round trip, atomic replacement, every kind of damage read as `corrupt`, and
 * openResumed() choosing between trusting it and hashing the data (missing, stale, corrupt,
 * --recheck). Real files in a temp folder; hashing on the calling thread.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { openResumed, ResumeSaver, resumePathFor } from '../../../src/session/resume.js';
import {
  decodeResume,
  encodeResume,
  type ResumeState,
  readResumeFile,
  writeResumeFile,
} from '../../../src/storage/resume-file.js';
import { makeTorrent, payloadBytes } from './make-torrent.js';

const PIECE = 1024;
const payload = payloadBytes(10 * PIECE + 100, 3);
const torrent = makeTorrent(
  'res',
  [
    { path: ['a.bin'], length: 4 * PIECE + 10 },
    { path: ['b.bin'], length: 6 * PIECE + 90 },
  ],
  PIECE,
  payload,
);

const state = (bits: number[]): ResumeState => {
  const have = new Bitfield(torrent.pieceCount);
  for (const b of bits) have.set(b);
  return { have, files: [[4 * PIECE + 10, '123'], null], parts: { stamp: null, sharedPieces: [] } };
};

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bitstate-resume-'));
}

test('encode → decode round trip', () => {
  const s = decodeResume(torrent, encodeResume(torrent, state([0, 3, 10])));
  assert.deepEqual([...s.have.indexes()], [0, 3, 10]);
  assert.deepEqual(s.files, [[4 * PIECE + 10, '123'], null]);
});

test('damage of any kind is refused: bit flip, truncation, other torrent, wrong sizes', () => {
  const text = encodeResume(torrent, state([1, 2]));
  const flipped = text.replace('"pieceCount":11', '"pieceCount":12');
  assert.throws(() => decodeResume(torrent, flipped));
  assert.throws(() => decodeResume(torrent, text.slice(0, -10)));
  assert.throws(() => decodeResume(torrent, ''));
  assert.throws(() => decodeResume({ ...torrent, infoHashHex: '00'.repeat(20) }, text));
  assert.throws(() => decodeResume({ ...torrent, files: torrent.files.slice(0, 1) }, text));
});

test('written atomically: replaced whole, no temp file left, read back', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'x.resume');
    await writeResumeFile(torrent, path, state([1]));
    await writeResumeFile(torrent, path, state([1, 2]));
    assert.deepEqual(await readdir(dir), ['x.resume']);
    const r = await readResumeFile(torrent, path);
    assert.ok(r.ok);
    assert.deepEqual([...r.state.have.indexes()], [1, 2]);
    assert.equal((await readResumeFile(torrent, join(dir, 'none'))).ok, false);
    await writeFile(path, '{"bitstate":"resume"');
    const bad = await readResumeFile(torrent, path);
    assert.ok(!bad.ok && bad.reason === 'corrupt');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Writes the payload's pieces `pieces` to disk through a store, saves the resume file, closes. */
async function downloadPieces(out: string, pieces: number[]): Promise<void> {
  const { store, have } = await openResumed(torrent, { out, hashWorkers: 0 }, () => {});
  for (const i of pieces) {
    await store.writeBlock(i, 0, payload.subarray(i * PIECE, Math.min((i + 1) * PIECE, payload.length)));
    assert.ok(await store.verifyPiece(i));
    have.set(i);
  }
  await new ResumeSaver(store, resumePathFor(torrent, out), () => have).save();
  await store.close();
}

async function reopen(out: string, recheck = false) {
  const events: DownloadEvent[] = [];
  const r = await openResumed(torrent, { out, hashWorkers: 0, recheck }, (e) => events.push(e));
  await r.store.close();
  const loaded = events.find((e) => e.type === 'resume.loaded');
  assert.ok(loaded?.type === 'resume.loaded');
  return { have: [...r.have.indexes()], loaded };
}

test('openResumed: valid file trusted without hashing; stale file rechecked; corrupt rechecked', async () => {
  const out = await tempDir();
  try {
    await downloadPieces(out, [0, 1, 7]);
    let r = await reopen(out);
    assert.deepEqual(r.have, [0, 1, 7]);
    assert.equal(r.loaded.source, 'resumeFile');
    assert.equal(r.loaded.checked, 0);
    assert.equal(r.loaded.trusted, 3);

    // b.bin touched (mtime changed): its pieces (4..10) are hashed; a.bin's stay trusted. Piece 1
    // is claimed but its bytes are now wrong: a trusted claim is not re-hashed (mtime unchanged),
    // so damage b.bin instead and see piece 7 dropped by the hash.
    const b = join(out, 'res', 'b.bin');
    const bytes = await readFile(b);
    bytes[7 * PIECE - (4 * PIECE + 10) + 5]! ^= 0xff;
    await writeFile(b, bytes);
    await utimes(b, new Date(), new Date(Date.now() + 5000));
    r = await reopen(out);
    assert.deepEqual(r.have, [0, 1]);
    assert.equal(r.loaded.trusted, 2);
    assert.equal(r.loaded.checked, 7, 'pieces 4..10 overlap b.bin');

    await writeFile(resumePathFor(torrent, out), 'garbage');
    r = await reopen(out);
    assert.equal(r.loaded.source, 'corrupt');
    assert.deepEqual(r.have, [0, 1]);
    assert.equal(r.loaded.checked, 11);

    r = await reopen(out, true);
    assert.equal(r.loaded.source, 'recheck');
    assert.equal(r.loaded.trusted, 0);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
