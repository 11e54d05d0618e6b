/**
 * The resume file's save schedule (docs/resume.md): at most every interval, only when more pieces
 * were verified since the last save, one at a time, and a failure kept for the download to stop
 * with. A real PieceStore and resume file in a temp folder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { ResumeSaver, resumePathFor } from '../../../src/session/resume.js';
import { ResumeSaveLoop } from '../../../src/session/resume-save-loop.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { readResumeFile } from '../../../src/storage/resume-file.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 16384;
const payload = payloadBytes(4 * PIECE, 3);
const torrent = makeTorrent('loop', [{ path: ['a.bin'], length: payload.length }], PIECE, payload, false);

test('saves when due and changed, never twice at once; a failed save is kept as the error', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-saveloop-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const store = await PieceStore.open(torrent, out, { hashWorkers: 0 });
  t.after(() => store.close());
  const have = new Bitfield(torrent.pieceCount);
  const path = resumePathFor(torrent, out);
  const events: DownloadEvent[] = [];
  const loop = new ResumeSaveLoop(new ResumeSaver(store, path, () => have), 1000, (e) => events.push(e));
  const count = () => have.count;

  // The clock starts at construction: nothing is due before one interval.
  const t0 = performance.now();
  assert.equal(loop.tick(t0 + 10, count), undefined, 'not due yet');
  await store.writeBlock(0, 0, payload.subarray(0, PIECE));
  have.set(0);
  const first = loop.tick(t0 + 1500, count);
  assert.ok(first, 'due and one more piece verified: saves');
  assert.equal(loop.tick(t0 + 3000, count), undefined, 'one save at a time');
  await first;
  assert.deepEqual(events.at(-1), { type: 'resume.saved', have: 1 });
  const saved = await readResumeFile(torrent, path);
  assert.ok(saved.ok);
  assert.deepEqual([...saved.state.have.indexes()], [0]);

  assert.equal(loop.tick(t0 + 10_000, count), undefined, 'nothing new verified: no save');
  await store.writeBlock(1, 0, payload.subarray(PIECE, 2 * PIECE));
  have.set(1);
  assert.equal(loop.tick(t0 + 1600, count), undefined, 'changed but not due since the last save');
  await loop.tick(t0 + 10_000, count);
  assert.deepEqual(events.at(-1), { type: 'resume.saved', have: 2 });

  // A store closed under it: the save fails, the error is kept, no more saves are tried.
  await store.close();
  have.set(2);
  await loop.save();
  assert.ok(loop.error instanceof Error, 'the failure is kept');
  assert.equal(loop.tick(t0 + 60_000, count), undefined, 'no save after a failure');
});

test('without a saver (seeding) nothing is ever saved', () => {
  const loop = new ResumeSaveLoop(undefined, 1, () => assert.fail('no event'));
  assert.equal(loop.save(), undefined);
  assert.equal(
    loop.tick(performance.now() + 1e6, () => 5),
    undefined,
  );
});
