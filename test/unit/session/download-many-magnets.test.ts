/**
 * downloadMany with magnet links among the torrents (src/session/download-many.ts): real seeders
 * (seed(), which serve the metadata, BEP 9) on 127.0.0.1, each reached by the link's x.pe or a
 * --peer. Two links and a .torrent download in one job, each link's events tagged with its
 * info-hash from its first (`metadata.fetching`); a link's torrent named as another's fails alone
 * once its metadata shows it, the other's file untouched — after a .torrent's name (claimed before
 * the start) and between two links (whichever is known first keeps the name); a link with the
 * info-hash of another torrent is refused before anything starts; a link whose metadata never
 * comes fails at its metadata timeout while the others complete; a v1 link's torrent found a hybrid
 * (BEP 52) takes connections naming its v2 info-hash too; with keepSeeding every torrent seeds
 * once complete, serves a downloader, and stop() ends it `complete`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { v2SwarmHash } from '../../../src/metainfo/torrent.js';
import { download } from '../../../src/session/download.js';
import {
  DownloadManyError,
  type DownloadManyEvent,
  downloadMany,
} from '../../../src/session/download-many.js';
import { seed } from '../../../src/session/seed.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

interface Seeded {
  readonly bytes: Buffer;
  readonly torrent: Torrent;
  readonly port: number;
  /** The torrent's magnet link, its seeder named by x.pe. */
  readonly magnet: string;
}

/** `DIR/NAME` of random bytes, its torrent (16 KiB pieces) and a seeder of it on 127.0.0.1. */
async function seeded(t: TestContext, dir: string, name: string, size = 120_000): Promise<Seeded> {
  await mkdir(dir, { recursive: true });
  const bytes = randomBytes(size);
  await writeFile(join(dir, name), bytes);
  const torrent = parseTorrent(await createTorrent(join(dir, name), { pieceLength: 16384 }));
  const port = await listeningSeeder(t, torrent, dir);
  return {
    bytes,
    torrent,
    port,
    magnet: `magnet:?xt=urn:btih:${torrent.infoHashHex}&x.pe=127.0.0.1:${port}`,
  };
}

function collect(job: ReturnType<typeof downloadMany>): DownloadManyEvent[] {
  const events: DownloadManyEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  return events;
}

test('two magnet links and a .torrent in one job: all three downloaded, each link tagged by its info-hash from its first event', async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const b = await seeded(t, join(dir, 'b'), 'b.bin');
  const c = await seeded(t, join(dir, 'c'), 'c.bin', 200_000);
  const out = join(dir, 'out');
  const job = downloadMany([parseMagnet(b.magnet), a.torrent, parseMagnet(c.magnet)], {
    out,
    peers: [{ host: '127.0.0.1', port: a.port }],
    trackers: false,
    port: 0,
  });
  t.after(() => job.stop());
  const events = collect(job);
  const result = await within(60_000, job.done, 'all three');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  for (const s of [a, b, c])
    assert.ok((await readFile(join(out, s.torrent.name))).equals(s.bytes), s.torrent.name);
  const hashes = [a, b, c].map((s) => s.torrent.infoHashHex);
  for (const e of events)
    if (e.type !== 'dht.ready') assert.ok(hashes.includes(e.infoHash ?? ''), `tagged: ${JSON.stringify(e)}`);
  for (const s of [b, c]) {
    const own = events.filter((e) => e.infoHash === s.torrent.infoHashHex).map((e) => e.type);
    assert.equal(own[0], 'metadata.fetching', `${s.torrent.name}: ${own.slice(0, 3).join(', ')}`);
    assert.ok(
      own.indexOf('metadata') > own.indexOf('metadata.progress'),
      'the metadata fetched, then the download',
    );
    assert.ok(own.includes('done'));
  }
  const ports = events.flatMap((e) => (e.type === 'listening' ? [e.port] : []));
  assert.equal(ports.length, 3, 'each listening');
  assert.equal(new Set(ports).size, 1, 'on one port');
});

