/**
 * BEP 19 web seeds end to end on 127.0.0.1: a real HTTP server (Node's, with Range support:
 * test/helpers/web-seed-server.ts) serving the torrent's files, bitstate's download fetching pieces
 * from it by range GETs — alone, beside a bitstate seeder, and against servers that fail or lie.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import type { DownloadOptions } from '../../../src/session/download-options.js';
import { seed } from '../../../src/session/seed.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';
import { runDownload, sameBytes, singleFile, WEB_SEED_PIECE } from '../../helpers/web-seed-files.js';
import { type Behave, startWebSeedServer } from '../../helpers/web-seed-server.js';
import { type FileSpec, makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = WEB_SEED_PIECE;
const run = runDownload;

test('a single-file torrent completes from a web seed alone, byte for byte, in whole-piece GETs', async (t) => {
  const f = await singleFile(t, 3 * 1024 * 1024 + 12345);
  const server = await startWebSeedServer(t, f.www);
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  // One GET at a time, so that each takes every queued block continuing its run (with several
  // in flight, a run is shared among them: web-seed-requests.ts).
  const { result, events } = await run(t, torrent, f.out, { webSeedConnections: 1 });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  // Whole pieces or runs of them per GET: at most one GET per piece (13), never one per block (193).
  assert.ok(server.requests.length <= torrent.pieceCount, `${server.requests.length} GETs`);
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.address === torrent.urlList[0]));
});

test('a multi-file torrent (names to percent-encode, pieces straddling files, padding) completes from a web seed alone', async (t) => {
  const dir = await tempDir(t, 'bitstate-ws-');
  const specs: FileSpec[] = [
    { path: ['CD 1', 'a b#1?.bin'], length: 300_001 },
    { path: ['tiny%.txt'], length: 7 },
    { path: ['empty'], length: 0 },
    { path: ['.pad', '1'], length: 1000, padding: true },
    { path: ['CD 2', 'é.bin'], length: 700_000 },
  ];
  const payload = payloadBytes(1_001_008, 5);
  payload.fill(0, 300_008, 301_008); // the padding file's zeros
  const name = 'My Album';
  // Written one by one at their offsets (a padding file is not on the server).
  let at = 0;
  for (const s of specs) {
    if (!s.padding) {
      const path = join(dir, 'www', name, ...s.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, payload.subarray(at, at + s.length));
    }
    at += s.length;
  }
  const server = await startWebSeedServer(t, join(dir, 'www'));
  const torrent = { ...makeTorrent(name, specs, 64 * 1024, payload, true), urlList: [server.url] };
  const out = join(dir, 'out');
  const { result } = await run(t, torrent, out);
  assert.equal(result.result, 'complete', JSON.stringify(result));
  at = 0;
  for (const s of specs) {
    if (!s.padding) await sameBytes(join(out, name, ...s.path), payload.subarray(at, at + s.length));
    at += s.length;
  }
  assert.ok(
    server.requests.every((r) => !r.path.includes('.pad')),
    'padding never asked of the server',
  );
  assert.ok(server.requests.some((r) => r.path === `/${name}/CD 1/a b#1?.bin`));
});

test('a web seed beside a bitstate seeder: both give pieces, the download completes', async (t) => {
  const f = await singleFile(t, 8 * 1024 * 1024);
  const server = await startWebSeedServer(t, f.www);
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  const port = await listeningSeeder(t, f.torrent, f.seed);
  const { result, events } = await run(t, torrent, f.out, { peers: [{ host: '127.0.0.1', port }] });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.ok(server.requests.length > 0, 'the web seed was asked');
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${port}`));
});

test("a magnet's ws= web seed (BEP 19) is used once the metadata is fetched from a peer", async (t) => {
  const f = await singleFile(t, 8 * 1024 * 1024);
  // A torrent with its info dictionary's bytes, which the seeder serves (BEP 9).
  const torrent = parseTorrent(await createTorrent(join(f.seed, 'p.bin'), { pieceLength: PIECE }));
  const server = await startWebSeedServer(t, f.www);
  const url = `${server.url}/p.bin`;
  const port = await listeningSeeder(t, torrent, f.seed);
  const magnet = parseMagnet(
    `magnet:?xt=urn:btih:${torrent.infoHashHex}&x.pe=127.0.0.1:${port}&ws=${encodeURIComponent(url)}`,
  );
  const job = downloadMagnet(magnet, { out: f.out, trackers: false, listen: false, stallTimeoutMs: 20_000 });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.ok(
    events.some((e) => e.type === 'peer.connected' && e.address === url),
    'the web seed connected',
  );
  assert.ok(server.requests.length > 0, 'the web seed was asked');
});

test('webSeeds: false: the url-list is never asked', async (t) => {
  const f = await singleFile(t, 512 * 1024);
  const server = await startWebSeedServer(t, f.www);
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  const port = await listeningSeeder(t, f.torrent, f.seed);
  const { result } = await run(t, torrent, f.out, { peers: [{ host: '127.0.0.1', port }], webSeeds: false });
  assert.equal(result.result, 'complete');
  assert.equal(server.requests.length, 0);
});

/**
 * A download of a 4 MiB torrent from a hostile web seed (`behave`), then from an honest bitstate
 * seeder that dials in once the web seed has been found out (`until`, by default its first
 * webSeed.failed; at once when null): the order is the test's, not the machine's speed.
 */
