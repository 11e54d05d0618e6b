/**
 * BEP 19 web seeds beside a real client: bitstate downloads a torrent whose url-list is a Node
 * HTTP server with Range support on 127.0.0.1 and whose peer is a python3-libtorrent seeder
 * (rate-limited, so both sources give pieces); and libtorrent itself, given the same .torrent and
 * only the web seed, completes from the test server — the server is a web seed as libtorrent
 * understands one, not only as bitstate does. Every process and server is stopped by the test.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { download } from '../../src/session/download.js';
import type { DownloadEvent } from '../../src/session/download-event.js';
import { tempDir, within } from '../helpers/session.js';
import { startWebSeedServer } from '../helpers/web-seed-server.js';
import { payloadBytes } from '../unit/storage/make-torrent.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';

const SIZE = 6 * 1024 * 1024 + 777;

async function setup(t: Parameters<typeof tempDir>[0], bytesPerSecond?: number) {
  const dir = await tempDir(t, 'bitstate-ws-lt-');
  const payload = payloadBytes(SIZE, 21);
  for (const d of ['www', 'seed']) {
    await mkdir(join(dir, d));
    await writeFile(join(dir, d, 'w.bin'), payload);
  }
  const server = await startWebSeedServer(t, join(dir, 'www'), undefined, bytesPerSecond);
  const url = `${server.url}/w.bin`;
  const withSeed = await createTorrent(join(dir, 'www', 'w.bin'), {
    pieceLength: 256 * 1024,
    urlList: [url],
  });
  const file = join(dir, 'w.torrent');
  await writeFile(file, withSeed);
  return { dir, payload, server, url, file, torrent: parseTorrent(withSeed) };
}

test('bitstate: a web seed beside a libtorrent seeder, both give pieces, byte for byte', async (t) => {
  // Both sources paced at ~2 MiB/s, so neither finishes the 6 MiB alone before the other starts.
  const s = await setup(t, 2 << 20);
  const seeder = await startLibtorrentSeeder({
    torrent: s.file,
    dataDir: join(s.dir, 'seed'),
    trackerOff: true,
    uploadLimit: 2 << 20,
    timeoutMs: 120_000,
  });
  t.after(() => seeder.stop());
  const out = join(s.dir, 'out');
  const job = download(s.torrent, {
    out,
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port: seeder.port }],
    stallTimeoutMs: 20_000,
    // The server paces each connection: one GET at a time keeps the web seed at ~2 MiB/s.
    webSeedConnections: 1,
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(90_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.ok(Buffer.from(await readFile(join(out, 'w.bin'))).equals(Buffer.from(s.payload)));
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seeder.port}`));
  assert.ok(s.server.requests.length > 0, 'the web seed was asked');
  const fromWeb = s.server.requests.reduce((n, r) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
    return n + (m === null ? 0 : Number(m[2]) - Number(m[1]) + 1);
  }, 0);
  t.diagnostic(`asked of the web seed: ${fromWeb} of ${SIZE} bytes, in ${s.server.requests.length} GETs`);
  assert.ok(fromWeb < SIZE, 'the rest came from libtorrent');
});

test('libtorrent completes the same torrent from the test web seed alone', async (t) => {
  const s = await setup(t);
  const out = join(s.dir, 'lt-out');
  await mkdir(out);
  await libtorrentDownload({ torrent: s.file, outDir: out, trackerOff: true, timeoutMs: 90_000 });
  assert.ok(Buffer.from(await readFile(join(out, 'w.bin'))).equals(Buffer.from(s.payload)));
  assert.ok(s.server.requests.length > 0);
});