test("a magnet link whose torrent has a .torrent's name fails alone once its metadata is known, the other's file untouched", async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-name-');
  const x = await seeded(t, join(dir, 'x'), 'same.bin');
  const y = await seeded(t, join(dir, 'y'), 'same.bin');
  const out = join(dir, 'out');
  const job = downloadMany([parseMagnet(y.magnet), x.torrent], {
    out,
    peers: [{ host: '127.0.0.1', port: x.port }],
    trackers: false,
    port: 0,
  });
  t.after(() => job.stop());
  const events = collect(job);
  const result = await within(60_000, job.done, 'downloadMany');
  assert.equal(result.result, 'failed', JSON.stringify(result));
  // Named by its link (no dn=: its info-hash), the name it would have taken being the other's.
  assert.equal(
    result.result === 'failed' ? result.message : '',
    `${y.torrent.infoHashHex}: two torrents are named same.bin: both would be saved in the same place`,
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'torrent.failed').map((e) => e.infoHash),
    [y.torrent.infoHashHex],
  );
  assert.ok(
    !events.some((e) => e.type === 'metadata' && e.infoHash === y.torrent.infoHashHex),
    'y never opened',
  );
  assert.ok((await readFile(join(out, 'same.bin'))).equals(x.bytes), "x's bytes");
});

test('two magnet links whose torrents have one name: the first known keeps it, the other fails alone', async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-two-names-');
  const x = await seeded(t, join(dir, 'x'), 'same.bin');
  const y = await seeded(t, join(dir, 'y'), 'same.bin');
  const out = join(dir, 'out');
  const job = downloadMany([parseMagnet(x.magnet), parseMagnet(y.magnet)], { out, trackers: false, port: 0 });
  t.after(() => job.stop());
  const events = collect(job);
  const result = await within(60_000, job.done, 'downloadMany');
  assert.equal(result.result, 'failed', JSON.stringify(result));
  const failed = events.filter((e) => e.type === 'torrent.failed');
  assert.equal(failed.length, 1, JSON.stringify(failed));
  const winner = failed[0]!.infoHash === x.torrent.infoHashHex ? y : x;
  assert.ok(events.some((e) => e.type === 'done' && e.infoHash === winner.torrent.infoHashHex));
  assert.ok((await readFile(join(out, 'same.bin'))).equals(winner.bytes), "the winner's bytes, whole");
});

test("a magnet link with another torrent's info-hash is refused before anything starts", async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-same-');
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'x.bin'), randomBytes(40_000));
  const x = parseTorrent(await createTorrent(join(dir, 'data', 'x.bin'), { pieceLength: 16384 }));
  const link = parseMagnet(`magnet:?xt=urn:btih:${x.infoHashHex}`);
  for (const sources of [
    [x, link],
    [link, parseMagnet(`magnet:?xt=urn:btih:${x.infoHashHex}&dn=other`)],
  ]) {
    const job = downloadMany(sources, { out: join(dir, 'out'), trackers: false, port: 0 });
    const events = collect(job);
    await assert.rejects(within(60_000, job.done, 'refused'), (err: unknown) => {
      assert.ok(err instanceof DownloadManyError, String(err));
      assert.equal(err.code, 'duplicateTorrent');
      assert.equal(err.badInput, true);
      return true;
    });
    assert.deepEqual(events, [], 'nothing started');
  }
});

test('a magnet link whose metadata never comes fails at its metadata timeout; the .torrent beside it completes', async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-timeout-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const lost = `magnet:?xt=urn:btih:${'cd'.repeat(20)}&dn=lost`;
  const job = downloadMany([a.torrent, parseMagnet(lost)], {
    out: join(dir, 'out'),
    peers: [{ host: '127.0.0.1', port: a.port }],
    trackers: false,
    port: 0,
    metadataTimeoutMs: 1000,
  });
  t.after(() => job.stop());
  const events = collect(job);
  const result = await within(60_000, job.done, 'downloadMany');
  assert.equal(result.result, 'failed', JSON.stringify(result));
  // The single `download MAGNET`'s reason, under the link's name.
  assert.match(
    result.result === 'failed' ? result.message : '',
    new RegExp(`^lost: no metadata for ${'cd'.repeat(20)} within 1 s`),
  );
  assert.ok(
    events.some((e) => e.type === 'metadata.fetching' && e.infoHash === 'cd'.repeat(20)),
    'it was fetched',
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'torrent.failed').map((e) => e.infoHash),
    ['cd'.repeat(20)],
  );
  assert.ok(events.some((e) => e.type === 'done' && e.infoHash === a.torrent.infoHashHex));
  assert.ok((await readFile(join(dir, 'out', 'a.bin'))).equals(a.bytes));
});

