/**
 * The IP filter under a proxy (docs/blocklist.md, docs/proxy.md "DNS"): under `socks5://` a name is
 * looked up here, so its addresses go through the filter as without a proxy (filtered-lookup.ts) -
 * a peer named `localhost` (127.0.0.1, blocked) is a `peer.blocked` and an http tracker or web seed
 * so named fails `blocked`, the proxy asked for nothing. Under `socks5h://` the proxy resolves the
 * name and the filter cannot see it: the name is sent, as libtorrent sends it. The SOCKS5 proxy in
 * the test notes every target asked of it; a peer's tunnel it refuses (REP 5).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { ProxyDialer } from '../../../src/net/proxy-dialer.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { announceAny } from '../../../src/tracker/announce-any.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import { socks5Server } from '../../helpers/socks5-server.js';
import { startWebSeedServer } from '../../helpers/web-seed-server.js';

const only = (host: string) => IpRangeSet.fromRanges([ipv4Number(host)!], [ipv4Number(host)!]);

/** The events of a download through `scheme` from one peer named `localhost`, until its dial closed. */
async function namedPeer(t: TestContext, scheme: 'socks5' | 'socks5h') {
  const proxy = await socks5Server(t, { reply: 5 });
  const dir = await tempDir(t, 'bitstate-proxy-blocklist-');
  const { torrent } = await randomFileTorrent(dir, { size: 40_000 });
  const job = download(torrent, {
    out: dir,
    trackers: false,
    listen: false,
    peers: [{ host: 'localhost', port: 1 }],
    blocklist: only('127.0.0.1'),
    proxy: parseProxyUrl(`${scheme}://127.0.0.1:${proxy.port}`),
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  await within(
    60_000,
    new Promise<void>((resolve) =>
      job.events$.subscribe((e) => {
        events.push(e);
        if (e.type === 'peer.closed') resolve();
      }),
    ),
    'the dial closed',
  );
  return { events, targets: proxy.targets };
}

test('socks5://: a peer named by a blocked address is peer.blocked, never asked of the proxy', async (t) => {
  const { events, targets } = await namedPeer(t, 'socks5');
  assert.deepEqual(targets, []);
  assert.deepEqual(
    events.filter((e) => e.type === 'peer.blocked'),
    [{ type: 'peer.blocked', address: 'localhost:1', source: 'peer', blocked: 1 }],
  );
  // The filter's refusal, not the proxy's failure.
  assert.deepEqual(
    events.filter((e) => e.type === 'proxy.failed'),
    [],
  );
});

test('socks5h://: the name goes to the proxy, which the filter cannot see', async (t) => {
  const { events, targets } = await namedPeer(t, 'socks5h');
  assert.deepEqual(targets, ['localhost:1']);
  assert.equal(events.filter((e) => e.type === 'peer.blocked').length, 0);
});

test('socks5://: an http tracker named by a blocked address is never asked of the proxy', async (t) => {
  let requests = 0;
  const tracker = createServer((_req, res) => {
    requests++;
    res.end('d8:intervali1800e5:peers0:e');
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  t.after(() => {
    tracker.closeAllConnections();
    tracker.close();
  });
  const proxy = await socks5Server(t);
  const dialer = new ProxyDialer(parseProxyUrl(`socks5://127.0.0.1:${proxy.port}`));
  const port = (tracker.address() as AddressInfo).port;
  const url = `http://localhost:${port}/announce`;
  const params = {
    infoHash: new Uint8Array(20).fill(1),
    peerId: new Uint8Array(20).fill(2),
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 100,
    event: 'started' as const,
    numwant: 50,
  };
  await assert.rejects(
    announceAny(url, params, { proxy: dialer, blocklist: only('127.0.0.1') }),
    (e) => e instanceof TrackerError && e.code === 'blocked' && /IP filter/.test(e.message),
  );
  assert.deepEqual(proxy.targets, []);
  assert.equal(requests, 0);
  // The same tracker through the same proxy, its address not blocked: asked, by address.
  await announceAny(url, params, { proxy: dialer, blocklist: only('127.0.0.2') });
  assert.deepEqual(proxy.targets, [`127.0.0.1:${port}`]);
  assert.equal(requests, 1);
});

test('socks5://: a web seed named by a blocked address fails blocked, never asked of the proxy', async (t) => {
  const dir = await tempDir(t, 'bitstate-proxy-blocklist-webseed-');
  const { torrent: base, data } = await randomFileTorrent(dir, { size: 40_000 });
  const server = await startWebSeedServer(t, data);
  const url = `http://localhost:${server.port}/file.bin`;
  const proxy = await socks5Server(t);
  const job = download(
    { ...base, urlList: [url] },
    {
      out: join(dir, 'out'),
      trackers: false,
      listen: false,
      blocklist: only('127.0.0.1'),
      proxy: parseProxyUrl(`socks5://127.0.0.1:${proxy.port}`),
    },
  );
  t.after(() => job.stop());
  // Its first failure, or (let through) the download the seed served.
  const failed = await within(
    60_000,
    Promise.race([
      new Promise<DownloadEvent>((resolve) =>
        job.events$.subscribe((e) => {
          if (e.type === 'webSeed.failed') resolve(e);
        }),
      ),
      job.done.then(() => undefined),
    ]),
    'the web seed failed or served',
  );
  assert.match((failed as { message?: string } | undefined)?.message ?? '', /is blocked by the IP filter/);
  assert.deepEqual(proxy.targets, []);
  assert.equal(server.connectionCount(), 0);
});
