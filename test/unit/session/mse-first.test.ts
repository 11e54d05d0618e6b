/**
 * The address book remembers that an address needs Message Stream Encryption (docs/encryption.md):
 * with the default policy (`allowed`: plain first) a seeder that requires encryption is reached
 * through the MSE retry once, and every later dial to it in the same download starts with MSE.
 * A magnet's metadata fetch, which dials before the torrent machine exists, hands what its dial
 * learnt to the download's address book: the download's first dial to such a seeder is MSE.
 * Real sockets on 127.0.0.1: a `seed()` under `required` (it closes plain handshakes) behind a relay
 * that notes how each connection it accepted began, and (the first test) cuts the first one that
 * got through partway, so the download must dial again.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { downloadMagnet } from '../../../src/session/download-magnet.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');
/** The first connection that passes this many bytes to the downloader is cut. */
const CUT_AFTER = 128 * 1024;

/**
 * A relay on 127.0.0.1 to `target` that notes how each connection it accepted began — a plain
 * BitTorrent handshake, or MSE (Ya) — and cuts the first one that passes `cutAfter` bytes to the
 * dialler (never, without it); every socket closed after the test.
 */
async function firstBytesRelay(
  t: TestContext,
  target: number,
  cutAfter = Number.POSITIVE_INFINITY,
): Promise<{ port: number; readonly began: ('plain' | 'mse')[]; readonly cut: boolean }> {
  const began: ('plain' | 'mse')[] = [];
  let cut = false;
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const server = connect({ host: '127.0.0.1', port: target });
    let down = 0;
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        server.destroy();
      });
    }
    client.once('data', (d: Buffer) => began.push(d.subarray(0, 20).equals(PROTOCOL) ? 'plain' : 'mse'));
    client.pipe(server);
    server.on('data', (d: Buffer) => {
      client.write(d);
      down += d.length;
      if (!cut && down > cutAfter) {
        cut = true;
        client.destroy();
      }
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        relay.close(() => r());
      }),
  );
  return {
    port: (relay.address() as { port: number }).port,
    began,
    get cut() {
      return cut;
    },
  };
}

test('allowed: once reached through the MSE retry, the address is dialled again with MSE first', async (t) => {
  const dir = await tempDir(t, 'bitstate-mse-first-');
  const { data, bytes, torrent } = await randomFileTorrent(dir, { size: 1 << 20 });
  const target = await listeningSeeder(t, torrent, data, { encryption: 'required' });

  const relay = await firstBytesRelay(t, target, CUT_AFTER);
  const port = relay.port;

  const job = download(torrent, {
    out: join(dir, 'out'),
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
    stallTimeoutMs: 10_000,
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.ok(relay.cut, 'the first connection through was cut');
  assert.deepEqual(
    relay.began,
    ['plain', 'mse', 'mse'],
    'plain refused, the MSE retry, then the reconnect straight to MSE: three connections',
  );
  const connected = events.flatMap((e) => (e.type === 'peer.connected' ? [e.encryption] : []));
  assert.deepEqual(connected, ['rc4', 'rc4']);
  assert.ok((await readFile(join(dir, 'out', 'file.bin'))).equals(bytes));
});

test("a magnet: the metadata fetch's dial learnt the seeder needs MSE, and the download's first dial there is MSE", async (t) => {
  const dir = await tempDir(t, 'bitstate-mse-first-magnet-');
  const { data, bytes, torrent } = await randomFileTorrent(dir, { size: 1 << 20 });
  const target = await listeningSeeder(t, torrent, data, { encryption: 'required' });
  const relay = await firstBytesRelay(t, target);

  const job = downloadMagnet(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}`), {
    out: join(dir, 'out'),
    peers: [{ host: '127.0.0.1', port: relay.port }],
    trackers: false,
    listen: false,
    utp: 'off',
    stallTimeoutMs: 10_000,
  });
  t.after(() => job.stop());
  const events: DownloadEvent[] = [];
  /** How many connections the relay had taken when the fetch was over (its dials end there). */
  let fetchConnections: number | undefined;
  job.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'metadata.fetched') fetchConnections = relay.began.length;
  });
  const result = await within(60_000, job.done, 'download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(
    relay.began.slice(0, fetchConnections),
    ['plain', 'mse'],
    'the fetch: plain refused, the MSE retry',
  );
  assert.deepEqual(
    relay.began.slice(fetchConnections),
    ['mse'],
    "the download's one dial started with MSE: no plain handshake refused once more",
  );
  const connected = events.flatMap((e) => (e.type === 'peer.connected' ? [e.encryption] : []));
  assert.deepEqual(connected, ['rc4']);
  assert.ok((await readFile(join(dir, 'out', 'file.bin'))).equals(bytes));
});
