/**
 * seedMany: several torrents seeded from one process on one port (src/session/seed-many.ts,
 * src/net/torrent-router.ts). Real sockets on 127.0.0.1: downloads of different torrents dial the
 * same port at once — plain handshakes, MSE with RC4 (where the torrent is known only from the
 * SKEY), uTP — and each gets its own torrent's bytes; a handshake naming a torrent the seeder does
 * not have, plain or MSE, is closed; one DHT node, on the port's number, announces every torrent;
 * a torrent whose data is missing stops everything before the port opens; one whose data is cut
 * short while it seeds stops alone (its connections closed, its hash refused, a `torrent.failed`
 * event), the others serving on — over uTP too: the shared uTP manager is the job's, not closed by
 * the torrent that ended — and the job ends `failed` when the last one has; past
 * `maxPeersGlobal` connections held open, every torrent's together, a newcomer is closed
 * unanswered until one closes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { MseInitiator } from '../../../src/net/mse-initiator.js';
import { download } from '../../../src/session/download.js';
import { SeedError } from '../../../src/session/seed.js';
import {
  maxPeersGlobalOf,
  type SeedManyEvent,
  type SeedManyJob,
  type SeedManyOptions,
  seedMany,
} from '../../../src/session/seed-many.js';
import { encodeHandshake } from '../../../src/wire/encode-message.js';
import { dhtRouter, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

interface Payload {
  readonly name: string;
  readonly bytes: Buffer;
  readonly torrent: Torrent;
}

/** `data/NAME` of `size` random bytes and its torrent (32 KiB pieces; `format` v1 unless said). */
async function payload(
  data: string,
  name: string,
  size: number,
  format: 'v1' | 'hybrid' = 'v1',
): Promise<Payload> {
  const bytes = randomBytes(size);
  await writeFile(join(data, name), bytes);
  const torrent = parseTorrent(await createTorrent(join(data, name), { pieceLength: 32768, format }));
  return { name, bytes, torrent };
}

/** Starts seedMany (no trackers, no DHT, any port), stopped after the test; resolves with its port once every torrent is seeding. */
async function seeding(
  t: TestContext,
  torrents: readonly Torrent[],
  data: string,
  events: SeedManyEvent[] = [],
  options: Partial<SeedManyOptions> = {},
): Promise<{ job: SeedManyJob; port: number }> {
  const job = seedMany(torrents, { data, trackers: false, port: 0, ...options });
  t.after(() => job.stop());
  const port = await within(
    60_000,
    new Promise<number>((resolve, reject) => {
      const checked = new Set<string>();
      let port: number | undefined;
      job.events$.subscribe((e) => {
        events.push(e);
        if (e.type === 'listening') port = e.port;
        if (e.type === 'checked' && e.infoHash !== undefined) checked.add(e.infoHash);
        if (port !== undefined && checked.size === torrents.length) resolve(port);
      });
      job.done.then((r) => reject(new Error(`seedMany ended: ${JSON.stringify(r)}`)), reject);
    }),
    'every torrent seeding',
  );
  return { job, port };
}

/** Downloads `p` from 127.0.0.1:port into `out` and checks its bytes. */
async function fetchFrom(
  port: number,
  p: Payload,
  out: string,
  o: { encryption?: 'plaintext' | 'required'; utp?: 'prefer' } = {},
): Promise<void> {
  const job = download(p.torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
    stallTimeoutMs: 10_000,
    ...o,
  });
  const result = await within(60_000, job.done, `download of ${p.name}`);
  assert.equal(result.result, 'complete', `${p.name}: ${JSON.stringify(result)}`);
  assert.ok((await readFile(join(out, p.name))).equals(p.bytes), `${p.name}: bytes equal`);
}

