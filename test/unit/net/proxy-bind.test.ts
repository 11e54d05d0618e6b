/**
 * `--bind` under `--proxy` (docs/bind.md, docs/proxy.md): every connection we make goes to the
 * proxy, so the bound address is where the connection TO THE PROXY leaves from — a peer dial's
 * tunnel (proxy-dialer.ts) and an HTTP announce's (proxied-agent.ts) alike. A SOCKS5 server in the
 * test (test/helpers/socks5-server.ts) on 127.0.0.1 notes each client's address and carries the
 * tunnel to its target, so the test sees both the source and a working tunnel.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { PeerDial } from '../../../src/net/peer-dial.js';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { ProxyDialer } from '../../../src/net/proxy-dialer.js';
import type { DownloadOptions } from '../../../src/session/download-options.js';
import { proxiedSession } from '../../../src/session/proxy-session.js';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { announce } from '../../../src/tracker/http-announce.js';
import { socks5Server } from '../../helpers/socks5-server.js';
import { within } from '../../helpers/temp-dir.js';

test('a peer dial through a proxy under --bind reaches the proxy from the bound address', async (t) => {
  const proxy = await socks5Server(t);
  const settings = parseProxyUrl(`socks5://127.0.0.1:${proxy.port}`);
  const received: string[] = [];
  const peers = new Set<Socket>();
  const peer = createNetServer((s) => {
    peers.add(s);
    s.on('data', (d) => received.push(d.toString()));
  });
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  t.after(() => {
    for (const s of peers) s.destroy();
    peer.close();
  });
  const { port } = peer.address() as AddressInfo;
  for (const localAddress of [undefined, '127.0.0.2']) {
    // As the session passes them (tcp-connection.ts): the bound dialer, and the address too.
    const dialer = new ProxyDialer(settings, { localAddress });
    const dial = new PeerDial({ address: `127.0.0.1:${port}`, proxy: dialer, localAddress });
    await within(
      60_000,
      new Promise<void>((resolve) => {
        const s = dial.open(
          () => {},
          undefined,
          () => {
            s.write(`through from ${localAddress ?? 'default'}`);
            s.end();
            s.once('close', () => resolve());
          },
        );
      }),
      'dial through the proxy',
    );
  }
  assert.deepEqual(proxy.from, ['127.0.0.1', '127.0.0.2']);
  await within(
    60_000,
    (async () => {
      while (received.join('|') !== 'through from default|through from 127.0.0.2')
        await new Promise((r) => setImmediate(r));
    })(),
    'the tunnelled bytes',
  );
});

const PARAMS: AnnounceParams = {
  infoHash: Buffer.alloc(20, 1),
  peerId: Buffer.alloc(20, 2),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 0,
  event: 'started',
};

test('an HTTP announce through a proxy under --bind reaches the proxy from the bound address', async (t) => {
  const proxy = await socks5Server(t);
  const settings = parseProxyUrl(`socks5://127.0.0.1:${proxy.port}`);
  const trackerSaw: string[] = [];
  const server = createServer((req, res) => {
    trackerSaw.push(req.socket.remoteAddress ?? '');
    res.end(bencode({ interval: 60, peers: Buffer.alloc(0) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  // The session's dialer, bound (download.ts: proxiedSession with --bind's address).
  const given = { out: '.', proxy: settings } as DownloadOptions;
  const dialer = proxiedSession(given, () => {}, 0, '127.0.0.2').dialer;
  assert.equal(dialer?.localAddress, '127.0.0.2');
  const r = await announce(url, PARAMS, { timeoutMs: 60_000, proxy: dialer!, localAddress: '127.0.0.2' });
  assert.equal(r.interval, 60);
  assert.deepEqual(proxy.from, ['127.0.0.2']);
  // The tracker sees the proxy (its outgoing connection, from the kernel's choice), not us.
  assert.deepEqual(trackerSaw, ['127.0.0.1']);
});
