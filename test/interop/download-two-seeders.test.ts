/**
 * Two python3-libtorrent seeders, one killed (SIGKILL, no goodbye) in the middle of a download:
 * `bitstate download` must notice the dead connection, hand that peer's outstanding blocks to the
 * survivor and still finish byte for byte. Both seeders are rate-limited so the download lasts a
 * few seconds and the kill lands while blocks are in flight from both. Issue #4. It also runs with
 * `--write-mode pool`: every write on libuv's threads, the path a network file system takes (the
 * other downloads here write on the main thread while the disk keeps up).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BitstateEvent, checkSuccessfulDownload, startBitstateDownload } from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { writeMultiFilePayload } from './harness/payload.js';
import { stopOnEnd } from './harness/processes.js';

/** Each seeder's upload cap: 6 MiB at 2 × 1 MiB/s, then the survivor alone, is about 5 s. */
const UPLOAD_LIMIT = 1 << 20;
const PAYLOAD_SIZE = 6 << 20;

function verifiedCount(events: readonly BitstateEvent[]): number {
  return events.filter((e) => e.type === 'piece.verified').length;
}

/** Requests outstanding to `address` in the last `progress` event (with --peers detail). */
function outstandingTo(events: readonly BitstateEvent[], address: string): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e?.type !== 'progress' || !Array.isArray(e.peers)) continue;
    const p = (e.peers as { address?: unknown; outstanding?: unknown }[]).find((x) => x.address === address);
    return typeof p?.outstanding === 'number' ? p.outstanding : 0;
  }
  return 0;
}

test('two libtorrent seeders, one killed mid-download: bitstate completes from the other', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-two-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    approxSize: PAYLOAD_SIZE,
    seed: 31,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 128 * 1024,
  });
  const info = await referenceTorrentInfo(torrent);

  const [victim, survivor] = await Promise.all([
    startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      uploadLimit: UPLOAD_LIMIT,
      timeoutMs: 90_000,
    }),
    startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      uploadLimit: UPLOAD_LIMIT,
      timeoutMs: 90_000,
    }),
  ]);
  stopOnEnd(t, victim, survivor);
  const victimAddress = `127.0.0.1:${victim.port}`;
  const survivorAddress = `127.0.0.1:${survivor.port}`;

  const out = join(dir, 'out');
  await mkdir(out);
  const run = startBitstateDownload({
    torrent,
    out,
    peers: [victimAddress, survivorAddress],
    noTracker: true,
    stallTimeoutSec: 15,
    timeoutMs: 60_000,
    extraArgs: ['--peers', '--write-mode', 'pool'],
  });
  t.after(() => run.stop());

  // Kill only mid-download: some pieces verified, and blocks outstanding to both seeders.
  await run.waitForEvent(
    (_e, all) =>
      verifiedCount(all) >= 4 &&
      outstandingTo(all, victimAddress) > 0 &&
      outstandingTo(all, survivorAddress) > 0,
    20_000,
  );
  const verifiedAtKill = verifiedCount(run.events);
  assert.ok(!run.events.some((e) => e.type === 'done'), 'the download is still running at the kill');
  process.kill(-victim.process.pid, 'SIGKILL');
  const killedAt = run.events.length;

  const problems = await checkSuccessfulDownload(run, {
    source: payload.root,
    dest: join(out, 'tree'),
    pieceCount: info.pieceCount,
    totalLength: info.totalLength,
  });
  assert.deepEqual(problems, [], run.describe());
  assert.ok(
    verifiedAtKill <= (info.pieceCount * 3) / 4,
    `a good part of the pieces came after the kill (${verifiedAtKill} of ${info.pieceCount} before)`,
  );
  const after = run.events.slice(killedAt);
  assert.ok(
    after.some(
      (e) =>
        e.type === 'peer.closed' &&
        e.address === victimAddress &&
        (e.reason === 'socketClosed' || e.reason === 'socketError'),
    ),
    `a peer.closed event for the killed seeder; ${run.describe()}`,
  );
  assert.ok(
    run.events.some((e) => e.type === 'peer.connected' && e.address === survivorAddress),
    'the survivor was connected',
  );
});
