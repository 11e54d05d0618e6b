/**
 * Under `socks5://` a host name is looked up here and the proxy sent the address (curl's meaning,
 * docs/proxy.md "DNS"): our DNS query goes around the proxy, and the session says so once
 * (`proxy.localDns`, the first name). Under `socks5h://` the name goes to the proxy and nothing is
 * said, nor for a peer given as an address. Two peers named `localhost` are dialled through a SOCKS5 proxy in the test that refuses
 * every tunnel (REP 5); the test waits for both dials to close. `info --scrape` says it on stderr.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { runCli } from '../../helpers/run-cli.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import { socks5Server } from '../../helpers/socks5-server.js';
import type { TestContext } from '../../helpers/temp-dir.js';

/** The events of a download from two peers (named `localhost`), until both dials have closed. */
async function twoNamedPeers(
  t: TestContext,
  scheme: 'socks5' | 'socks5h',
  hosts = ['localhost', 'localhost'],
) {
  const proxy = await socks5Server(t, { reply: 5 });
  const dir = await tempDir(t, 'bitstate-proxy-dns-');
  const { torrent } = await randomFileTorrent(dir, { size: 40_000 });
  const job = download(torrent, {
    out: dir,
    trackers: false,
    listen: false,
    peers: hosts.map((host, i) => ({ host, port: i + 1 })),
    proxy: parseProxyUrl(`${scheme}://127.0.0.1:${proxy.port}`),
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  await within(
    60_000,
    new Promise<void>((resolve) => {
      job.events$.subscribe((e) => {
        events.push(e);
        if (events.filter((x) => x.type === 'peer.closed').length === 2) resolve();
      });
    }),
    'both dials closed',
  );
  return { events, targets: proxy.targets, port: proxy.port };
}

test('socks5://: the name looked up here, the proxy sent an address, said once', async (t) => {
  const { events, targets, port } = await twoNamedPeers(t, 'socks5');
  assert.deepEqual(
    events.filter((e) => e.type === 'proxy.localDns'),
    [{ type: 'proxy.localDns', proxy: `socks5://127.0.0.1:${port}`, host: 'localhost' }],
  );
  assert.ok(targets.length >= 2);
  for (const target of targets) assert.doesNotMatch(target, /^localhost:/, 'an address, not the name');
});

test('socks5h://: the name goes to the proxy, nothing said', async (t) => {
  const { events, targets } = await twoNamedPeers(t, 'socks5h');
  assert.equal(events.filter((e) => e.type === 'proxy.localDns').length, 0);
  assert.deepEqual(new Set(targets), new Set(['localhost:1', 'localhost:2']));
});

test('socks5:// to addresses (IPv4, IPv6): nothing looked up, nothing said', async (t) => {
  const { events, targets } = await twoNamedPeers(t, 'socks5', ['127.0.0.1', '::1']);
  assert.equal(events.filter((e) => e.type === 'proxy.localDns').length, 0);
  assert.deepEqual(new Set(targets), new Set(['127.0.0.1:1', '0:0:0:0:0:0:0:1:2']));
});

test("info --scrape through socks5://: the tracker's name looked up here, said once on stderr", async (t) => {
  const proxy = await socks5Server(t, { reply: 5 });
  const dir = await tempDir(t, 'bitstate-proxy-dns-info-');
  await writeFile(join(dir, 'a.bin'), 'x'.repeat(1000));
  const bytes = await createTorrent(join(dir, 'a.bin'), {
    announceList: [['http://localhost:1/announce'], ['http://localhost:2/announce']],
  });
  await writeFile(join(dir, 'a.torrent'), bytes);
  const r = await runCli([
    'info',
    join(dir, 'a.torrent'),
    '--scrape',
    '--proxy',
    `socks5://127.0.0.1:${proxy.port}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/looked up here/g)?.length, 1, r.stderr);
  assert.match(r.stderr, /localhost .*socks5h:\/\//);
  assert.ok(
    proxy.targets.length > 0 && proxy.targets.every((x) => !x.startsWith('localhost:')),
    'addresses sent',
  );
});
