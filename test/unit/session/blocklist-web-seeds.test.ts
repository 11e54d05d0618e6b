/**
 * The IP filter on web seeds (BEP 19), as libtorrent filters them (2.0.8 on 127.0.0.1: a url seed
 * on a blocked address gets no request, a peer_blocked alert each try): a web seed at a blocked
 * address, or named by a host name resolving only to blocked ones, is never contacted — its server
 * accepts no connection — and fails `blocked` (a `webSeed.failed`); the download finishes from a
 * peer at an allowed address. Loopback: every 127.x.y.z is local.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';

test('web seeds at a blocked address, or by a name resolving to one, are never contacted', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-webseeds-');
  const { torrent: base, data, bytes } = await randomFileTorrent(dir, { size: 200_000 });
  // The web seed serves the file on 127.0.0.1, blocked; the seeder is dialled at 127.0.0.2.
  const server = await startWebSeedServer(t, data);
  const urls = [`${server.url}/file.bin`, `http://localhost:${server.port}/file.bin`];
  const torrent = { ...base, urlList: urls };
  const seedPort = await listeningSeeder(t, torrent, data);
  const events: DownloadEvent[] = [];
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    utp: 'off',
    blocklist: IpRangeSet.fromRanges([ipv4Number('127.0.0.1')!], [ipv4Number('127.0.0.1')!]),
    peers: [{ host: '127.0.0.2', port: seedPort }],
  });
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  assert.equal((await within(60_000, job.done, 'download')).result, 'complete');
  assert.deepEqual(await readFile(join(dir, 'out', torrent.name)), bytes);
  assert.equal(server.connectionCount(), 0, 'the web seed server never had a connection');
  for (const url of urls) {
    const failed = events.find((e) => e.type === 'webSeed.failed' && e.url === url);
    assert.match(
      (failed as { message?: string } | undefined)?.message ?? '',
      /is blocked by the IP filter/,
      url,
    );
  }
});
