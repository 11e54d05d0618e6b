/**
 * BEP 21's `paused` to a tracker that does not know it, end to end in real sessions on 127.0.0.1.
 * chihaya fails `event=paused` ("failed to provide valid client event") and UDP event 4 ("malformed
 * event ID"), aquatic's HTTP tracker fails `event=paused`: a partial seed of libtorrent's fails every
 * announce there. Ours announces again at once with no event (BEP 3's regular announce, the same
 * `left`: the bytes of every piece it lacks) and sends that tracker no `paused` after. Each tracker
 * here is written in the test and fails `paused` as chihaya does; every other announce it answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { download } from '../../../src/session/download.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';
import { startFakeUdpTracker } from '../tracker/fake-udp-tracker.js';

const PIECE = 32 * 1024;
/** Three files on piece boundaries: selecting a.bin and c.bin leaves b.bin's three pieces unwanted. */
const FILES = [
  ['a.bin', 2 * PIECE],
  ['b.bin', 3 * PIECE],
  ['c.bin', PIECE],
] as const;
const B_BYTES = 3 * PIECE;
const SELECTED = [true, false, true];

interface Announce {
  readonly event: string;
  readonly left: number;
}

interface RefusingTracker {
  readonly url: string;
  readonly announces: Announce[];
}

/** chihaya's answer to an event it does not know (bittorrent.ErrUnknownEvent). */
const CHIHAYA = 'failed to provide valid client event';

/** An HTTP tracker on 127.0.0.1 that fails `event=paused` as chihaya does, and names the seeder otherwise. */
async function httpTracker(t: TestContext, seederPort: () => number): Promise<RefusingTracker> {
  const announces: Announce[] = [];
  const tracker = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const event = q.get('event') ?? 'regular';
    announces.push({ event, left: Number(q.get('left')) });
    if (event === 'paused') return void res.end(`d14:failure reason${CHIHAYA.length}:${CHIHAYA}e`);
    const port = seederPort();
    const peers = Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]);
    res.end(Buffer.concat([Buffer.from('d8:intervali1800e5:peers6:'), peers, Buffer.from('e')]));
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => tracker.close(() => r())));
  return { url: `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`, announces };
}

/** BEP 15's event codes, and libtorrent's 4 for `paused`. */
const UDP_EVENTS = ['regular', 'completed', 'started', 'stopped', 'paused'];

/** A UDP tracker on 127.0.0.1 that answers event 4 with the error action, as chihaya does. */
async function udpTracker(t: TestContext, seederPort: () => number): Promise<RefusingTracker> {
  const tracker = await startFakeUdpTracker({
    peers: () => [{ host: '127.0.0.1', port: seederPort() }],
    failure: (r) => (r.event === 4 ? 'malformed event ID' : undefined),
  });
  t.after(() => tracker.close());
  return {
    url: tracker.url,
    get announces() {
      return tracker.received
        .filter((r) => r.action === 1)
        .map((r) => ({ event: UDP_EVENTS[r.event ?? 0] ?? String(r.event), left: r.left ?? -1 }));
    },
  };
}

/**
 * A selective download of a.bin and c.bin (its announces are none of this test's business), then the
 * same selection again, seeding on: a partial seed from the start. What the tracker hears from that one.
 */
async function partialSeedAnnounces(
  t: TestContext,
  makeTracker: (t: TestContext, seederPort: () => number) => Promise<RefusingTracker>,
): Promise<Announce[]> {
  const dir = await tempDir(t, 'bitstate-paused-refused-');
  let seederPort = 0;
  const tracker = await makeTracker(t, () => seederPort);
  const data = join(dir, 'data');
  await mkdir(join(data, 'tree'), { recursive: true });
  for (const [name, n] of FILES) await writeFile(join(data, 'tree', name), randomBytes(n));
  const torrent = parseTorrent(
    await createTorrent(join(data, 'tree'), { pieceLength: PIECE, announce: tracker.url }),
  );
  seederPort = await listeningSeeder(t, torrent, data);
  const out = join(dir, 'out');
  const first = download(torrent, { out, listen: false, selected: SELECTED, stallTimeoutMs: 20_000 });
  t.after(() => first.stop());
  assert.equal((await within(60_000, first.done, 'the selective download')).result, 'complete');

  const before = tracker.announces.length;
  const again = download(torrent, { out, listen: false, selected: SELECTED, keepSeeding: true });
  t.after(() => again.stop());
  const heard = () => tracker.announces.slice(before);
  await within(
    30_000,
    (async () => {
      while (!heard().some((a) => a.event === 'regular')) await sleep(20);
    })(),
    'an event-less announce after the refused paused',
  );
  await again.stop();
  return heard();
}

const EXPECTED: Announce[] = [
  { event: 'paused', left: B_BYTES },
  { event: 'regular', left: B_BYTES },
  { event: 'stopped', left: B_BYTES },
];

test('HTTP: a tracker that fails event=paused (chihaya, aquatic) is announced to at once with no event, the same left', async (t) => {
  assert.deepEqual(await partialSeedAnnounces(t, httpTracker), EXPECTED);
});

test('UDP: a tracker that answers event 4 with the error action (chihaya) is announced to at once with event 0, the same left', async (t) => {
  assert.deepEqual(await partialSeedAnnounces(t, udpTracker), EXPECTED);
});