/** Resolves when the seeder has closed `socket` (the test's own end is destroyed after). */
function closedByPeer(socket: import('node:net').Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

test('three torrents on one port: plain, MSE (RC4) and uTP downloads at once, each its own bytes', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 300_000);
  const b = await payload(data, 'b.bin', 200_000);
  const c = await payload(data, 'c.bin', 250_000, 'hybrid');
  const events: SeedManyEvent[] = [];
  const { job, port } = await seeding(t, [a.torrent, b.torrent, c.torrent], data, events);

  await Promise.all([
    fetchFrom(port, a, join(dir, 'out-a'), { encryption: 'plaintext' }),
    // MSE: the torrent is known only from the SKEY; RC4 carries the rest.
    fetchFrom(port, b, join(dir, 'out-b'), { encryption: 'required' }),
    fetchFrom(port, c, join(dir, 'out-c'), { utp: 'prefer' }),
  ]);

  // Each torrent's session had its downloader's connection, carried as that downloader asked.
  const connections = (p: Payload) =>
    events.flatMap((e) =>
      e.type === 'peer.connected' && e.infoHash === p.torrent.infoHashHex
        ? [`${e.encryption}/${e.transport}`]
        : [],
    );
  assert.deepEqual(connections(a), ['none/tcp']);
  assert.deepEqual(connections(b), ['rc4/tcp']);
  assert.deepEqual(connections(c), ['none/utp']);
  assert.equal(new Set(events.filter((e) => e.type === 'listening').map((e) => e.port)).size, 1, 'one port');
  const result = await job.stop();
  assert.notEqual(result.result, 'failed', JSON.stringify(result));
});

test('a handshake naming a torrent not seeded here is closed, plain or MSE; the port goes on serving', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-unknown-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 100_000);
  const b = await payload(data, 'b.bin', 100_000);
  const { port } = await seeding(t, [a.torrent, b.torrent], data);
  const stranger = randomBytes(20);

  const plain = connect({ host: '127.0.0.1', port });
  t.after(() => plain.destroy());
  const plainClosed = closedByPeer(plain);
  plain.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: stranger, peerId: randomBytes(20) }));
  let answered = 0;
  plain.on('data', (d: Buffer) => (answered += d.length));
  await within(60_000, plainClosed, 'the plain handshake for another torrent closed');
  assert.equal(answered, 0, 'nothing said to it');

  const mse = connect({ host: '127.0.0.1', port });
  t.after(() => mse.destroy());
  const mseClosed = closedByPeer(mse);
  const initiator = new MseInitiator(stranger, 'required');
  mse.write(initiator.opening());
  for (const bytes of initiator.setInitialPayload(
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: stranger, peerId: randomBytes(20) }),
  ))
    mse.write(bytes);
  mse.on('data', (d: Buffer) => {
    try {
      for (const bytes of initiator.push(d).send) mse.write(bytes);
    } catch {
      mse.destroy();
    }
  });
  await within(60_000, mseClosed, 'the MSE handshake for another torrent closed');

  await fetchFrom(port, b, join(dir, 'out-b'));
});

test('a torrent whose data is missing: refused before the port opens, nothing served', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-missing-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 100_000);
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(elsewhere);
  const lost = await payload(elsewhere, 'lost.bin', 100_000);
  const events: SeedManyEvent[] = [];
  const job = seedMany([a.torrent, lost.torrent], { data, trackers: false, port: 0 });
  job.events$.subscribe((e) => events.push(e));
  await assert.rejects(within(60_000, job.done, 'seedMany'), (err: unknown) => {
    assert.ok(err instanceof SeedError);
    assert.equal(err.code, 'missingFile');
    assert.match(err.message, /lost\.bin is missing/);
    return true;
  });
  assert.deepEqual(events, [], 'no torrent started');
});

test('the same torrent twice is refused', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-twice-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 50_000);
  const job = seedMany([a.torrent, a.torrent], { data, trackers: false, port: 0 });
  await assert.rejects(within(60_000, job.done, 'seedMany'), { code: 'duplicateTorrent' });
});

test('one DHT node for all: every torrent announced at the one port, from one node, one dht.ready', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-dht-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 60_000);
  const b = await payload(data, 'b.bin', 60_000);
  const { router, dht } = await dhtRouter(t);
  const job = seedMany([a.torrent, b.torrent], { data, trackers: false, port: 0, dht });
  t.after(() => job.stop());
  const events: SeedManyEvent[] = [];
  await within(
    60_000,
    new Promise<void>((resolve) => {
      const announced = new Set<string>();
      job.events$.subscribe((e) => {
        events.push(e);
        if (e.type === 'dht.peers' && e.announced > 0 && e.infoHash !== undefined) announced.add(e.infoHash);
        if (announced.size === 2) resolve();
      });
    }),
    'both torrents announced',
  );
  const listening = events.find((e) => e.type === 'listening');
  assert.ok(listening?.type === 'listening');
  const ready = events.filter((e) => e.type === 'dht.ready');
  assert.equal(ready.length, 1, 'one node, said once');
  assert.ok(ready[0]?.type === 'dht.ready' && ready[0].port === listening.port, "on the port's number");
  for (const p of [a, b])
    assert.deepEqual(
      router.node.store.peers(p.torrent.infoHashHex, performance.now()).map((x) => x.port),
      [listening.port],
      `${p.name} announced at the one port`,
    );
  assert.equal(router.node.table.size, 1, 'one node asked the router');
});

