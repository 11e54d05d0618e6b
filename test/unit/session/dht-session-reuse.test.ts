/**
 * A session's DHT over time and across a magnet's two stages, against DHT nodes on 127.0.0.1:
 * a seed looks up and announces again every `reannounceMs` (15 min by default), a magnet's fetch
 * looks up again every 30 s (its `reannounceMs`), and a magnet download runs one node for the
 * metadata fetch and the download after it (one bootstrap, one UDP port), closed at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDht } from '../../../src/dht/dht.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import type { DhtEvent, DownloadEvent, MetadataFetchEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { fetchMetadata, MetadataFetchError } from '../../../src/session/fetch-metadata.js';
import { seed } from '../../../src/session/seed.js';
import { dhtRouter, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

/** Resolves once `count` events pass `pick`. */
function nth<E>(
  subscribe: (f: (e: E) => void) => void,
  pick: (e: E) => boolean,
  count: number,
): Promise<E[]> {
  const seen: E[] = [];
  return new Promise((resolve) =>
    subscribe((e) => {
      if (!pick(e)) return;
      seen.push(e);
      if (seen.length === count) resolve(seen);
    }),
  );
}

test('a seed looks up and announces again every reannounceMs', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-again-');
  const { dht } = await dhtRouter(t);
  const { data, torrent } = await randomFileTorrent(dir, { size: 200000 });
  const seeder = seed(torrent, {
    data,
    trackers: false,
    port: 0,
    dht: { ...dht, reannounceMs: 20 },
  });
  t.after(() => seeder.stop());
  const lookups = await within(
    60_000,
    nth<DownloadEvent>(
      (f) => seeder.events$.subscribe(f),
      (e) => e.type === 'dht.peers',
      3,
    ),
    'three lookups',
  );
  for (const e of lookups) assert.ok(e.type === 'dht.peers' && e.announced === 1, JSON.stringify(e));
});

test("a magnet's fetch looks up again every reannounceMs while no peer has the metadata", async (t) => {
  const { dht } = await dhtRouter(t);
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}`);
  const stop = new AbortController();
  let onEvent: (e: MetadataFetchEvent | DhtEvent) => void = () => {};
  const lookups = nth<MetadataFetchEvent | DhtEvent>(
    (f) => {
      onEvent = f;
    },
    (e) => e.type === 'dht.peers',
    3,
  );
  const fetched = fetchMetadata(magnet, {
    peerId: new Uint8Array(20).fill(1),
    trackers: false,
    dht,
    reannounceMs: 20,
    signal: stop.signal,
    emit: (e) => onEvent(e),
  });
  await within(60_000, lookups, 'three lookups');
  stop.abort();
  await assert.rejects(fetched, (err) => err instanceof MetadataFetchError && err.code === 'stopped');
});

test("a magnet download hands the fetch's DHT node to the download: one node, one port, closed at the end", async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-handover-');
  const { router, dht } = await dhtRouter(t);
  const { data, bytes, torrent } = await randomFileTorrent(dir, { size: 200000 });
  const seeder = seed(torrent, { data, trackers: false, port: 0, dht });
  t.after(() => seeder.stop());
  await within(
    60_000,
    nth<DownloadEvent>(
      (f) => seeder.events$.subscribe(f),
      (e) => e.type === 'dht.peers',
      1,
    ),
    'the seed announced',
  );
  const out = join(dir, 'out');
  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out,
    trackers: false,
    port: 0,
    dht,
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(await readFile(join(out, torrent.name)), bytes);
  const fetched = events.findIndex((e) => e.type === 'metadata.fetched');
  const ready = events.filter((e) => e.type === 'dht.ready');
  assert.ok(fetched > 0 && ready.length >= 1, JSON.stringify(events.map((e) => e.type)));
  const ports = new Set(ready.map((e) => (e.type === 'dht.ready' ? e.port : -1)));
  assert.equal(ports.size, 1, `one UDP port for the fetch and the download: ${[...ports].join(', ')}`);
  // The router heard one bootstrap from the downloader: a find_node for its own id, from one port
  // (the seed's and the downloader's are the two nodes it ever took).
  for (let i = 0; i < 100 && router.node.table.size < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(router.node.table.size, 2);
  // Closed at the end: a datagram to that port now goes unanswered.
  const [port] = ports;
  const probe = await startDht({ port: 0, bootstrap: [], queryTimeoutMs: 100 });
  t.after(() => probe.close());
  assert.equal(
    await probe.node.query({ host: '127.0.0.1', port: port! }, { q: 'ping', id: probe.node.id }),
    undefined,
  );
});