test('keepSeeding: every torrent, a magnet link too, seeds once complete and serves a downloader; stop() ends it complete', async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-seed-');
  const a = await seeded(t, join(dir, 'a'), 'a.bin');
  const b = await seeded(t, join(dir, 'b'), 'b.bin');
  const job = downloadMany([a.torrent, parseMagnet(b.magnet)], {
    out: join(dir, 'out'),
    peers: [{ host: '127.0.0.1', port: a.port }],
    trackers: false,
    port: 0,
    keepSeeding: true,
  });
  t.after(() => job.stop());
  const events = collect(job);
  let port = 0;
  const seeding = new Set<string>();
  await within(
    60_000,
    new Promise<void>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === 'listening') port = e.port;
        if (e.type === 'seeding' && e.infoHash !== undefined) seeding.add(e.infoHash);
        if (seeding.size === 2) resolve();
      }),
    ),
    'both seeding',
  );
  // The magnet link's torrent, fetched from us alone, now that its own seeder is not asked.
  const fetcher = download(b.torrent, {
    out: join(dir, 'fetched'),
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port }],
  });
  t.after(() => fetcher.stop());
  assert.equal((await within(60_000, fetcher.done, 'fetched from the seeding job')).result, 'complete');
  assert.ok((await readFile(join(dir, 'fetched', 'b.bin'))).equals(b.bytes));
  assert.ok(!events.some((e) => e.type === 'done'), 'still seeding');
  const result = await within(60_000, job.stop('interrupted'), 'stopped');
  assert.equal(result.result, 'complete', JSON.stringify(result));
});

test("a v1 link's torrent found a hybrid answers its v2 info-hash too: a seeder dialling us in the v2 swarm serves it", async (t) => {
  const dir = await tempDir(t, 'bitstate-many-magnets-hybrid-');
  const data = join(dir, 'data');
  await mkdir(data);
  const bytes = randomBytes(150_000);
  await writeFile(join(data, 'h.bin'), bytes);
  const h = parseTorrent(await createTorrent(join(data, 'h.bin'), { pieceLength: 16384, format: 'hybrid' }));
  const v2 = v2SwarmHash(h);
  assert.ok(v2 !== undefined);
  // The metadata from a peer that has none of the data: the data must come from the v2 dialler.
  const metadataPeer = await startMetadataPeer({ infoHash: h.infoHash, info: h.infoBytes });
  t.after(() => metadataPeer.close());
  const link = `magnet:?xt=urn:btih:${h.infoHashHex}&x.pe=127.0.0.1:${metadataPeer.port}`;
  const job = downloadMany([parseMagnet(link)], { out: join(dir, 'out'), trackers: false, port: 0 });
  t.after(() => job.stop());
  const events = collect(job);
  const known = new Promise<number>((resolve) => {
    let port = 0;
    job.events$.subscribe((e) => {
      if (e.type === 'listening') port = e.port;
      if (e.type === 'listening' && events.some((x) => x.type === 'metadata')) resolve(port);
    });
  });
  const port = await within(60_000, known, 'metadata known, listening');
  const seeder = seed(h, {
    data,
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port }],
    peersSwarm: 'v2',
  });
  t.after(() => seeder.stop());
  const result = await within(60_000, job.done, 'downloaded from the v2 swarm');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.ok((await readFile(join(dir, 'out', 'h.bin'))).equals(bytes));
  assert.ok(
    events.some((e) => e.type === 'peer.connected' && e.infoHash === h.infoHashHex),
    'the seeder connected, by the v2 hash',
  );
});
