/**
 * The `done` event of a download whose tracker accepts and never answers: the transfer time is the
 * data's (start → last piece verified), not stretched by the wait for the tracker at the end, and
 * that wait is one grace for `completed` and a short one for `stopped` (machines/torrent.machine.ts).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TRACKER_GRACE_MS } from '../../../machines/torrent.types.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

test('done: a hanging tracker holds the exit one grace and a short stop, and the rate is the transfer’s', async (t) => {
  const dir = await tempDir(t, 'bitstate-done-');
  // A tracker that accepts every connection and never answers.
  const held = new Set<Socket>();
  const tracker = createServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((ok) => tracker.listen(0, '127.0.0.1', ok));
  t.after(() => {
    for (const s of held) s.destroy();
    tracker.close();
  });
  const { port: trackerPort } = tracker.address() as { port: number };
  const payload = payloadBytes(256 * 1024, 5);
  const torrent = {
    ...makeTorrent('p.bin', [{ path: ['p.bin'], length: payload.length }], 16 * 1024, payload, false),
    announce: `http://127.0.0.1:${trackerPort}/announce`,
  };
  const seedDir = join(dir, 'seed');
  await mkdir(seedDir);
  await writeFile(join(seedDir, 'p.bin'), payload);
  const port = await listeningSeeder(t, torrent, seedDir);
  const job = download(torrent, {
    out: join(dir, 'out'),
    peers: [{ host: '127.0.0.1', port }],
    listen: false,
    stallTimeoutMs: 10_000,
  });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  const done = events.find((e) => e.type === 'done');
  assert.ok(done?.type === 'done');
  const waited = done.elapsedMs - done.transferMs;
  // Finishing waits the grace for `completed`: a lower bound, which load cannot break (a timer never
  // fires early). How long the whole wait is (one grace and a short stop; before: two graces, 10 s)
  // is torrent.machine.test.ts's, exactly, in virtual time: an upper bound in wall time flaked on a
  // loaded machine.
  assert.ok(waited >= TRACKER_GRACE_MS - 200, `waited ${Math.round(waited)} ms for the tracker`);
  assert.equal(done.averageRate, torrent.totalLength / Math.max(done.transferMs / 1000, 1e-3));
  assert.ok(done.transferMs > 0 && done.transferMs < done.elapsedMs);
});
