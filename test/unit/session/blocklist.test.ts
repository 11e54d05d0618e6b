/**
 * The IP filter in a real session on loopback (every 127.x.y.z is local): a download given a
 * blocked peer never connects to it (a server on 127.0.0.2 counts its connections) and finishes
 * from an allowed one, reporting `peer.blocked`; a seed closes a connection from a blocked address
 * (a client bound to 127.0.0.3) without answering its handshake, and answers one from 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

/** A server on `host` that counts the connections it gets (and closes each); closed after the test. */
async function countingServer(
  t: TestContext,
  host: string,
): Promise<{ port: number; connections: () => number }> {
  const server = createServer();
  let connections = 0;
  server.on('connection', (s) => {
    connections++;
    s.destroy();
  });
  server.listen(0, host);
  await once(server, 'listening');
  t.after(() => server.close());
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

const only = (host: string) => IpRangeSet.fromRanges([ipv4Number(host)!], [ipv4Number(host)!]);

test('a download never dials a blocked peer, and finishes from an allowed one', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-');
  const { torrent, data, bytes } = await randomFileTorrent(dir, { size: 200_000 });
  const seedPort = await listeningSeeder(t, torrent, data);
  // Where the blocked peer would listen: any connection here is a dial the filter let through.
  const blocked = await countingServer(t, '127.0.0.2');
  const blockedPort = blocked.port;

  const events: DownloadEvent[] = [];
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    utp: 'off',
    blocklist: only('127.0.0.2'),
    peers: [
      { host: '127.0.0.2', port: blockedPort },
      { host: '127.0.0.1', port: seedPort },
    ],
  });
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete');
  assert.deepEqual(await readFile(join(dir, 'out', torrent.name)), bytes);
  assert.equal(blocked.connections(), 0);
  assert.deepEqual(
    events.filter((e) => e.type === 'peer.blocked'),
    [{ type: 'peer.blocked', address: `127.0.0.2:${blockedPort}`, source: 'peer', blocked: 1 }],
  );
});

test('a blocked peer named again (another port) is a peer.blocked event again, counted once', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-again-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 100_000 });
  const seedPort = await listeningSeeder(t, torrent, data);
  const events: DownloadEvent[] = [];
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    utp: 'off',
    blocklist: only('127.0.0.2'),
    peers: [
      { host: '127.0.0.2', port: 1001 },
      { host: '127.0.0.2', port: 1002 },
      { host: '127.0.0.2', port: 1001 },
      // The same IPv4 host as a dual-stack socket or a tracker's peers6 spells it: blocked as it.
      { host: '::ffff:127.0.0.2', port: 1003 },
      { host: '127.0.0.1', port: seedPort },
    ],
  });
  job.events$.subscribe((e) => events.push(e));
  t.after(() => job.stop());
  assert.equal((await within(60_000, job.done, 'download')).result, 'complete');
  assert.deepEqual(
    events.flatMap((e) => (e.type === 'peer.blocked' ? [e.blocked] : [])),
    [1, 1, 1, 1],
  );
});

test('a download never connects to a host name that resolves to a blocked address', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-name-');
  const { torrent, data, bytes } = await randomFileTorrent(dir, { size: 200_000 });
  const seedPort = await listeningSeeder(t, torrent, data);
  // `localhost` is 127.0.0.1, the blocked address: any connection here is a dial let through.
  const blocked = await countingServer(t, '127.0.0.1');
  const blockedPort = blocked.port;

  const events: DownloadEvent[] = [];
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    utp: 'off',
    blocklist: only('127.0.0.1'),
    peers: [
      { host: 'localhost', port: blockedPort },
      { host: '127.0.0.2', port: seedPort },
    ],
  });
  const refused = new Promise<string>((resolve) =>
    job.events$.subscribe((e) => {
      events.push(e);
      if (e.type === 'peer.closed' && e.address === `localhost:${blockedPort}`) resolve(e.reason);
    }),
  );
  t.after(() => job.stop());
  // The dial's end: refused by the filter, or (let through) closed by the server after it counted it.
  await within(60_000, refused, 'the dial to localhost');
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete');
  assert.deepEqual(await readFile(join(dir, 'out', torrent.name)), bytes);
  assert.equal(blocked.connections(), 0);
  // Reported as any blocked peer (once a dial: each counted once).
  const reported = events.filter((e) => e.type === 'peer.blocked');
  assert.ok(reported.length > 0, 'a peer.blocked event');
  for (const e of reported)
    assert.deepEqual(e, {
      type: 'peer.blocked',
      address: `localhost:${blockedPort}`,
      source: 'peer',
      blocked: 1,
    });
});

