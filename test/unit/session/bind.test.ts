/**
 * A session's `bind` (`--bind`, src/net/bind-address.ts) and `extraTrackers` (`--tracker`) end to
 * end on loopback, where 127.0.0.2 is this machine's without setup: the listener and the UDP socket
 * are on the bound address only; a torrent with no tracker finds its seeder through a tracker given
 * as an option, announcing and dialling from the bound address (the tracker and the seeder see
 * 127.0.0.2); web seed GETs come from it; an address not on this machine stops the session before
 * anything is written.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { BindError } from '../../../src/net/bind-address.js';
import { UdpEndpoint } from '../../../src/net/udp-endpoint.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { seed } from '../../../src/session/seed.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';
import { runDownload, sameBytes, singleFile } from '../../helpers/web-seed-files.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';
import { getFreePort } from '../../interop/harness/ports.js';

/** Resolves with how a TCP connect to host:port ends: 'connected' or its error code. */
function dialResult(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('bound to 127.0.0.2, the listener and the UDP socket are on 127.0.0.2 only', async (t) => {
  const dir = await tempDir(t);
  const { torrent } = await randomFileTorrent(dir, { size: 100_000 });
  // Below the ephemeral range, free on TCP and UDP at 127.0.0.1: nobody else's connection or UDP
  // socket is there when the test relies on 127.0.0.1's port being free (harness/ports.ts).
  const free = await getFreePort();
  const job = download(torrent, { out: join(dir, 'out'), trackers: false, port: free, bind: '127.0.0.2' });
  t.after(() => job.stop());
  const port = await within(
    60_000,
    new Promise<number>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === 'listening') resolve(e.port);
      }),
    ),
    'listening',
  );
  assert.equal(port, free);
  assert.equal(await dialResult('127.0.0.2', port), 'connected');
  assert.equal(await dialResult('127.0.0.1', port), 'ECONNREFUSED', 'nothing listens on 127.0.0.1');
  // On 0.0.0.0 the session's UDP socket would hold the port on every address: 127.0.0.1's is free.
  const other = await UdpEndpoint.open({ port, host: '127.0.0.1' });
  await other.close();
  await assert.rejects(UdpEndpoint.open({ port, host: '127.0.0.2' }), /EADDRINUSE/, 'the session holds it');
});

/**
 * A seeder of a new torrent with no tracker, on 127.0.0.1 (its events kept), and a tracker on
 * 127.0.0.1 that names it and notes where each announce came from.
 */
async function seederAndTracker(t: TestContext) {
  const dir = await tempDir(t);
  const { data, bytes, torrent } = await randomFileTorrent(dir, { size: 300_000 });
  assert.equal(torrent.announce, undefined);
  const seeder = seed(torrent, { data, trackers: false, port: 0 });
  t.after(() => seeder.stop());
  const seen: DownloadEvent[] = [];
  const seederPort = await within(
    60_000,
    new Promise<number>((resolve) =>
      seeder.events$.subscribe((e) => {
        seen.push(e);
        if (e.type === 'listening') resolve(e.port);
      }),
    ),
    'seeder listening',
  );
  const announcedFrom: string[] = [];
  const peer = Buffer.from([127, 0, 0, 1, seederPort >> 8, seederPort & 0xff]);
  const tracker = createServer((req, res) => {
    announcedFrom.push(req.socket.remoteAddress ?? '');
    res.end(bencode({ interval: 1800, peers: peer }));
  });
  tracker.listen(0, '127.0.0.1');
  await once(tracker, 'listening');
  t.after(() => {
    tracker.closeAllConnections();
    tracker.close();
  });
  const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`;
  /** The addresses the seeder's connections came from. */
  const dialledFrom = () =>
    seen.flatMap((e) => (e.type === 'peer.connected' ? [e.address.split(':')[0]] : []));
  return { dir, bytes, torrent, url, announcedFrom, dialledFrom };
}

test('a torrent with no tracker downloads through extraTrackers, announcing and dialling from the bound address', async (t) => {
  const { dir, bytes, torrent, url, announcedFrom, dialledFrom } = await seederAndTracker(t);
  const out = join(dir, 'out');
  const job = download(torrent, { out, port: 0, extraTrackers: [url], bind: '127.0.0.2' });
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(out, torrent.name), bytes);
  assert.ok(announcedFrom.length > 0, 'the tracker was asked');
  assert.deepEqual(new Set(announcedFrom), new Set(['127.0.0.2']));
  assert.deepEqual(dialledFrom(), ['127.0.0.2'], 'the seeder saw our connection come from 127.0.0.2');
});

test("a magnet link's metadata fetch and download go through extraTrackers from the bound address too", async (t) => {
  const { dir, bytes, torrent, url, announcedFrom, dialledFrom } = await seederAndTracker(t);
  const out = join(dir, 'out');
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`);
  const job = downloadMagnet(magnet, { out, port: 0, extraTrackers: [url], bind: '127.0.0.2' });
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  await sameBytes(join(out, torrent.name), bytes);
  assert.deepEqual(new Set(announcedFrom), new Set(['127.0.0.2']));
  const from = dialledFrom();
  assert.ok(from.length >= 2, `the fetch's connection and the download's: ${from.join(', ')}`);
  assert.deepEqual(new Set(from), new Set(['127.0.0.2']));
});

test('web seed GETs come from the bound address', async (t) => {
  const f = await singleFile(t, 600_000);
  const from = new Set<string>();
  const server = await startWebSeedServer(t, f.www, (req) => {
    from.add(req.socket.remoteAddress ?? '');
    return false;
  });
  const torrent = { ...f.torrent, urlList: [`${server.url}/p.bin`] };
  const { result } = await runDownload(t, torrent, f.out, { bind: '127.0.0.2' });
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual([...from], ['127.0.0.2']);
});

test('an address not on this machine: a BindError before anything is written', async (t) => {
  const dir = await tempDir(t);
  const { torrent } = await randomFileTorrent(dir, { size: 50_000 });
  const out = join(dir, 'out');
  const job = download(torrent, { out, trackers: false, port: 0, bind: '192.0.2.1' });
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  await assert.rejects(
    within(60_000, job.done, 'download'),
    (e: unknown) => e instanceof BindError && e.code === 'notLocal',
  );
  assert.equal(existsSync(out), false, 'no output folder');
  assert.deepEqual(events, []);
});

test('LSD follows the bound address when no interface is named: loopback only for 127.0.0.2', async (t) => {
  const dir = await tempDir(t);
  const { torrent } = await randomFileTorrent(dir, { size: 50_000 });
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    bind: '127.0.0.2',
    lsd: {},
  });
  t.after(() => job.stop());
  const ready = await within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === 'lsd.ready') resolve(e);
      }),
    ),
    'lsd.ready',
  );
  // Unbound, LSD runs on every IPv4 interface but loopback (src/lsd/lsd-interfaces.ts).
  assert.deepEqual(ready.type === 'lsd.ready' ? ready.interfaces : undefined, ['127.0.0.1']);
});
