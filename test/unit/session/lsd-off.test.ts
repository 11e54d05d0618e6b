/**
 * Local Service Discovery (BEP 14) that cannot start is said, not silent: when another program
 * holds the group's port without SO_REUSEADDR, a session (seed(), and seedMany's host for all its
 * torrents) says `lsd.off` once with the reason, says no `lsd.ready`, and goes on without LSD.
 *
 * The group's port is a test's own (`lsd.port`, internal), held by a plain socket bound to the
 * group's address without SO_REUSEADDR — as another program would hold 6771. Holding 6771 itself
 * would refuse LSD to every other test file multicasting at the same time (and a socket on
 * 127.0.0.1:6771 would not do: our socket binds the group's address, which that one does not
 * share — tried by hand: the bind succeeds).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { LSD_GROUP } from '../../../src/lsd/lsd-message.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { seed } from '../../../src/session/seed.js';
import { type SeedManyEvent, seedMany } from '../../../src/session/seed-many.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';

/** A UDP port held on the group's address without SO_REUSEADDR (closed after the test). */
async function heldGroupPort(t: TestContext): Promise<number> {
  const s: Socket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ port: 0, address: LSD_GROUP }, () => resolve());
  });
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s.address().port;
}

function until<E extends { type: string }>(
  events$: { subscribe(f: (e: E) => void): unknown },
  type: E['type'],
): Promise<E> {
  return within(
    60_000,
    new Promise<E>((resolve) =>
      events$.subscribe((e) => {
        if (e.type === type) resolve(e);
      }),
    ),
    type,
  );
}

test('seed(): LSD whose port another program holds is said once (lsd.off, the reason); the seed goes on', async (t) => {
  const dir = await tempDir(t, 'bitstate-lsd-off-');
  const { data, torrent } = await randomFileTorrent(dir, { size: 100_000 });
  const port = await heldGroupPort(t);
  const seeder = seed(torrent, {
    data,
    trackers: false,
    port: 0,
    lsd: { interfaces: ['127.0.0.1'], port },
  });
  t.after(() => seeder.stop());
  const events: DownloadEvent[] = [];
  seeder.events$.subscribe((e) => events.push(e));
  const off = await until(seeder.events$, 'lsd.off');
  assert.ok(off.type === 'lsd.off');
  assert.match(off.reason, new RegExp(`UDP port ${port} is held by another program that does not share it`));
  const result = await seeder.stop();
  assert.notEqual(result.result, 'failed', 'the seed went on without LSD until stopped');
  assert.equal(events.filter((e) => e.type === 'lsd.off').length, 1);
  assert.equal(events.filter((e) => e.type === 'lsd.ready').length, 0);
});

test("seedMany: the host's LSD whose port is held is said once, for no torrent", async (t) => {
  const dir = await tempDir(t, 'bitstate-lsd-off-many-');
  const a = await randomFileTorrent(dir, { size: 50_000 });
  const port = await heldGroupPort(t);
  const job = seedMany([a.torrent], {
    data: a.data,
    trackers: false,
    port: 0,
    lsd: { interfaces: ['127.0.0.1'], port },
  });
  t.after(() => job.stop());
  const events: SeedManyEvent[] = [];
  job.events$.subscribe((e) => events.push(e));
  await until(job.events$, 'lsd.off');
  await job.stop();
  const offs = events.filter((e) => e.type === 'lsd.off');
  assert.equal(offs.length, 1);
  assert.equal(offs[0]?.infoHash, undefined, "the host's, for every torrent");
  assert.equal(events.filter((e) => e.type === 'lsd.ready').length, 0);
});
