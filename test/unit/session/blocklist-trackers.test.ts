/**
 * The IP filter on a download's trackers, end to end on loopback (every 127.x.y.z is local): the
 * torrent's first tiers name an http and a udp tracker on 127.0.0.2, blocked, the last an http
 * one on 127.0.0.1 that names the seeder. The blocked trackers' servers count no request, each is
 * a failed `tracker.announce` saying it is blocked, the tiers move on, and the download finishes
 * from the peer the allowed tracker named (libtorrent's apply_ip_filter_to_trackers).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import { startFakeUdpTracker } from '../tracker/fake-udp-tracker.js';

/** An HTTP tracker on `host` naming 127.0.0.1:`seederPort()` in every answer; counts its requests. */
async function httpTracker(t: TestContext, host: string, seederPort: () => number) {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    const port = seederPort();
    const peers = Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]);
    res.end(Buffer.concat([Buffer.from('d8:intervali1800e5:peers6:'), peers, Buffer.from('e')]));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/announce`,
    requests: () => requests,
  };
}

test('trackers at a blocked address are never contacted; the tiers move on and the download finishes', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-trackers-');
  let seederPort = 0;
  const blockedHttp = await httpTracker(t, '127.0.0.2', () => seederPort);
  const blockedUdp = await startFakeUdpTracker({ peers: [], host: '127.0.0.2' });
  t.after(() => blockedUdp.close());
  const allowed = await httpTracker(t, '127.0.0.1', () => seederPort);
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const bytes = randomBytes(100_000);
  await writeFile(join(data, 'file.bin'), bytes);
  const torrent = parseTorrent(
    await createTorrent(join(data, 'file.bin'), {
      pieceLength: 32768,
      announceList: [[blockedHttp.url], [blockedUdp.url], [allowed.url]],
    }),
  );
  seederPort = await listeningSeeder(t, torrent, data);

  const events: DownloadEvent[] = [];
  const job = download(torrent, {
    out: join(dir, 'out'),
    port: 0,
    utp: 'off',
    blocklist: IpRangeSet.fromRanges([ipv4Number('127.0.0.2')!], [ipv4Number('127.0.0.2')!]),
  });
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  assert.equal((await within(60_000, job.done, 'download')).result, 'complete');
  assert.deepEqual(await readFile(join(dir, 'out', torrent.name)), bytes);

  assert.equal(blockedHttp.requests(), 0);
  assert.equal(blockedUdp.received.length, 0);
  assert.ok(allowed.requests() > 0);
  const failed = events.flatMap((e) => (e.type === 'tracker.announce' && !e.ok ? [e] : []));
  for (const url of [blockedHttp.url, blockedUdp.url]) {
    const e = failed.find((f) => f.url === url);
    assert.match(e?.error ?? '', /blocked by the IP filter/, url);
  }
});
