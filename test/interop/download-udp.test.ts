/**
 * A download through a UDP-only torrent (issue #6): the torrent's one announce URL is opentracker's
 * udp:// URL (BEP 15), a python3-libtorrent seeder registers there, and `bitstate download` (the
 * built CLI, no --peer) must find it through the UDP tracker alone and fetch exact bytes.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { checkSuccessfulDownload, startBitstateDownload } from './harness/bitstate.js';
import { type ReferenceTorrentInfo, referenceTorrentInfo } from './harness/info-hash.js';
import { type LibtorrentSeeder, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { type Payload, writeSingleFilePayload } from './harness/payload.js';
import { stopAll } from './harness/processes.js';

const DOWNLOAD_TIMEOUT_MS = 30_000;
const STALL_TIMEOUT_SEC = 10;

let dir = '';
let tracker: Opentracker | undefined;
let seeder: LibtorrentSeeder | undefined;
let payload: Payload;
let torrent: string;
let info: ReferenceTorrentInfo;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-udp-'));
  tracker = await startOpentracker();
  payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'udp-only.bin',
    size: (2 << 20) + 4321,
    seed: 61,
  });
  torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'udp-only.torrent'),
    pieceLength: 64 * 1024,
    announce: [tracker.udpUrl],
  });
  info = await referenceTorrentInfo(torrent);
  await tracker.allow([info.infoHash]);
  seeder = await startLibtorrentSeeder({ torrent, dataDir: join(dir, 'seed'), timeoutMs: 120_000 });
  // The seeder announces over UDP; opentracker's HTTP scrape sees the same swarm.
  await tracker.waitForSeeders(info.infoHash, 1, 15_000);
});

after(async () => {
  await stopAll([tracker, seeder]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

it('bitstate downloads a torrent whose only tracker is udp:// (opentracker), from a libtorrent seeder', async (t) => {
  assert.ok(tracker !== undefined && seeder !== undefined);
  const out = join(dir, 'out');
  await mkdir(out);
  const run = startBitstateDownload({
    torrent,
    out,
    stallTimeoutSec: STALL_TIMEOUT_SEC,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
  });
  t.after(() => run.stop());
  const problems = await checkSuccessfulDownload(run, {
    source: payload.root,
    dest: join(out, 'udp-only.bin'),
    pieceCount: info.pieceCount,
    totalLength: info.totalLength,
  });
  assert.deepEqual(problems, [], run.describe());
  assert.ok(
    run.events.some((e) => e.type === 'tracker.announce' && e.ok === true && e.url === tracker?.udpUrl),
    `a successful announce to the udp:// tracker; ${run.describe()}`,
  );
  assert.ok(
    run.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seeder?.port}`),
    `connected to the seeder the UDP tracker named; ${run.describe()}`,
  );
});
