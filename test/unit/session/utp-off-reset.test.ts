/**
 * A seed under `--utp off` with the DHT on (src/net/udp-endpoint.ts): its UDP port, open for the
 * DHT at the listening port's number, answers a peer's uTP SYN with ST_RESET carrying the SYN's
 * connection id, so a client that dials uTP first (libtorrent) turns to TCP at once instead of
 * resending the SYN until it gives up. Before, the SYN was dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { decodeUtpPacket, encodeUtpHeader, ST_RESET, ST_SYN } from '../../../src/utp/utp-packet.js';
import { plainSocket } from '../../helpers/datagrams.js';
import { dhtRouter, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

test('--utp off with the DHT on: a uTP SYN to the session port is answered by ST_RESET with its connection id', async (t) => {
  const dir = await tempDir(t, 'bitstate-utp-off-reset-');
  const { dht } = await dhtRouter(t);
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const seeder = seed(torrent, { data, trackers: false, port: 0, dht, utp: 'off' });
  t.after(() => seeder.stop());
  const events: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => events.push(e));
  const ready = await within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      seeder.events$.subscribe((e) => e.type === 'dht.ready' && resolve(e)),
    ),
    'the DHT node is up',
  );
  assert.ok(ready.type === 'dht.ready');
  const listening = events.find((e) => e.type === 'listening');
  assert.ok(listening?.type === 'listening');
  assert.equal(
    ready.port,
    listening.port,
    "the DHT's UDP port is the listening port's number, where peers dial uTP",
  );

  const peer = await plainSocket(t);
  const syn = encodeUtpHeader({
    type: ST_SYN,
    connectionId: 0xbeef,
    timestamp: 1,
    timestampDifference: 0,
    windowSize: 1 << 20,
    seqNr: 0x1234,
    ackNr: 0,
  });
  peer.socket.send(syn, ready.port, '127.0.0.1');
  await peer.inbox.until(1);
  const answer = decodeUtpPacket(peer.inbox.received[0]!.msg);
  assert.ok(typeof answer !== 'string', String(answer));
  assert.equal(answer.type, ST_RESET);
  assert.equal(answer.connectionId, 0xbeef, "the SYN's connection id: its sender's receive id");
  assert.equal(answer.ackNr, 0x1234, "the SYN's seq_nr");
  assert.equal(peer.inbox.received[0]!.from.port, listening.port);
});