test("a tracker's dictionary peer named by a host name resolving to a blocked address is a peer.blocked from the tracker", async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-tracker-name-');
  const blocked = await countingServer(t, '127.0.0.1');
  const blockedPort = blocked.port;
  // A tracker on 127.0.0.2 (allowed) naming the blocked peer by name, in the dictionary model.
  const tracker = createHttpServer((_req, res) =>
    res.end(`d8:intervali1800e5:peersld2:ip9:localhost4:porti${blockedPort}eeee`),
  );
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.2', r));
  t.after(() => new Promise<void>((r) => tracker.close(() => r())));
  const announce = `http://127.0.0.2:${(tracker.address() as { port: number }).port}/announce`;
  const { torrent } = await randomFileTorrent(dir, { size: 50_000 });
  const job = download(torrent, {
    out: join(dir, 'out'),
    port: 0,
    utp: 'off',
    extraTrackers: [announce],
    blocklist: only('127.0.0.1'),
  });
  t.after(() => job.stop());
  const first = await within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === 'peer.blocked') resolve(e);
      }),
    ),
    "the peer.blocked of the tracker's named peer",
  );
  assert.deepEqual(first, {
    type: 'peer.blocked',
    address: `localhost:${blockedPort}`,
    source: 'tracker',
    blocked: 1,
  });
  assert.equal(blocked.connections(), 0);
});

/** Dials the seed from `localAddress`, sends a BitTorrent handshake, and collects what comes back until it closes. */
async function handshakeFrom(
  localAddress: string,
  port: number,
  infoHash: Uint8Array,
): Promise<{ bytes: number; socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    Buffer.concat([
      Buffer.from([19]),
      Buffer.from('BitTorrent protocol'),
      Buffer.alloc(8),
      Buffer.from(infoHash),
      Buffer.alloc(20, 7),
    ]),
  );
  let bytes = 0;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    // A handshake back (68 bytes) is all the allowed case needs to see.
    if (bytes >= 68) socket.destroy();
  });
  await once(socket, 'close');
  return { bytes, socket };
}

test('a seed closes a connection from a blocked address unanswered, and answers an allowed one', async (t) => {
  const dir = await tempDir(t, 'bitstate-blocklist-seed-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 70_000 });
  const events: DownloadEvent[] = [];
  const seeder = seed(torrent, { data, trackers: false, port: 0, utp: 'off', blocklist: only('127.0.0.3') });
  t.after(() => seeder.stop());
  const port = await within(
    60_000,
    new Promise<number>((resolve) =>
      seeder.events$.subscribe((e) => {
        events.push(e);
        if (e.type === 'listening') resolve(e.port);
      }),
    ),
    'seed listening',
  );
  const refused = await within(60_000, handshakeFrom('127.0.0.3', port, torrent.infoHash), 'blocked client');
  assert.equal(refused.bytes, 0, 'not a byte of a handshake back');
  const served = await within(60_000, handshakeFrom('127.0.0.1', port, torrent.infoHash), 'allowed client');
  assert.ok(served.bytes >= 68, `a handshake back (${served.bytes} bytes)`);
  const blocked = events.filter((e) => e.type === 'peer.blocked');
  assert.equal(blocked.length, 1);
  assert.match((blocked[0] as { address: string }).address, /^127\.0\.0\.3:\d+$/);
  assert.equal((blocked[0] as { source: string }).source, 'incoming');
});
