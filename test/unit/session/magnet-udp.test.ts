/**
 * A magnet download's UDP socket (src/session/download-magnet.ts, session-udp.ts): the fetch opens
 * it at the listening port's number, the download's uTP goes on over it, and the magnet closes it
 * at the end. When the port named (`port`) has its UDP number held by another program, the fetch's
 * socket is elsewhere and stays the session's (session-ports.ts): `udp.portTaken` names it. Real
 * sessions on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { UdpEndpoint } from '../../../src/net/udp-endpoint.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { dhtRouter, listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import { getFreePort } from '../../interop/harness/ports.js';

test("stop() during the download resolves once the magnet's job is done: its UDP socket closed", async (t) => {
  const dir = await tempDir(t, 'bitstate-magnet-udp-');
  const { data, torrent } = await randomFileTorrent(dir, { size: 200_000 });
  const seedPort = await listeningSeeder(t, torrent, data);
  // Free on TCP and UDP, below the ephemeral range: the session binds its listener and its UDP
  // socket at it.
  const port = await getFreePort();
  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out: join(dir, 'out'),
    trackers: false,
    port,
    utp: 'prefer',
    keepSeeding: true,
    peers: [{ host: '127.0.0.1', port: seedPort }],
  });
  t.after(() => job.stop());
  let settled = false;
  void job.done.finally(() => {
    settled = true;
  });
  const events: DownloadEvent[] = [];
  const connected = new Promise<void>((resolve) =>
    job.events$.subscribe((e) => {
      events.push(e);
      if (e.type === 'peer.connected') resolve();
    }),
  );
  await within(60_000, connected, 'the download connected');
  // The download's uTP runs on the fetch's socket (at the listening port's number).
  assert.ok(events.some((e) => e.type === 'listening' && e.port === port));
  assert.ok(
    events.some((e) => e.type === 'peer.connected' && e.transport === 'utp'),
    JSON.stringify(events.filter((e) => e.type === 'peer.connected')),
  );
  await job.stop();
  // DownloadJob.stop: resolves when `done` has - the magnet's, which closes the UDP socket after
  // the download, not the inner download's.
  assert.ok(settled, 'stop() resolved before the magnet job was done (its UDP socket still open)');
  const again = await UdpEndpoint.open({ port });
  await again.close();
});

for (const utp of ['on', 'off'] as const)
  test(`a port named whose UDP number another program holds (--utp ${utp}): udp.portTaken names the socket the DHT runs on, the fetch's`, async (t) => {
    const dir = await tempDir(t, 'bitstate-magnet-udp-taken-');
    const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
    const seedPort = await listeningSeeder(t, torrent, data);
    const { dht } = await dhtRouter(t);
    const port = await getFreePort();
    // Another program's socket at the port's UDP number, bound without SO_REUSEADDR.
    const held = createSocket('udp4');
    await new Promise<void>((resolve) => held.bind(port, '0.0.0.0', resolve));
    t.after(() => new Promise<void>((resolve) => held.close(() => resolve())));
    const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
      out: join(dir, 'out'),
      trackers: false,
      port,
      utp,
      dht,
      peers: [{ host: '127.0.0.1', port: seedPort }],
    });
    t.after(() => job.stop());
    const events: DownloadEvent[] = [];
    job.events$.subscribe((e) => events.push(e));
    const result = await within(60_000, job.done, 'the download');
    assert.equal(result.result, 'complete');
    const listening = events.find((e) => e.type === 'listening');
    assert.ok(listening?.type === 'listening');
    assert.equal(listening.port, port, 'the port named, kept');
    const ready = events.find((e) => e.type === 'dht.ready');
    assert.ok(ready?.type === 'dht.ready');
    assert.notEqual(ready.port, port);
    const taken = events.filter((e) => e.type === 'udp.portTaken');
    assert.equal(taken.length, 1, 'said once');
    assert.ok(taken[0]?.type === 'udp.portTaken');
    assert.deepEqual(
      { port: taken[0].port, udpPort: taken[0].udpPort },
      { port, udpPort: ready.port },
      "the socket named is the one the DHT (and the fetch's uTP) runs on, not a second one",
    );
  });