async function besideSeeder(
  t: TestContext,
  behave: Behave,
  options: Partial<DownloadOptions> = {},
  www?: (dir: string) => Promise<void>,
  until: ((e: DownloadEvent) => boolean) | null = (e) => e.type === 'webSeed.failed',
) {
  const f = await singleFile(t, 4 * 1024 * 1024);
  if (www !== undefined) await www(f.www);
  const server = await startWebSeedServer(t, f.www, behave);
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  const job = download(torrent, { out: f.out, trackers: false, port: 0, stallTimeoutMs: 20_000, ...options });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  let port: number | undefined;
  let seeding = false;
  const seedNow = () => {
    if (seeding || port === undefined) return;
    seeding = true;
    const seeder = seed(f.torrent, {
      data: f.seed,
      trackers: false,
      listen: false,
      peers: [{ host: '127.0.0.1', port }],
    });
    t.after(() => seeder.stop());
  };
  job.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'listening') {
      port = e.port;
      if (until === null) seedNow();
    } else if (until?.(e) === true) seedNow();
  });
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  const failed = events.filter((e) => e.type === 'webSeed.failed');
  return { server, events, failed, url: torrent.urlList[0]! };
}

test('wrong bytes: the piece fails its hash, the web seed is banned, the download completes from the peer', async (t) => {
  const { server, events, url } = await besideSeeder(
    t,
    () => false,
    {},
    async (www) => {
      const bad = payloadBytes(4 * 1024 * 1024, 99); // same length, other bytes
      await writeFile(join(www, 'p.bin'), bad);
    },
    (e) => e.type === 'peer.banned',
  );
  assert.ok(events.some((e) => e.type === 'piece.failed'));
  assert.ok(events.some((e) => e.type === 'peer.banned' && e.address === url));
  assert.ok(server.requests.length >= 1);
});

test('an endless body (206, right Content-Range, no length) fails the seed at the first byte past the range; memory stays bounded', async (t) => {
  let written = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  t.after(() => clearInterval(sampler));
  const startRss = process.memoryUsage().rss;
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const { failed, server } = await besideSeeder(t, (req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    res.writeHead(206, { 'content-range': `bytes ${m[1]}-${m[2]}/${4 * 1024 * 1024}` });
    const pump = () => {
      while (!res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) break;
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => {});
    pump();
    return true;
  });
  clearInterval(sampler);
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.match(
    failed[0]!.type === 'webSeed.failed' ? (failed[0]!.message ?? '') : '',
    /more than the \d+ bytes asked/,
  );
  assert.equal(server.requests.length, 1, 'not retried before its back-off');
  // What the server could push before we hung up: the range, a chunk, and the socket buffers.
  assert.ok(written < 16 * 1024 * 1024, `server wrote ${written} bytes`);
  t.diagnostic(
    `endless body: server wrote ${(written / 1e6).toFixed(1)} MB; RSS ${(startRss / 1e6).toFixed(0)} → peak ${(peakRss / 1e6).toFixed(0)} MB`,
  );
  assert.ok(peakRss - startRss < 150e6, `RSS grew ${((peakRss - startRss) / 1e6).toFixed(0)} MB`);
});

test('a server that ignores Range (200 with the whole file) fails the seed; never read whole', async (t) => {
  const { failed } = await besideSeeder(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 4 * 1024 * 1024 });
    res.end(Buffer.alloc(4 * 1024 * 1024));
    return true;
  });
  assert.equal(failed.length, 1);
  assert.match(JSON.stringify(failed[0]), /Range ignored/);
});

test('404: the seed fails, is retried only after its back-off, the download completes from the peer', async (t) => {
  const { failed, server } = await besideSeeder(t, (_req, res) => {
    res.writeHead(404).end();
    return true;
  });
  assert.equal(failed.length, 1);
  const f = failed[0]!;
  assert.ok(
    f.type === 'webSeed.failed' && f.message?.includes('HTTP 404') && f.retryInMs === 60_000,
    JSON.stringify(f),
  );
  assert.equal(server.requests.length, 1);
});

