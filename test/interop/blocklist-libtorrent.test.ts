/**
 * `--blocklist` against libtorrent on loopback, where every 127.x.y.z is local without setup: two
 * python3-libtorrent seeders, on 127.0.0.1 and 127.0.0.2; bitstate downloads with 127.0.0.2
 * blocked, finishes from the other and never connects to it (its events, and the blocked seeder's
 * peer count, 0 throughout). Then bitstate seeds the result with 127.0.0.3 blocked: a libtorrent
 * downloader on 127.0.0.3 (its dials leave from there) gets nothing, one on 127.0.0.1 the whole
 * torrent.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkSuccessfulDownload, startBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { writeMultiFilePayload } from './harness/payload.js';
import { stopOnEnd } from './harness/processes.js';

test('bitstate --blocklist never dials a blocked libtorrent seeder, and its seed refuses a blocked downloader', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-blocklist-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    approxSize: 2 << 20,
    seed: 5,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 64 * 1024,
  });
  const info = await referenceTorrentInfo(torrent);
  const list = join(dir, 'blocklist.p2p');
  await writeFile(
    list,
    '# a test list\nSecond seeder:127.0.0.2-127.0.0.2\n127.000.000.003 - 127.000.000.003 , 000 , third\n',
  );

  const [allowed, blocked] = await Promise.all([
    startLibtorrentSeeder({ torrent, dataDir: join(dir, 'seed'), trackerOff: true, timeoutMs: 90_000 }),
    startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      host: '127.0.0.2',
      trackerOff: true,
      timeoutMs: 90_000,
    }),
  ]);
  stopOnEnd(t, allowed, blocked);
  let blockedPeers = 0;
  blocked.process.onLine((line, stream) => {
    const m = stream === 'stdout' ? /"peers": (\d+)/.exec(line) : null;
    if (m !== null) blockedPeers = Math.max(blockedPeers, Number(m[1]));
  });

  const out = join(dir, 'out');
  await mkdir(out);
  const blockedAddress = `127.0.0.2:${blocked.port}`;
  const run = startBitstateDownload({
    torrent,
    out,
    // The blocked seeder first: with no filter it would be dialled at once.
    peers: [blockedAddress, `127.0.0.1:${allowed.port}`],
    noTracker: true,
    extraArgs: ['--blocklist', list],
    timeoutMs: 60_000,
  });
  t.after(() => run.stop());
  const problems = await checkSuccessfulDownload(run, {
    source: payload.root,
    dest: join(out, 'tree'),
    pieceCount: info.pieceCount,
    totalLength: info.totalLength,
  });
  assert.deepEqual(problems, [], run.describe());
  assert.deepEqual(
    run.events.filter((e) => e.type === 'peer.blocked').map((e) => [e.address, e.source]),
    [[blockedAddress, 'peer']],
  );
  assert.ok(
    !run.events.some((e) => e.type === 'peer.connected' && String(e.address).startsWith('127.0.0.2:')),
    run.describe(),
  );
  assert.equal(blockedPeers, 0, 'the blocked seeder never had a peer');

  // bitstate seeds what it downloaded, 127.0.0.3 blocked.
  const seeder = await startBitstateSeeder(torrent, out, ['--no-tracker', '--blocklist', list]);
  stopOnEnd(t, seeder.process);
  const refused = await libtorrentDownload({
    torrent,
    outDir: join(dir, 'refused'),
    host: '127.0.0.3',
    peers: [`127.0.0.1:${seeder.port}`],
    timeoutMs: 5_000,
  }).catch((err: unknown) => err);
  assert.ok(refused instanceof Error, 'the downloader on 127.0.0.3 got nothing');
  assert.match(refused.message, /"event": "timeout"/);
  assert.ok(
    seeder.events.some(
      (e) =>
        e.type === 'peer.blocked' && e.source === 'incoming' && String(e.address).startsWith('127.0.0.3:'),
    ),
    JSON.stringify(seeder.events.slice(-10)),
  );
  await libtorrentDownload({
    torrent,
    outDir: join(dir, 'served'),
    peers: [`127.0.0.1:${seeder.port}`],
    timeoutMs: 60_000,
  });
  assert.ok(
    !seeder.events.some((e) => e.type === 'peer.blocked' && String(e.address).startsWith('127.0.0.1:')),
  );
});
