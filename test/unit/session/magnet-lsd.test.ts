/**
 * Local Service Discovery (BEP 14) during a magnet link's metadata fetch (src/session/download-magnet.ts):
 * one service for the fetch and the download after it. A private torrent's download takes none, its
 * service closed once the metadata says private (BEP 27: no socket left on the group, nothing
 * announced after the fetch's); a service that cannot start is said once (`lsd.off`), the
 * download trying no other; and the port the download listens at, when it is not the one the fetch
 * announced, is announced at once (`Lsd.setPort`), not after the interval.
 *
 * Real sessions on 127.0.0.1, LSD on loopback only; a plain member of the group hears the announces
 * of this test's random info-hashes (other test files share the group and 6771).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { test } from 'node:test';
import { LSD_GROUP, LSD_PORT, parseLsdAnnounce } from '../../../src/lsd/lsd-message.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { startMetadataPeer } from '../../helpers/metadata-peer.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

const LOOPBACK = ['127.0.0.1'];

/** The ports announced for `infoHashHex` on the group, as they come, and a wait for one. */
async function groupMember(t: TestContext, infoHashHex: string) {
  const ports: number[] = [];
  const waiters: { port: number; resolve: () => void }[] = [];
  const member = createSocket({ type: 'udp4', reuseAddr: true });
  member.on('message', (msg) => {
    let named: string[];
    let port: number;
    try {
      const a = parseLsdAnnounce(msg);
      named = a.infoHashes.map((h) => Buffer.from(h).toString('hex'));
      port = a.port;
    } catch {
      return; // anyone may send to the group
    }
    if (!named.includes(infoHashHex)) return;
    ports.push(port);
    for (const w of waiters.filter((x) => x.port === port)) w.resolve();
  });
  await new Promise<void>((resolve) => member.bind(LSD_PORT, LSD_GROUP, resolve));
  member.addMembership(LSD_GROUP, '127.0.0.1');
  t.after(() => new Promise<void>((resolve) => member.close(() => resolve())));
  return {
    ports,
    heard: (port: number) =>
      ports.includes(port)
        ? Promise.resolve()
        : within(
            60_000,
            new Promise<void>((resolve) => waiters.push({ port, resolve })),
            `an announce at port ${port}`,
          ),
  };
}

/** UDP sockets open in this process (node:dgram's handles). */
function udpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

function eventOf(job: { events$: { subscribe(f: (e: DownloadEvent) => void): unknown } }, type: string) {
  return within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === type) resolve(e);
      }),
    ),
    type,
  );
}

test("a private torrent's magnet: the fetch's LSD announce only, its service closed before the download (no socket on the group left)", async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-lsd-private-');
  const { torrent } = await randomFileTorrent(dir, { size: 100_000, private: true });
  const group = await groupMember(t, torrent.infoHashHex);
  const peer = await startMetadataPeer({ infoHash: torrent.infoHash, info: torrent.infoBytes });
  t.after(() => peer.close());
  const before = udpSockets();
  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    // No uTP and no DHT: LSD's are the session's only UDP sockets.
    utp: 'off',
    lsd: { interfaces: LOOPBACK },
    peers: [{ host: '127.0.0.1', port: peer.port }],
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const listening = eventOf(job, 'listening');
  await eventOf(job, 'lsd.ready');
  // The fetch's service: a magnet has no private flag until the metadata comes.
  assert.ok(udpSockets() > before, "the fetch's LSD sockets");
  await listening;
  assert.ok(events.some((e) => e.type === 'metadata.fetched'));
  assert.equal(udpSockets(), before, 'the service closed once the metadata said private: no socket left');
  await job.stop();
  assert.ok(group.ports.length <= 1, `the fetch's announce only: ${group.ports.length}`);
  assert.equal(events.filter((e) => e.type === 'lsd.ready').length, 1);
});

test("a magnet's LSD that cannot start is said once (lsd.off), and the download after the fetch tries no other", async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-lsd-off-');
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const seedPort = await listeningSeeder(t, torrent, data);
  // Another program's socket at the group's port (a test's own: lsd-off.test.ts says why), bound
  // on the group's address without SO_REUSEADDR.
  const held: Socket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve) => held.bind({ port: 0, address: LSD_GROUP }, resolve));
  t.after(() => new Promise<void>((resolve) => held.close(() => resolve())));
  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out: join(dir, 'out'),
    trackers: false,
    port: 0,
    lsd: { interfaces: LOOPBACK, port: held.address().port },
    peers: [{ host: '127.0.0.1', port: seedPort }],
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'the download');
  assert.equal(result.result, 'complete');
  assert.equal(events.filter((e) => e.type === 'lsd.off').length, 1);
  assert.equal(events.filter((e) => e.type === 'lsd.ready').length, 0);
});

test('the port the download listens at, not the one the fetch announced, is announced at once', async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-lsd-port-');
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const group = await groupMember(t, torrent.infoHashHex);
  const seedPort = await listeningSeeder(t, torrent, data);
  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out: join(dir, 'out'),
    trackers: false,
    // Any port, and no UDP socket (no uTP, no DHT): the fetch announces 6881, the port it would
    // listen at by default; the listener lands elsewhere.
    port: 0,
    utp: 'off',
    keepSeeding: true,
    lsd: { interfaces: LOOPBACK },
    peers: [{ host: '127.0.0.1', port: seedPort }],
  });
  t.after(() => job.stop());
  const listening = await eventOf(job, 'listening');
  assert.ok(listening.type === 'listening');
  // Not after the interval (5 minutes): the new port at once.
  await group.heard(listening.port);
  await job.stop();
});
