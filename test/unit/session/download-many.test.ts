/**
 * downloadMany: several torrents downloaded by one process on one port (src/session/download-many.ts,
 * many-torrents.ts). Real sockets on 127.0.0.1, real seeders (seed()): one torrent from a seeder we
 * dial, the other (a hybrid) from a seeder that dials our one port — its handshake routed to that
 * torrent — each into out/<its name>, bytes equal, every event with its torrent's infoHash, one
 * listening port; a torrent whose files cannot be made (a file planted where its folder goes) fails
 * alone while the other completes, and `done` names it; the same torrent twice, or two torrents
 * saved under one name, are refused before anything starts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import {
  DownloadManyError,
  type DownloadManyEvent,
  downloadMany,
} from '../../../src/session/download-many.js';
import { seed } from '../../../src/session/seed.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

interface Payload {
  readonly bytes: Buffer;
  readonly torrent: Torrent;
}

/** `data/NAME` of `size` random bytes and its torrent (32 KiB pieces). */
async function payload(
  data: string,
  name: string,
  size: number,
  format: 'v1' | 'hybrid' = 'v1',
): Promise<Payload> {
  await mkdir(data, { recursive: true });
  const bytes = randomBytes(size);
  await writeFile(join(data, name), bytes);
  return {
    bytes,
    torrent: parseTorrent(await createTorrent(join(data, name), { pieceLength: 32768, format })),
  };
}

/** Resolves with the port of `job`'s first `listening` event. */
function listeningPort(job: { events$: import('rxjs').Observable<DownloadManyEvent> }): Promise<number> {
  return new Promise((resolve) =>
    job.events$.subscribe((e) => {
      if (e.type === 'listening') resolve(e.port);
    }),
  );
}

test('two torrents, one process, one port: one from a seeder we dial, one from a seeder that dials us; each its own bytes', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-');
  const a = await payload(join(dir, 'seed-a'), 'a.bin', 300_000);
  const b = await payload(join(dir, 'seed-b'), 'b.bin', 200_000, 'hybrid');
  const portA = await listeningSeeder(t, a.torrent, join(dir, 'seed-a'));
  const out = join(dir, 'out');
  const events: DownloadManyEvent[] = [];
  const job = downloadMany([a.torrent, b.torrent], {
    out,
    peers: [{ host: '127.0.0.1', port: portA }],
    trackers: false,
    port: 0,
  });
  t.after(() => job.stop());
  job.events$.subscribe((e) => events.push(e));
  const port = await within(60_000, listeningPort(job), 'listening');
  // B's seeder has never heard of us but by this dial: its handshake names B at our one port.
  const seederB = seed(b.torrent, {
    data: join(dir, 'seed-b'),
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port }],
  });
  t.after(() => seederB.stop());

  const result = await within(60_000, job.done, 'both downloaded');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.ok((await readFile(join(out, 'a.bin'))).equals(a.bytes), 'a.bin');
  assert.ok((await readFile(join(out, 'b.bin'))).equals(b.bytes), 'b.bin');
  for (const e of events)
    if (e.type !== 'dht.ready')
      assert.ok(
        e.infoHash === a.torrent.infoHashHex || e.infoHash === b.torrent.infoHashHex,
        `tagged: ${JSON.stringify(e)}`,
      );
  assert.deepEqual(
    new Set(events.filter((e) => e.type === 'listening').map((e) => (e.type === 'listening' ? e.port : 0))),
    new Set([port]),
    'one port for both',
  );
  const done = events.filter((e) => e.type === 'done').map((e) => e.infoHash);
  assert.deepEqual(new Set(done), new Set([a.torrent.infoHashHex, b.torrent.infoHashHex]));
  // B came in through the router: its only connection was the one its seeder dialled.
  const bPeers = events.filter((e) => e.type === 'peer.connected' && e.infoHash === b.torrent.infoHashHex);
  assert.equal(bPeers.length, 1, 'B from the seeder that dialled us');
});

/** A multi-file torrent `name/x.bin` (its data in `data/name/x.bin`). */
async function folderPayload(data: string, name: string): Promise<Payload> {
  await mkdir(join(data, name), { recursive: true });
  const bytes = randomBytes(100_000);
  await writeFile(join(data, name, 'x.bin'), bytes);
  return { bytes, torrent: parseTorrent(await createTorrent(join(data, name), { pieceLength: 32768 })) };
}

test('a torrent whose files cannot be made fails alone: the other completes, done names the one that failed', async (t: TestContext) => {
  const dir = await tempDir(t, 'bitstate-download-many-fail-');
  const a = await payload(join(dir, 'seed'), 'a.bin', 200_000);
  const c = await folderPayload(join(dir, 'seed'), 'c');
  const port = await listeningSeeder(t, a.torrent, join(dir, 'seed'));
  const out = join(dir, 'out');
  await mkdir(out);
  await writeFile(join(out, 'c'), 'a file where the torrent c wants its folder');
  const events: DownloadManyEvent[] = [];
  const job = downloadMany([c.torrent, a.torrent], {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    port: 0,
  });
  t.after(() => job.stop());
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'downloadMany');
  assert.equal(result.result, 'failed');
  assert.ok(result.result === 'failed' && /^c: /.test(result.message), JSON.stringify(result));
  assert.ok((await readFile(join(out, 'a.bin'))).equals(a.bytes), 'a.bin complete');
  const failed = events.filter((e) => e.type === 'torrent.failed');
  assert.deepEqual(
    failed.map((e) => (e.type === 'torrent.failed' ? [e.infoHash, e.left] : [])),
    [[c.torrent.infoHashHex, 1]],
    'c failed while a was still running',
  );
  assert.ok(
    events.some((e) => e.type === 'done' && e.infoHash === a.torrent.infoHashHex),
    'a done',
  );
});

test('the same torrent twice, or two torrents saved under one name: refused before anything starts', async (t) => {
  const dir = await tempDir(t, 'bitstate-download-many-refused-');
  const a = await payload(join(dir, 'one'), 'x.bin', 40_000);
  const b = await payload(join(dir, 'two'), 'x.bin', 40_000);
  for (const [torrents, code] of [
    [[a.torrent, a.torrent], 'duplicateTorrent'],
    [[a.torrent, b.torrent], 'sameName'],
    [[], 'noTorrent'],
  ] as const) {
    const events: DownloadManyEvent[] = [];
    const job = downloadMany(torrents, { out: join(dir, 'out'), trackers: false, port: 0 });
    job.events$.subscribe((e) => events.push(e));
    await assert.rejects(within(60_000, job.done, code), (err: unknown) => {
      assert.ok(err instanceof DownloadManyError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.badInput, true);
      return true;
    });
    assert.deepEqual(events, [], `${code}: nothing started`);
  }
});