test('a torrent none of whose pieces match stops the others: done rejects with its SeedError', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-nomatch-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 60_000);
  const b = await payload(data, 'b.bin', 60_000);
  await writeFile(join(data, 'b.bin'), randomBytes(60_000)); // its size, other bytes
  const events: SeedManyEvent[] = [];
  const job = seedMany([a.torrent, b.torrent], { data, trackers: false, port: 0 });
  t.after(() => job.stop().catch(() => {})); // done rejects: asserted below
  job.events$.subscribe((e) => events.push(e));
  await assert.rejects(within(60_000, job.done, 'seedMany'), (err: unknown) => {
    assert.ok(err instanceof SeedError, String(err));
    assert.equal(err.code, 'nothingMatches');
    assert.match(err.message, /b\.bin/);
    return true;
  });
  const last = (p: Payload) => events.filter((e) => e.infoHash === p.torrent.infoHashHex).at(-1)?.type;
  assert.ok(last(a) === 'done' || last(a) === 'stopped', `a stopped too: ${String(last(a))}`);
});

/** A plain handshake for `p` that the seeder answers and holds; `closed` resolves when the seeder closes it. */
async function heldConnection(
  t: TestContext,
  port: number,
  p: Payload,
): Promise<{ closed: Promise<void>; got: () => number }> {
  const s = connect({ host: '127.0.0.1', port });
  t.after(() => s.destroy());
  const closed = closedByPeer(s);
  let got = 0;
  const answered = new Promise<void>((resolve) =>
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 68) resolve();
    }),
  );
  s.write(
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: p.torrent.infoHash, peerId: randomBytes(20) }),
  );
  await within(60_000, answered, `${p.name}'s handshake answered`);
  return { closed, got: () => got };
}

/** Resolves with the `torrent.failed` event of `p` (and every event after it is still collected by the caller). */
function failureOf(job: SeedManyJob, p: Payload): Promise<SeedManyEvent & { type: 'torrent.failed' }> {
  return new Promise((resolve) =>
    job.events$.subscribe((e) => {
      if (e.type === 'torrent.failed' && e.infoHash === p.torrent.infoHashHex) resolve(e);
    }),
  );
}

/** A download of `p` from the seeder that asks for its blocks (and makes the seeder read them); stopped by the test. */
function asking(t: TestContext, port: number, p: Payload, out: string): void {
  const job = download(p.torrent, {
    out,
    peers: [{ host: '127.0.0.1', port }],
    trackers: false,
    listen: false,
  });
  t.after(() => job.stop());
}

test('a torrent whose data is cut short while seeding stops alone: its connections closed, its hash refused, the other serves on (uTP too)', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-diskerror-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 200_000);
  const b = await payload(data, 'b.bin', 150_000);
  const events: SeedManyEvent[] = [];
  const { job, port } = await seeding(t, [a.torrent, b.torrent], data, events);
  let settled = false;
  void job.done.then(
    () => (settled = true),
    () => (settled = true),
  );
  const idle = await heldConnection(t, port, a); // A's, asking nothing: closed with A all the same
  const failed = failureOf(job, a);

  await truncate(join(data, 'a.bin'), 0); // the disk fails A: the next read of its data comes back short
  asking(t, port, a, join(dir, 'out-a'));
  const event = await within(60_000, failed, "A's failure");
  assert.match(event.message, /a\.bin is shorter than the torrent says/);
  assert.equal(event.left, 1, 'B still seeding');
  await within(60_000, idle.closed, "A's idle connection closed");

  // A handshake naming A is closed unanswered: its route is gone.
  const late = connect({ host: '127.0.0.1', port });
  t.after(() => late.destroy());
  const lateClosed = closedByPeer(late);
  let answered = 0;
  late.on('data', (d: Buffer) => (answered += d.length));
  late.write(
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: a.torrent.infoHash, peerId: randomBytes(20) }),
  );
  await within(60_000, lateClosed, 'a handshake for A closed');
  assert.equal(answered, 0, 'nothing said to it');

  // B serves on, from the same port, over uTP too: A's end did not close the shared uTP manager.
  await fetchFrom(port, b, join(dir, 'out-b'), { utp: 'prefer' });
  assert.deepEqual(
    events.flatMap((e) =>
      e.type === 'peer.connected' && e.infoHash === b.torrent.infoHashHex ? [e.transport] : [],
    ),
    ['utp'],
    "B's download came over uTP",
  );
  assert.equal(settled, false, 'the job goes on while B seeds');
  const bEnd = events.filter(
    (e) => e.infoHash === b.torrent.infoHashHex && (e.type === 'stopped' || e.type === 'done'),
  );
  assert.deepEqual(bEnd, [], 'B never stopped');

  const result = await job.stop();
  assert.equal(result.result, 'failed', 'a torrent failed during the run');
  assert.ok(result.result === 'failed' && /^a\.bin: .*shorter/.test(result.message), JSON.stringify(result));
});

