/**
 * `--bind` under `--proxy` (docs/bind.md, docs/proxy.md): every connection we make goes to the
 * proxy, so the bound address is where the connection TO THE PROXY leaves from — a peer dial's
 * tunnel (proxy-dialer.ts) and an HTTP announce's (proxied-agent.ts) alike. A SOCKS5 server in the
 * test (RFC 1928, no authentication, CONNECT only) on 127.0.0.1 notes each client's address and
 * carries the tunnel to its target, so the test sees both the source and a working tunnel.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { PeerDial } from '../../../src/net/peer-dial.js';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { ProxyDialer } from '../../../src/net/proxy-dialer.js';
import type { DownloadOptions } from '../../../src/session/download-options.js';
import { proxiedSession } from '../../../src/session/proxy-session.js';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { announce } from '../../../src/tracker/http-announce.js';
import { type TestContext, within } from '../../helpers/temp-dir.js';

/** A SOCKS5 proxy on 127.0.0.1: `from` has each client's address, in the order they came. */
async function socks5(t: TestContext): Promise<{ port: number; from: string[] }> {
  const from: string[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    sockets.add(client);
    from.push(client.remoteAddress ?? '');
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'request' | 'tunnel' = 'greeting';
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting') {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        buf = buf.subarray(2 + buf[1]!);
        stage = 'request';
        client.write(Buffer.from([5, 0])); // no authentication
      }
      if (stage === 'request') {
        // VER CMD RSV ATYP ADDR PORT: IPv4 (1) or a name (3).
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        const addrLen = atyp === 1 ? 4 : atyp === 3 ? 1 + buf[4]! : 16;
        const end = 4 + addrLen + 2;
        if (buf.length < end) return;
        const host = atyp === 1 ? [...buf.subarray(4, 8)].join('.') : buf.subarray(5, 4 + addrLen).toString();
        const port = buf.readUInt16BE(4 + addrLen);
        const rest = buf.subarray(end);
        stage = 'tunnel';
        client.removeListener('data', onData);
        client.pause();
        const target = connect({ host, port }, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) target.write(rest);
          client.pipe(target).pipe(client);
          client.resume();
        });
        sockets.add(target);
        target.on('error', () => client.destroy());
        client.on('close', () => target.destroy());
      }
    };
    client.on('data', onData);
    client.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, from };
}

test('a peer dial through a proxy under --bind reaches the proxy from the bound address', async (t) => {
  const proxy = await socks5(t);
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
    const dialer = new ProxyDialer(settings, undefined, undefined, localAddress);
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
  const proxy = await socks5(t);
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
