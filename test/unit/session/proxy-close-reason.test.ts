/**
 * A peer dial that fails at the proxy closes with the proxy's code as its reason (docs/proxy.md,
 * docs/machines.md "Close reasons"): `peer.closed` says `proxyRefused` when the SOCKS5 proxy in the
 * test refuses the tunnel (REP 5), `proxyUnreachable` when no proxy listens - not `socketError`,
 * which stays the reason of a direct dial's network error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import type { DownloadOptions } from '../../../src/session/download-options.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import { socks5Server } from '../../helpers/socks5-server.js';
import type { TestContext } from '../../helpers/temp-dir.js';
import { getFreePort } from '../../interop/harness/ports.js';

/** The first peer.closed of a download of a torrent from one peer nobody listens at. */
async function firstClose(t: TestContext, options: Partial<DownloadOptions>) {
  const dir = await tempDir(t, 'bitstate-proxy-close-');
  const { torrent } = await randomFileTorrent(dir, { size: 40_000 });
  const job = download(torrent, {
    out: dir,
    trackers: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port: await getFreePort() }],
    ...options,
  });
  t.after(() => job.stop());
  return within(
    60_000,
    new Promise<Extract<DownloadEvent, { type: 'peer.closed' }>>((resolve) => {
      job.events$.subscribe((e) => {
        if (e.type === 'peer.closed') resolve(e);
      });
    }),
    'peer.closed',
  );
}

test('the proxy refuses the tunnel: proxyRefused', async (t) => {
  const proxy = await socks5Server(t, { reply: 5 });
  const closed = await firstClose(t, { proxy: parseProxyUrl(`socks5://127.0.0.1:${proxy.port}`) });
  assert.equal(closed.reason, 'proxyRefused');
  assert.ok(proxy.targets.length >= 1, 'the tunnel was asked for');
});

test('no proxy listens: proxyUnreachable', async (t) => {
  const closed = await firstClose(t, { proxy: parseProxyUrl(`socks5://127.0.0.1:${await getFreePort()}`) });
  assert.equal(closed.reason, 'proxyUnreachable');
});

test('without a proxy, a refused dial is still socketError', async (t) => {
  const closed = await firstClose(t, { utp: 'off' });
  assert.equal(closed.reason, 'socketError');
});
