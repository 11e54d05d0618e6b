/**
 * BEP 19 web seeds end to end on 127.0.0.1: a real HTTP server (Node's, with Range support)
 * serving the torrent's files, bitstate's download fetching pieces from it by range GETs.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { tempDir, within } from '../../helpers/session.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

test('a single-file torrent completes from a web seed alone, byte for byte, in whole-piece GETs', async (t) => {
  const dir = await tempDir(t, 'bitstate-ws-');
  const payload = payloadBytes(3 * 1024 * 1024 + 12345, 7);
  const www = join(dir, 'www');
  await mkdir(www);
  await writeFile(join(www, 'p.bin'), payload);
  const server = await startWebSeedServer(t, www);
  const torrent = {
    ...makeTorrent('p.bin', [{ path: ['p.bin'], length: payload.length }], 256 * 1024, payload, false),
    urlList: [`${server.url}/p.bin`],
  };
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    listen: false,
    stallTimeoutMs: 15_000,
  });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(30_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.ok(Buffer.from(await readFile(join(dir, 'out', 'p.bin'))).equals(Buffer.from(payload)));
  // Whole pieces or runs of them per GET: at most one GET per piece (13), never one per block (193).
  assert.ok(server.requests.length <= torrent.pieceCount, `${server.requests.length} GETs`);
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.address === torrent.urlList[0]));
});
