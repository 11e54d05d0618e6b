/**
 * A session's port (src/session/session-ports.ts): TCP and UDP (uTP, the DHT) at one number. A
 * number whose UDP port another program holds is passed over when the port was not named — before,
 * the listener took it and the UDP socket went to any port, where no peer's uTP dial came — and
 * kept when named (`port`, `--port N`), said once (`udp.portTaken`).
 *
 * The search is pinned by `portCandidates` (the ports tried instead of 6881…): the first is held
 * by a plain UDP socket, as another program would hold it.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { formatPeerAddress } from '../../../src/net/address.js';
import { makePeerId } from '../../../src/net/peer-id.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { encodeHandshake } from '../../../src/wire/encode-message.js';
import { Inbox } from '../../helpers/datagrams.js';
import { dhtRouter, randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';
import { startUtpManager } from '../../helpers/utp-manager.js';
import { getFreePort } from '../../interop/harness/ports.js';

/**
 * Another program's UDP socket, bound without SO_REUSEADDR on 127.0.0.1 at a port from the
 * harness (below the ephemeral range: no outgoing connection takes its TCP number meanwhile), its
 * datagrams kept; closed after the test.
 */
async function heldUdpPort(t: TestContext): Promise<{ port: number; inbox: Inbox }> {
  const port = await getFreePort();
  const socket = createSocket('udp4');
  const inbox = new Inbox();
  socket.on('message', inbox.take);
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port, inbox };
}

/** The seed's events until `type` comes (or its end). */
function eventOf(
  events$: { subscribe(f: (e: DownloadEvent) => void): unknown },
  type: DownloadEvent['type'],
) {
  return within(
    60_000,
    new Promise<DownloadEvent>((resolve) =>
      events$.subscribe((e) => {
        if (e.type === type) resolve(e);
      }),
    ),
    type,
  );
}

test("a port whose UDP number another program holds is passed over: TCP, uTP and the DHT land on the next, where a peer's uTP dial reaches the session", async (t) => {
  const dir = await tempDir(t, 'bitstate-session-ports-');
  const { dht } = await dhtRouter(t);
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const held = await heldUdpPort(t);
  const next = await getFreePort();
  const seeder = seed(torrent, {
    data,
    trackers: false,
    bind: '127.0.0.1',
    dht,
    portCandidates: [held.port, next],
  });
  t.after(() => seeder.stop());
  const events: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => events.push(e));
  const dhtReady = eventOf(seeder.events$, 'dht.ready');
  const listening = await eventOf(seeder.events$, 'listening');
  assert.ok(listening.type === 'listening');
  assert.equal(listening.port, next, 'the TCP listener passed over the port whose UDP number is held');
  const ready = await dhtReady;
  assert.ok(ready.type === 'dht.ready');
  assert.equal(ready.port, listening.port, 'the UDP socket (the DHT on it) at the same number');
  assert.equal(
    events.filter((e) => e.type === 'udp.portTaken').length,
    0,
    'nothing to say: no port was named',
  );

  // A peer dials uTP at the port it knows us by: the session answers its handshake.
  const peer = await startUtpManager();
  t.after(() => peer.close());
  const socket = peer.manager.connect(listening.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.write(
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: torrent.infoHash, peerId: makePeerId() }),
  );
  const answer = await within(
    60_000,
    new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 68) resolve(got);
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed after ${got.length} bytes`)));
    }),
    `the handshake over uTP from ${formatPeerAddress({ host: '127.0.0.1', port: listening.port })}`,
  );
  assert.equal(answer[0], 19, 'a BitTorrent handshake');
  assert.deepEqual(answer.subarray(28, 48), Buffer.from(torrent.infoHash), "the torrent's info-hash");
  assert.equal(held.inbox.received.length, 0, "nothing reached the other program's socket");
});

test('a port named (`port`) is kept though its UDP number is held: the UDP socket elsewhere, said once', async (t) => {
  const dir = await tempDir(t, 'bitstate-session-ports-named-');
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const held = await heldUdpPort(t);
  const seeder = seed(torrent, { data, trackers: false, bind: '127.0.0.1', port: held.port });
  t.after(() => seeder.stop());
  const events: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => events.push(e));
  const listening = await eventOf(seeder.events$, 'listening');
  assert.ok(listening.type === 'listening');
  assert.equal(listening.port, held.port, 'the port named');
  const taken = events.filter((e) => e.type === 'udp.portTaken');
  assert.equal(taken.length, 1);
  assert.ok(taken[0]?.type === 'udp.portTaken');
  assert.equal(taken[0].port, held.port);
  assert.notEqual(taken[0].udpPort, held.port);
  assert.ok(taken[0].udpPort > 0);
});
