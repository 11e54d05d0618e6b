/**
 * BEP 21's tracker half, end to end in real sessions on 127.0.0.1: what an HTTP tracker written here
 * hears from a selective download (`selected`, the CLI's `--select` / `--only`). As libtorrent 2.0.8
 * (measured on 127.0.0.1): `left` is the bytes of every piece we lack, wanted or not, so a partial
 * seed is no seed to the tracker; it never sends `completed`; and while it is a partial seed every
 * announce but `stopped` says `event=paused`, its first one too.
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

const PIECE = 32 * 1024;
/** Three files on piece boundaries: selecting a.bin and c.bin leaves b.bin's three pieces unwanted. */
const FILES = [
  ['a.bin', 2 * PIECE],
  ['b.bin', 3 * PIECE],
  ['c.bin', PIECE],
] as const;
const TOTAL = FILES.reduce((s, [, n]) => s + n, 0);
const B_BYTES = 3 * PIECE;
const SELECTED = [true, false, true];

interface Announce {
  readonly event: string;
  readonly left: number;
}

/** An HTTP tracker on 127.0.0.1 that records each announce and names the seeder in every answer. */
async function recordingTracker(t: TestContext, seederPort: () => number) {
  const announces: Announce[] = [];
  const tracker = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    announces.push({ event: q.get('event') ?? 'regular', left: Number(q.get('left')) });
    const port = seederPort();
    const peers = Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]);
    res.end(Buffer.concat([Buffer.from(`d8:intervali1800e5:peers6:`), peers, Buffer.from('e')]));
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => tracker.close(() => r())));
  return { url: `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`, announces };
}

test('a selective download: left counts the unwanted pieces, no completed; the partial seed it leaves announces paused', async (t) => {
  const dir = await tempDir(t, 'bitstate-partial-announce-');
  let seederPort = 0;
  const tracker = await recordingTracker(t, () => seederPort);
  const data = join(dir, 'data');
  await mkdir(join(data, 'tree'), { recursive: true });
  for (const [name, n] of FILES) await writeFile(join(data, 'tree', name), randomBytes(n));
  const torrent = parseTorrent(
    await createTorrent(join(data, 'tree'), { pieceLength: PIECE, announce: tracker.url }),
  );
  // The seeder never announces: the tracker hears the downloader only.
  seederPort = await listeningSeeder(t, torrent, data);
  const out = join(dir, 'out');

  // 1. a.bin and c.bin fetched, then the session ends: started, then stopped — no completed.
  const first = download(torrent, { out, listen: false, selected: SELECTED, stallTimeoutMs: 20_000 });
  t.after(() => first.stop());
  assert.equal((await within(60_000, first.done, 'the selective download')).result, 'complete');
  assert.deepEqual(tracker.announces, [
    { event: 'started', left: TOTAL },
    { event: 'stopped', left: B_BYTES },
  ]);

  // 2. The same selection again, seeding on: a partial seed from the start (its resume file).
  tracker.announces.length = 0;
  const again = download(torrent, { out, listen: false, selected: SELECTED, keepSeeding: true });
  t.after(() => again.stop());
  let seeding = false;
  again.events$.subscribe((e) => {
    if (e.type === 'seeding') seeding = true;
  });
  await within(
    30_000,
    (async () => {
      while (!seeding || tracker.announces.length === 0) await sleep(20);
    })(),
    'seeding and the first announce',
  );
  await again.stop();
  assert.deepEqual(tracker.announces, [
    { event: 'paused', left: B_BYTES },
    { event: 'stopped', left: B_BYTES },
  ]);
});
