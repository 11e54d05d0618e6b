/**
 * `--bind ADDR|IFACE` (src/net/bind-address.ts): an interface name becomes its IPv4 address, an
 * address not on this machine or an unknown name is a BindError (bad input); and each client then
 * goes from that address — a peer dial (peer-dial.ts), an HTTP announce, a UDP announce — never
 * from another. On loopback every 127.x.y.z is this machine's, so 127.0.0.2 needs no setup: a
 * server on 127.0.0.1 sees where each connection came from.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { BindError, bindAddressOf, resolveBindAddress } from '../../../src/net/bind-address.js';
import { PeerDial } from '../../../src/net/peer-dial.js';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { announce } from '../../../src/tracker/http-announce.js';
import { UdpTrackerClient } from '../../../src/tracker/udp-tracker.js';
import { within } from '../../helpers/temp-dir.js';

const info = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo =>
  ({
    address,
    family,
    netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::',
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  }) as NetworkInterfaceInfo;

const INTERFACES = {
  tun0: [info('fe80::1', 'IPv6'), info('10.8.0.6', 'IPv4'), info('10.8.0.7', 'IPv4')],
  wg6: [info('fd00::2', 'IPv6')],
};

const badInput = (code: BindError['code']) => (e: unknown) =>
  e instanceof BindError && e.code === code && e.badInput === true;

test('an interface name is its first IPv4 address; an IPv4 address is itself', () => {
  assert.equal(bindAddressOf('tun0', INTERFACES), '10.8.0.6');
  assert.equal(bindAddressOf('192.0.2.7', INTERFACES), '192.0.2.7');
});

test('an unknown name, an interface with no IPv4 address, an IPv6 address: BindErrors', () => {
  assert.throws(() => bindAddressOf('tun1', INTERFACES), badInput('unknownInterface'));
  assert.throws(() => bindAddressOf('toString', INTERFACES), badInput('unknownInterface'));
  assert.throws(() => bindAddressOf('10.8.0', INTERFACES), badInput('unknownInterface'));
  assert.throws(() => bindAddressOf('wg6', INTERFACES), badInput('noIpv4'));
  assert.throws(() => bindAddressOf('::1', INTERFACES), badInput('ipv6'));
  assert.throws(() => bindAddressOf('[fd00::2]', INTERFACES), badInput('ipv6'));
});

test('resolveBindAddress asks the kernel: 127.0.0.2 is ours, 192.0.2.1 (TEST-NET-1) is not', async () => {
  assert.equal(await resolveBindAddress('127.0.0.2'), '127.0.0.2');
  assert.equal(await resolveBindAddress('tun0', () => ({ tun0: [info('127.0.0.3', 'IPv4')] })), '127.0.0.3');
  await assert.rejects(resolveBindAddress('192.0.2.1'), badInput('notLocal'));
  await assert.rejects(
    resolveBindAddress('tun0', () => ({ tun0: [info('192.0.2.1', 'IPv4')] })),
    badInput('notLocal'),
  );
});

test('a peer dial with a local address comes from it', async (t) => {
  const from: string[] = [];
  const sockets: Socket[] = [];
  const server = createNetServer((s) => {
    from.push(s.remoteAddress ?? '');
    sockets.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  for (const localAddress of [undefined, '127.0.0.2']) {
    const dial = new PeerDial({ address: `127.0.0.1:${port}`, localAddress });
    const connected = new Promise<void>((resolve) => {
      const s = dial.open(
        () => {},
        undefined,
        () => {
          s.destroy();
          resolve();
        },
      );
    });
    await within(60_000, connected, 'dial');
  }
  assert.deepEqual(from, ['127.0.0.1', '127.0.0.2']);
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

test('an HTTP announce with a local address comes from it', async (t) => {
  const from: string[] = [];
  const server = createServer((req, res) => {
    from.push(req.socket.remoteAddress ?? '');
    res.end(bencode({ interval: 60, peers: Buffer.alloc(0) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  await announce(url, PARAMS, { timeoutMs: 60_000 });
  await announce(url, PARAMS, { timeoutMs: 60_000, localAddress: '127.0.0.2' });
  assert.deepEqual(from, ['127.0.0.1', '127.0.0.2']);
});

test('a UDP announce with a local address comes from it (its connection id asked from it too)', async (t) => {
  const from: string[] = [];
  const server = createSocket('udp4');
  server.on('message', (msg, rinfo) => {
    from.push(rinfo.address);
    const action = msg.readUInt32BE(8);
    const tx = msg.readUInt32BE(12);
    // BEP 15: connect → action 0, a connection id; announce → action 1, interval, counts, no peers.
    const answer = Buffer.alloc(action === 0 ? 16 : 20);
    answer.writeUInt32BE(action === 0 ? 0 : 1, 0);
    answer.writeUInt32BE(tx, 4);
    if (action === 0) answer.writeBigUInt64BE(0x1234n, 8);
    else answer.writeUInt32BE(60, 8);
    server.send(answer, rinfo.port, rinfo.address);
  });
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const url = `udp://127.0.0.1:${server.address().port}/announce`;
  const client = new UdpTrackerClient();
  await client.announce(url, PARAMS, { timeoutMs: 60_000 });
  await client.announce(url, PARAMS, { timeoutMs: 60_000, localAddress: '127.0.0.2' });
  // A connect and an announce from each: the id got from 127.0.0.1 is not reused from 127.0.0.2.
  assert.deepEqual(from, ['127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.2']);
});