test('when the last torrent has failed, the job ends by itself, failed, naming each', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-allfail-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 100_000);
  const b = await payload(data, 'b.bin', 100_000);
  const { job, port } = await seeding(t, [a.torrent, b.torrent], data);
  const failedA = failureOf(job, a);
  await truncate(join(data, 'a.bin'), 0);
  asking(t, port, a, join(dir, 'out-a'));
  assert.equal((await within(60_000, failedA, "A's failure")).left, 1);
  const failedB = failureOf(job, b);
  await truncate(join(data, 'b.bin'), 0);
  asking(t, port, b, join(dir, 'out-b'));
  assert.equal((await within(60_000, failedB, "B's failure")).left, 0);
  const result = await within(60_000, job.done, 'the job ended without stop()');
  assert.equal(result.result, 'failed');
  assert.ok(
    result.result === 'failed' && /^a\.bin: .*; b\.bin: /.test(result.message),
    JSON.stringify(result),
  );
});

test('--max-peers-global: past it, every torrent together, a newcomer is closed unanswered; one closed makes room', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-many-cap-');
  const data = join(dir, 'data');
  await mkdir(data);
  const a = await payload(data, 'a.bin', 100_000);
  const b = await payload(data, 'b.bin', 100_000);
  const events: SeedManyEvent[] = [];
  const { job, port } = await seeding(t, [a.torrent, b.torrent], data, events, { maxPeersGlobal: 2 });

  /** A connection that sends `p`'s handshake; `answered` resolves once the seeder's handshake is back. */
  const handshaking = (p: Payload) => {
    const s = connect({ host: '127.0.0.1', port });
    t.after(() => s.destroy());
    let got = 0;
    const answered = new Promise<void>((resolve) =>
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 68) resolve();
      }),
    );
    const closed = closedByPeer(s);
    s.write(
      encodeHandshake({ reserved: new Uint8Array(8), infoHash: p.torrent.infoHash, peerId: randomBytes(20) }),
    );
    return { s, answered, closed, got: () => got };
  };
  // One connection held by each torrent: the cap of 2 is full.
  const held = [handshaking(a), handshaking(b)];
  await within(60_000, Promise.all(held.map((h) => h.answered)), 'both handshakes answered');
  const refused = handshaking(a);
  await within(60_000, refused.closed, 'the third connection closed');
  assert.equal(refused.got(), 0, 'unanswered: closed before any handshake work');

  // The one B held goes away: once B's session has seen it close, a download of B gets through.
  const bClosed = new Promise<void>((resolve) =>
    job.events$.subscribe((e) => {
      if (e.type === 'peer.closed' && e.infoHash === b.torrent.infoHashHex) resolve();
    }),
  );
  held[1]!.s.destroy();
  await within(60_000, bClosed, "B's session saw it close");
  await fetchFrom(port, b, join(dir, 'out-b'));
  assert.equal(held[0]!.s.destroyed, false, "A's connection still open");
});

test('the default overall cap: 200, or twice --max-peers when that is more', () => {
  assert.equal(maxPeersGlobalOf({}), 200);
  assert.equal(maxPeersGlobalOf({ maxPeers: 80 }), 200);
  assert.equal(maxPeersGlobalOf({ maxPeers: 300 }), 600);
  assert.equal(maxPeersGlobalOf({ maxPeers: 300, maxPeersGlobal: 20 }), 20);
});
