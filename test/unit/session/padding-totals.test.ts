/**
 * The figures a user and a tracker see leave padding out (src/metainfo/piece-data-length.ts,
 * DataBytes), as libtorrent's total_wanted does: a hybrid's BEP 47 padding files and a v2 torrent's
 * implicit padding are never stored nor moved, so they are neither size, nor progress, nor `left`,
 * nor what `--seed-ratio` counts against. Real sessions on 127.0.0.1: a `seed()`, a `download()`,
 * and an HTTP tracker written here that records each announce's `event` and `left`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { download } from '../../../src/session/download.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { listeningSeeder, tempDir, within } from '../../helpers/session.js';

/** None a multiple of the 32 KiB piece: each is followed by padding up to the next piece. */
const LENGTHS = [40_000, 70_001, 5_000];
const DATA = LENGTHS.reduce((a, b) => a + b, 0);
const PIECE = 32 * 1024;

/** `DIR/data/files/` and its torrent in `format`, announcing to `announce` when given. */
async function paddedTorrent(
  dir: string,
  format: 'hybrid' | 'v2',
  announce?: string,
): Promise<{ data: string; contents: Buffer[]; torrent: Torrent }> {
  const data = join(dir, 'data');
  await mkdir(join(data, 'files'), { recursive: true });
  const contents = LENGTHS.map((n) => randomBytes(n));
  for (const [i, bytes] of contents.entries()) await writeFile(join(data, 'files', `f${i}`), bytes);
  const torrent = parseTorrent(
    await createTorrent(join(data, 'files'), {
      pieceLength: PIECE,
      format,
      ...(announce === undefined ? {} : { announce }),
    }),
  );
  assert.ok(torrent.totalLength > DATA, 'the torrent holds padding');
  assert.ok(
    torrent.files.some((f) => f.padding && f.length > 0),
    'padding files listed (BEP 47 or v2 implicit)',
  );
  return { data, contents, torrent };
}

/** An HTTP tracker on 127.0.0.1: records every announce's event and left, answers `started` with the seeder. */
async function recordingTracker(
  t: TestContext,
  seederPort: () => number,
): Promise<{ url: string; announces: { event: string; left: number }[] }> {
  const announces: { event: string; left: number }[] = [];
  const tracker = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const event = q.get('event') ?? '';
    announces.push({ event, left: Number(q.get('left')) });
    const port = seederPort();
    // Only the answer to `started` names the seeder: no piece can be verified before it was sent.
    const peers = event === 'started' ? Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]) : Buffer.alloc(0);
    res.end(
      Buffer.concat([Buffer.from(`d8:intervali1800e5:peers${peers.length}:`), peers, Buffer.from('e')]),
    );
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => tracker.close(() => r())));
  return { url: `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`, announces };
}

for (const format of ['hybrid', 'v2'] as const) {
  test(`${format}: size, progress, done and the tracker's left count the files' bytes, not the padding`, async (t) => {
    const dir = await tempDir(t, 'bitstate-padding-totals-');
    let seederPort = 0;
    const tracker = await recordingTracker(t, () => seederPort);
    const { data, contents, torrent } = await paddedTorrent(dir, format, tracker.url);
    // The seeder never announces: the tracker hears the downloader only.
    seederPort = await listeningSeeder(t, torrent, data);

    const out = join(dir, 'out');
    const job = download(torrent, { out, listen: false, stallTimeoutMs: 20_000 });
    t.after(() => job.stop());
    const events: DownloadEvent[] = [];
    job.events$.subscribe((e) => events.push(e));
    assert.equal((await within(60_000, job.done, 'download')).result, 'complete');
    for (const [i, bytes] of contents.entries())
      assert.ok((await readFile(join(out, torrent.name, `f${i}`))).equals(bytes), `f${i}`);

    const metadata = events.find((e) => e.type === 'metadata');
    assert.equal(metadata?.type === 'metadata' && metadata.totalLength, DATA, 'metadata: the files');
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length > 0, 'progress events');
    for (const p of progress) {
      assert.equal(p.totalLength, DATA, 'progress totalLength: the files');
      assert.ok(p.verifiedBytes <= DATA, `verified ${p.verifiedBytes} of ${DATA}`);
    }
    const last = progress.at(-1)!;
    assert.equal(last.verifiedBytes, DATA, 'the last progress: every byte of the files');
    assert.equal(last.verifiedPieces, last.pieceCount);
    assert.equal(last.etaSeconds, 0);
    const done = events.find((e) => e.type === 'done');
    assert.ok(done?.type === 'done');
    assert.equal(done.totalLength, DATA, 'done: the files');
    assert.equal(done.averageRate, DATA / Math.max(done.transferMs / 1000, 1e-3));

    // A hybrid is announced in both its swarms (BEP 52): a `started` and a `completed` for each.
    const started = tracker.announces.filter((a) => a.event === 'started');
    const completed = tracker.announces.filter((a) => a.event === 'completed');
    assert.equal(started.length, format === 'hybrid' ? 2 : 1, JSON.stringify(tracker.announces));
    assert.equal(completed.length, started.length, JSON.stringify(tracker.announces));
    for (const a of started) assert.equal(a.left, DATA, 'started: left is the files');
    for (const a of completed) assert.equal(a.left, 0, 'completed: nothing left');
  });
}

test('--seed-ratio counts the upload against the data: a seeder that served its files once stops at ratio 1', async (t) => {
  const dir = await tempDir(t, 'bitstate-padding-ratio-');
  const { data, contents, torrent } = await paddedTorrent(dir, 'v2');
  const origin = await listeningSeeder(t, torrent, data);
  // A: downloads from the origin, then seeds until it has uploaded its data once.
  const a = download(torrent, {
    out: join(dir, 'a'),
    trackers: false,
    port: 0,
    peers: [{ host: '127.0.0.1', port: origin }],
    keepSeeding: true,
    seedRatio: 1,
    stallTimeoutMs: 20_000,
  });
  t.after(() => a.stop());
  const aPort = await within(
    60_000,
    new Promise<number>((resolve) =>
      a.events$.subscribe((e) => {
        if (e.type === 'listening') resolve(e.port);
      }),
    ),
    'A listening',
  );
  const aUploaded: number[] = [];
  a.events$.subscribe((e) => {
    if (e.type === 'progress') aUploaded.push(e.uploaded);
  });
  // B: downloads from A alone, so A uploads the files' bytes once — and no padding, which never moves.
  // Alone: without PEX, since A names the origin to B (BEP 11) while A is still downloading from it —
  // as it was at load 16, where B then took part of the data from the origin and A never got to 1.
  const b = download(torrent, {
    out: join(dir, 'b'),
    trackers: false,
    pex: false,
    listen: false,
    peers: [{ host: '127.0.0.1', port: aPort }],
    stallTimeoutMs: 20_000,
  });
  t.after(() => b.stop());
  assert.equal((await within(60_000, b.done, 'B downloads from A')).result, 'complete');
  for (const [i, bytes] of contents.entries())
    assert.ok((await readFile(join(dir, 'b', torrent.name, `f${i}`))).equals(bytes), `f${i}`);
  // A stops by itself: seeding ends `complete` once its rule is met (checked on the 1 s tick).
  assert.equal((await within(60_000, a.done, 'A stops at seed ratio 1')).result, 'complete');
  assert.equal(aUploaded.at(-1), DATA, 'A uploaded the files once, no padding');
});
