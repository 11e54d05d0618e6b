/**
 * download() / seed() with the DHT (src/session/dht-announces.ts): a seed announces its listening
 * port through a DHT node on 127.0.0.1 and a download of the same torrent finds it there and
 * completes with no other peer source; a private torrent (BEP 27) never touches the DHT.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { dhtRouter, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

test('a seed announces in the DHT and a download finds it there, with no other peer source', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-session-');
  const { router, dht } = await dhtRouter(t);
  const { data, bytes, torrent } = await randomFileTorrent(dir, { size: 300000 });
  const seeder = seed(torrent, { data, trackers: false, port: 0, dht });
  t.after(() => seeder.stop());
  const seedEvents: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => seedEvents.push(e));
  const announced = await within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      seeder.events$.subscribe((e) => e.type === 'dht.peers' && resolve(e)),
    ),
    'the seed announced',
  );
  assert.ok(announced.type === 'dht.peers' && announced.announced === 1, JSON.stringify(announced));
  const listening = seedEvents.find((e) => e.type === 'listening');
  const ready = seedEvents.find((e) => e.type === 'dht.ready');
  assert.ok(listening?.type === 'listening' && ready?.type === 'dht.ready');
  assert.equal(ready.port, listening.port, "the DHT's UDP port is the TCP listening port's number");
  assert.deepEqual(
    router.node.store.peers(torrent.infoHashHex, performance.now()).map((p) => p.port),
    [listening.port],
  );

  const out = join(dir, 'out');
  const job = download(torrent, { out, trackers: false, port: 0, dht });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(await readFile(join(out, torrent.name)), bytes);
  assert.ok(events.some((e) => e.type === 'dht.ready'));
});

test('a private torrent (BEP 27) never asks the DHT: no datagram reaches the router', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-private-');
  const { router, dht } = await dhtRouter(t);
  const { data, torrent } = await randomFileTorrent(dir, { size: 300000, private: true });
  assert.equal(torrent.private, true);
  const seeder = seed(torrent, { data, trackers: false, port: 0, dht });
  const events: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => events.push(e));
  await within(
    60_000,
    new Promise<void>((resolve) => seeder.events$.subscribe((e) => e.type === 'listening' && resolve())),
    'listening',
  );
  // A non-private seed started after it reaches the router: the private one would have by then.
  const open = await randomFileTorrent(join(dir, 'open'), { size: 300_000 });
  const other = seed(open.torrent, { data: open.data, trackers: false, port: 0, dht });
  await within(
    60_000,
    new Promise<void>((resolve) => other.events$.subscribe((e) => e.type === 'dht.peers' && resolve())),
    'the other seed announced',
  );
  await other.stop();
  await seeder.stop();
  assert.ok(!events.some((e) => e.type.startsWith('dht.')), 'no dht event');
  assert.equal(router.node.store.torrentCount, 1, 'only the public torrent was announced');
  assert.equal(router.node.table.size, 1, 'one node asked the router: the public seed');
});
