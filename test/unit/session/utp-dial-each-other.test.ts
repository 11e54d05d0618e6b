/**
 * Two peers that dial each other over uTP at the same time (docs/utp.md, docs/machines.md "Where
 * an incoming peer listens"): a uTP peer's datagrams come from the port it listens on, so each
 * one's connection to the other comes from the very address the other is dialling. Real sessions
 * on 127.0.0.1, both `--utp prefer`: a `seed()` and a `download()`, whose tracker (an HTTP server
 * here) holds the first announce until the second comes and then answers each with the other, so
 * both dial at once, each to a peer already listening.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';

/** A bencoded announce answer naming 127.0.0.1 at `ports` (compact). */
function answer(ports: readonly number[]): Buffer {
  const peers = Buffer.concat(ports.map((p) => Buffer.from([127, 0, 0, 1, p >> 8, p & 0xff])));
  return Buffer.concat([Buffer.from(`d8:intervali1800e5:peers${peers.length}:`), peers, Buffer.from('e')]);
}

/** An HTTP tracker that answers the first `started` announce of two peers only once the other's came, each with the other. */
async function pairingTracker(t: { after(fn: () => unknown): void }): Promise<string> {
  const waiting: { port: number; res: ServerResponse }[] = [];
  const tracker = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const port = Number(q.get('port'));
    if (q.get('event') !== 'started') return res.end(answer([]));
    waiting.push({ port, res });
    if (waiting.length < 2) return;
    const [a, b] = waiting as [(typeof waiting)[0], (typeof waiting)[0]];
    a.res.end(answer([b.port]));
    b.res.end(answer([a.port]));
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => tracker.close(() => r())));
  return `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`;
}

test('two peers dialling each other over uTP at once keep one connection, and the download completes over it', async (t) => {
  const dir = await tempDir(t, 'bitstate-utp-each-other-');
  const made = await randomFileTorrent(dir, { size: 4 << 20 });
  const url = await pairingTracker(t);
  const torrent = { ...made.torrent, announce: url, announceList: [[url]] };
  const common = { utp: 'prefer', port: 0, maxPeers: 4 } as const;
  const seeder = seed(torrent, { ...common, data: made.data });
  t.after(() => seeder.stop());
  const job = download(torrent, {
    ...common,
    out: join(dir, 'out'),
    keepSeeding: true,
    stallTimeoutMs: 15_000,
  });
  t.after(() => job.stop());
  const seederEvents: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => seederEvents.push(e));
  const events: DownloadEvent[] = [];
  const seeding = new Promise<void>((resolve) =>
    job.events$.subscribe((e) => {
      events.push(e);
      if (e.type === 'seeding') resolve();
    }),
  );
  const ended = job.done.then((r) => {
    throw new Error(`the download ended before seeding: ${JSON.stringify(r)}`);
  });
  await within(60_000, Promise.race([seeding, ended]), 'the download');
  assert.ok((await readFile(join(dir, 'out', torrent.name))).equals(made.bytes));

  for (const [who, list] of [
    ['downloader', events],
    ['seeder', seederEvents],
  ] as const) {
    const connected = list.flatMap((e) => (e.type === 'peer.connected' ? [e.transport] : []));
    assert.ok(connected.length >= 1, `${who}: connected`);
    assert.deepEqual(new Set(connected), new Set(['utp']), `${who}: over uTP only`);
  }
  // Complete, the downloader lets the seeder go at once (two seeds have nothing to trade:
  // dropSeeds), each connection open then closed as notNeeded. (The seeder, not yet told of the
  // last piece, may dial it again after: a new connection, dropped the same way.)
  const after = events.slice(events.findIndex((e) => e.type === 'seeding'));
  const next = after.findIndex((e) => e.type === 'peer.connected');
  const open = (next === -1 ? after : after.slice(0, next)).filter(
    (e) => e.type === 'peer.closed' && e.reason === 'notNeeded',
  );
  assert.equal(open.length, 1, `one connection when the download completed: ${JSON.stringify(events)}`);
});
