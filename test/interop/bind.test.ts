/**
 * `--bind` and `--tracker` against other clients (the built CLI, dist/): on loopback 127.0.0.2 is
 * this machine's without setup, so a bitstate bound to it is seen coming from it.
 *
 * - a python3-libtorrent seeder on 127.0.0.1, dialled with --peer by `bitstate download --bind
 *   127.0.0.2`: its own peer list (libtorrent's get_peer_info) holds 127.0.0.2;
 * - opentracker (127.0.0.1) and a libtorrent seeder announcing there: `bitstate download` of the same
 *   torrent without its tracker, given opentracker's udp:// URL with --tracker and bound to
 *   127.0.0.2, finds the seeder through it alone and completes; seeding on (--seed), a second
 *   client's announce gets 127.0.0.2 at bitstate's port from the tracker.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { announce } from '../../src/tracker/http-announce.js';
import { checkSuccessfulDownload, startBitstateDownload } from './harness/bitstate.js';
import { type ReferenceTorrentInfo, referenceTorrentInfo } from './harness/info-hash.js';
import {
  type LibtorrentPeerSource,
  libtorrentClientCommand,
  startLibtorrentSeeder,
} from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { type Payload, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, startProcess, stopAll, whileRunning } from './harness/processes.js';

const DOWNLOAD_TIMEOUT_MS = 30_000;
const STALL_TIMEOUT_SEC = 10;

let dir = '';
let tracker: Opentracker | undefined;
let payload: Payload;
/** The torrent with opentracker's HTTP URL (the libtorrent seeder's), and the same without a tracker. */
let withTracker: string;
let trackerless: string;
let info: ReferenceTorrentInfo;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-bind-'));
  tracker = await startOpentracker();
  payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'bound.bin',
    size: (1 << 20) + 777,
    seed: 17,
  });
  withTracker = await makeTorrent({
    source: payload.root,
    out: join(dir, 'with-tracker.torrent'),
    pieceLength: 64 * 1024,
    announce: [tracker.announceUrl],
  });
  trackerless = await makeTorrent({
    source: payload.root,
    out: join(dir, 'trackerless.torrent'),
    pieceLength: 64 * 1024,
  });
  info = await referenceTorrentInfo(withTracker);
  assert.equal((await referenceTorrentInfo(trackerless)).infoHash, info.infoHash, 'one torrent, two files');
  await tracker.allow([info.infoHash]);
});

after(async () => {
  await stopAll([tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

it('download --bind 127.0.0.2 from a libtorrent seeder on 127.0.0.1: the seeder sees 127.0.0.2', async (t) => {
  const port = await getFreePort();
  // The seeder with its status lines listing each connected peer (--peer-sources).
  const { command, args } = libtorrentClientCommand({
    torrent: trackerless,
    savePath: join(dir, 'seed'),
    port,
    mode: 'seed',
    trackerOff: true,
    peerSources: true,
  });
  const seeder: ManagedProcess = startProcess(command, args, {
    name: `libtorrent seeder :${port}`,
    timeoutMs: 120_000,
  });
  t.after(() => seeder.stop(2000));
  const seen = new Set<string>();
  seeder.onLine((line) => {
    if (!line.includes('peerSources')) return;
    const status = JSON.parse(line) as { peerSources?: LibtorrentPeerSource[] };
    for (const p of status.peerSources ?? []) seen.add(p.address.replace(/:\d+$/, ''));
  });
  await whileRunning(seeder, seeder.waitForLine(/"state": "seeding"/, 60_000));
  const out = join(dir, 'out-peer');
  await mkdir(out);
  const run = startBitstateDownload({
    torrent: trackerless,
    out,
    peers: [`127.0.0.1:${port}`],
    noTracker: true,
    stallTimeoutSec: STALL_TIMEOUT_SEC,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
    // At 512 KiB/s the connection lasts ~2 s: the seeder lists its peers every 50 ms, and an
    // unlimited download (~0.5 s, closed once complete) could end between two lists (2 of 3 runs).
    extraArgs: ['--bind', '127.0.0.2', '--max-down', '512K'],
  });
  t.after(() => run.stop());
  const problems = await checkSuccessfulDownload(run, {
    source: payload.root,
    dest: join(out, 'bound.bin'),
    pieceCount: info.pieceCount,
    totalLength: info.totalLength,
  });
  assert.deepEqual(problems, [], run.describe());
  assert.deepEqual([...seen], ['127.0.0.2'], `the seeder's peers: ${[...seen].join(', ')}`);
});

it('download --tracker (udp, opentracker) --bind 127.0.0.2 of a torrent without a tracker: found through it, and listed at 127.0.0.2', async (t) => {
  assert.ok(tracker !== undefined);
  const seeder = await startLibtorrentSeeder({
    torrent: withTracker,
    dataDir: join(dir, 'seed'),
    timeoutMs: 120_000,
  });
  t.after(() => seeder.stop());
  await tracker.waitForSeeders(info.infoHash, 1, 15_000);
  const out = join(dir, 'out-tracker');
  await mkdir(out);
  const port = await getFreePort();
  const run = startBitstateDownload({
    torrent: trackerless,
    out,
    port,
    stallTimeoutSec: STALL_TIMEOUT_SEC,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
    extraArgs: ['--tracker', tracker.udpUrl, '--bind', '127.0.0.2', '--seed'],
  });
  t.after(() => run.stop());
  // Complete, and seeding on: the tracker lists it still.
  await run.waitForEvent((e) => e.type === 'seeding', DOWNLOAD_TIMEOUT_MS);
  const got = await readFile(join(out, 'bound.bin'));
  assert.ok(got.equals(await readFile(join(payload.root))), 'the same bytes');
  assert.ok(
    run.events.some((e) => e.type === 'tracker.announce' && e.ok === true && e.url === tracker?.udpUrl),
    `announced to the --tracker URL; ${run.describe()}`,
  );
  assert.ok(
    run.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seeder.port}`),
    `connected to the seeder the tracker named; ${run.describe()}`,
  );
  // A second client asks the tracker: bitstate is there at 127.0.0.2, its listening port.
  const answer = await announce(tracker.announceUrl, {
    infoHash: Buffer.from(info.infoHash, 'hex'),
    peerId: Buffer.alloc(20, 0x33),
    port: 1,
    uploaded: 0,
    downloaded: 0,
    left: 1,
    event: 'started',
  });
  assert.ok(
    answer.peers.some((p) => p.host === '127.0.0.2' && p.port === port),
    `127.0.0.2:${port} among ${JSON.stringify(answer.peers)}`,
  );
});
