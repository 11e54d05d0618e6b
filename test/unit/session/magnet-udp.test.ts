/**
 * A magnet download's UDP socket (src/session/download-magnet.ts, session-udp.ts): the fetch opens
 * it at the listening port's number, the download's uTP goes on over it, and the magnet closes it
 * at the end. Real sessions on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { UdpEndpoint } from '../../../src/net/udp-endpoint.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';
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
