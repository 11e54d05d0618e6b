/**
 * Local Service Discovery (BEP 14) in the sessions, over real multicast on 127.0.0.1:
 * - seedMany runs one LSD service for all its torrents: one `lsd.ready` (the host's, no infoHash),
 *   none from a torrent's session, its announces naming each public torrent at the shared port;
 * - a peer announcing a public torrent by LSD is queued for it (`lsd.peer`), and a private torrent
 *   (BEP 27) never takes LSD peers, even from an announce that names it with the public one;
 * - download() and seed() find each other by LSD alone (no tracker, no DHT, no peer given) and the
 *   download completes.
 * Info-hashes are random payloads': other test files multicast to the same group at once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatLsdAnnounce, LSD_GROUP, LSD_PORT, parseLsdAnnounce } from '../../../src/lsd/lsd-message.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { download } from '../../../src/session/download.js';
import { seed } from '../../../src/session/seed.js';
import { type SeedManyEvent, seedMany } from '../../../src/session/seed-many.js';
import { tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

const LSD = { interfaces: ['127.0.0.1'] };

async function torrentOf(data: string, name: string, priv = false) {
  const bytes = randomBytes(200_000);
  await writeFile(join(data, name), bytes);
  const torrent = parseTorrent(await createTorrent(join(data, name), { pieceLength: 32768, private: priv }));
  return { bytes, torrent };
}

/** A plain socket in the group on 127.0.0.1, closed after the test: every announce it hears. */
async function groupListener(t: TestContext) {
  const heard: { port: number; hashes: string[]; cookie?: string }[] = [];
  const waiters: (() => void)[] = [];
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (msg) => {
    try {
      const a = parseLsdAnnounce(msg);
      heard.push({
        port: a.port,
        hashes: a.infoHashes.map((h) => Buffer.from(h).toString('hex')),
        ...(a.cookie === undefined ? {} : { cookie: a.cookie }),
      });
      for (const w of waiters.splice(0)) w();
    } catch {}
  });
  await new Promise<void>((resolve) => s.bind(LSD_PORT, LSD_GROUP, resolve));
  s.addMembership(LSD_GROUP, '127.0.0.1');
  s.setMulticastInterface('127.0.0.1');
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  const until = async (pred: () => boolean, what: string) => {
    while (!pred()) await within(30_000, new Promise<void>((resolve) => waiters.push(resolve)), what);
  };
  const send = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      s.send(bytes, LSD_PORT, LSD_GROUP, (err) => (err ? reject(err) : resolve())),
    );
  return { heard, until, send };
}

test('seedMany: one LSD service announces every public torrent at the shared port; a private torrent takes no LSD peer', async (t) => {
  const dir = await tempDir(t, 'bitstate-lsd-many-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await torrentOf(data, 'a.bin');
  const b = await torrentOf(data, 'b.bin');
  const p = await torrentOf(data, 'p.bin', true);
  const group = await groupListener(t);
  const job = seedMany([p.torrent, a.torrent, b.torrent], { data, trackers: false, port: 0, lsd: LSD });
  t.after(() => job.stop());
  const events: SeedManyEvent[] = [];
  let port: number | undefined;
  job.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'listening') port = e.port;
  });
  const [ha, hb, hp] = [a, b, p].map((x) => x.torrent.infoHashHex);
  const named = (h: string) => group.heard.find((x) => x.hashes.includes(h));
  await group.until(
    () => named(ha!) !== undefined && named(hb!) !== undefined,
    'both public torrents announced',
  );
  assert.equal(named(ha!)!.port, port);
  assert.equal(named(hb!)!.port, port);
  assert.ok(named(ha!)!.cookie !== undefined && named(ha!)!.cookie === named(hb!)!.cookie, 'one service');

  // A peer announcing the private torrent and then a public one, in one datagram: both are
  // dispatched in the one receive, the private first, so a private session taking it would have
  // said so before the public one does.
  const seen = new Promise<void>((resolve) =>
    job.events$.subscribe((e) => e.type === 'lsd.peer' && e.infoHash === ha && resolve()),
  );
  await group.send(
    formatLsdAnnounce({ port: 40101, infoHashes: [p.torrent.infoHash, a.torrent.infoHash], cookie: 'test' }),
  );
  await within(30_000, seen, 'the public torrent took the LSD peer');
  const lsdEvents = events.filter((e) => e.type === 'lsd.ready' || e.type === 'lsd.peer');
  assert.deepEqual(
    lsdEvents.map((e) => [e.type, e.infoHash ?? null, e.type === 'lsd.peer' ? e.address : null]),
    [
      ['lsd.ready', null, null],
      ['lsd.peer', ha, '127.0.0.1:40101'],
    ],
  );
  assert.ok(
    !group.heard.some((x) => x.cookie !== 'test' && x.hashes.includes(hp!)),
    'the private torrent is never announced',
  );
});

test('download() finds seed() by LSD alone on 127.0.0.1 and completes', async (t) => {
  const dir = await tempDir(t, 'bitstate-lsd-session-');
  const data = join(dir, 'data');
  await mkdir(data);
  const { bytes, torrent } = await torrentOf(data, 'file.bin');
  const seeder = seed(torrent, { data, trackers: false, port: 0, lsd: LSD });
  t.after(() => seeder.stop());
  const seederReady = new Promise<void>((resolve) =>
    seeder.events$.subscribe((e) => e.type === 'lsd.ready' && resolve()),
  );
  await within(30_000, seederReady, 'the seed runs LSD');
  const out = join(dir, 'out');
  const job = download(torrent, { out, trackers: false, port: 0, lsd: LSD, stallTimeoutMs: 15_000 });
  const result = await within(60_000, job.done, 'the download');
  assert.equal(result.result, 'complete', JSON.stringify(result));
  assert.deepEqual(await readFile(join(out, 'file.bin')), bytes);
});