test("503 with Retry-After: 600: the seed waits the server's 10 minutes, not our 60 s", async (t) => {
  const { failed, server } = await besideSeeder(t, (_req, res) => {
    res.writeHead(503, { 'retry-after': '600' }).end();
    return true;
  });
  assert.equal(failed.length, 1);
  const f = failed[0]!;
  assert.ok(f.type === 'webSeed.failed' && f.retryInMs === 600_000, JSON.stringify(f));
  assert.equal(server.requests.length, 1);
});

test('a silent web seed does not hold the download: it completes from the peer', async (t) => {
  const held: import('node:http').ServerResponse[] = [];
  t.after(() => {
    for (const r of held) r.destroy();
  });
  await besideSeeder(
    t,
    (_req, res) => {
      held.push(res);
      return true; // never answers
    },
    {},
    undefined,
    null,
  );
});

test('a redirect loop ends after 5 redirects; a redirect to another scheme is refused', async (t) => {
  const { failed, server } = await besideSeeder(t, (req, res) => {
    res.writeHead(302, { location: req.url }).end();
    return true;
  });
  assert.equal(failed.length, 1);
  assert.match(JSON.stringify(failed[0]), /more than 5 redirects/);
  assert.equal(server.requests.length, 6);
  const { failed: ftp } = await besideSeeder(t, (_req, res) => {
    res.writeHead(301, { location: 'ftp://127.0.0.1/p.bin' }).end();
    return true;
  });
  assert.match(JSON.stringify(ftp[0]), /redirect to ftp: refused/);
});

test('a redirect to the file elsewhere is followed', async (t) => {
  const f = await singleFile(t, 1024 * 1024);
  const real = await startWebSeedServer(t, f.www);
  const mover = await startWebSeedServer(t, f.www, (req, res) => {
    res.writeHead(307, { location: `${real.url}${req.url}` }).end();
    return true;
  });
  const torrent = { ...f.torrent, urlList: [`${mover.url}/p.bin`] };
  const { result } = await run(t, torrent, f.out);
  assert.equal(result.result, 'complete');
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.ok(real.requests.length > 0);
});

test('a redirect with an endless body is not drained: the file it points to is fetched, and the download completes', async (t) => {
  const f = await singleFile(t, 1024 * 1024);
  let redirectBytes = 0;
  const server = await startWebSeedServer(t, f.www, (req, res) => {
    if (!req.url?.startsWith('/moved')) return false;
    // 302 to the file on this same server, then a body that never ends (no length: chunked).
    res.writeHead(302, { location: req.url.slice('/moved'.length) });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const more = () => {
      while (!res.destroyed && res.write(chunk)) redirectBytes += chunk.length;
    };
    res.on('drain', more);
    more();
    return true;
  });
  const torrent = { ...f.torrent, urlList: [`${server.url}/moved/p.bin`] };
  const { result, events } = await run(t, torrent, f.out);
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  assert.equal(events.filter((e) => e.type === 'webSeed.failed').length, 0);
  assert.ok(server.requests.some((r) => r.path === '/p.bin'));
  assert.ok(redirectBytes < 64 * 1024 * 1024, `${redirectBytes} bytes of redirect bodies`);
});

test('--max-down holds for a web seed too (the bucket the peers share)', async (t) => {
  // An upper bound on the rate only: a loaded machine can make the download slower, never faster.
  const f = await singleFile(t, 2 * 1024 * 1024);
  const server = await startWebSeedServer(t, f.www);
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  const limit = 1024 * 1024;
  const { result, events } = await run(t, torrent, f.out, { maxDownloadRate: limit });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(f.out, 'p.bin'), f.payload);
  const done = events.find((e) => e.type === 'done');
  assert.ok(done?.type === 'done');
  t.diagnostic(`2 MiB at --max-down 1 MiB/s: ${(done.averageRate / 1024 / 1024).toFixed(2)} MiB/s`);
  assert.ok(done.averageRate < 1.5 * limit, `${done.averageRate} B/s`);
});

test('a gzip body is refused from its head (its length would not be the range’s)', async (t) => {
  const { failed, server } = await besideSeeder(t, (req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    res.writeHead(206, {
      'content-range': `bytes ${m[1]}-${m[2]}/${4 * 1024 * 1024}`,
      'content-encoding': 'gzip',
    });
    res.end(Buffer.alloc(100));
    return true;
  });
  assert.equal(failed.length, 1);
  assert.match(JSON.stringify(failed[0]), /Content-Encoding gzip/);
  assert.equal(server.requests.length, 1);
});
