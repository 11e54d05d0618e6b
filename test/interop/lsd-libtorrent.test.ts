/**
 * Local Service Discovery (BEP 14) with libtorrent 2.0.8 (python3-libtorrent) on 127.0.0.1, both
 * ways. libtorrent does LSD on loopback: with listen_interfaces 127.0.0.1:PORT it opens its LSD
 * socket for that interface (0.0.0.0:6771, joined on 127.0.0.1, outbound interface 127.0.0.1), and
 * believes announces from 127.0.0.0/8 (its lsd.cpp: match_addr_mask with the interface's netmask).
 * Each test's payload is random (its own info-hash): other tests multicast to the same group.
 *
 * libtorrent → bitstate: a libtorrent seed announcing every second (local_service_announce_interval
 * 1) that dials no one (enable_outgoing_tcp off), and a bitstate download with LSD on 127.0.0.1 and
 * no other peer source: bitstate hears the seed (`lsd.peer` at libtorrent's listening port), dials
 * it (`peer.connected` at that address: nothing else could have told it), and completes.
 *
 * A magnet link, libtorrent → bitstate: the same seed, and `bitstate download 'magnet:?xt=…'` with no
 * tracker, no x.pe, no DHT: its metadata fetch announces the info-hash on LSD and dials the peers
 * it hears there (as libtorrent does for a magnet), fetches the metadata from the seed (`lsd.peer`
 * before `metadata.fetched`), and the download completes on the same LSD service, its first
 * announce the fetch's (no second within the minute). Before, the fetch asked no LSD and gave up.
 *
 * bitstate → libtorrent: a libtorrent download with LSD that accepts no connection (enable_incoming_tcp
 * off), started first; then a bitstate seed, whose announce at its start reaches libtorrent, which
 * dials it: libtorrent's peer list shows the seed's listening address with the LSD source bit
 * (peer_info.lsd), and the download completes byte for byte.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BitstateRun, startBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import {
  type LibtorrentSeeder,
  libtorrentClientCommand,
  startLibtorrentSeeder,
} from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

const LOOPBACK_LSD = ['--lsd-interface', '127.0.0.1'];

async function source(dir: string) {
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'lsd.bin',
    size: 1 << 20,
    seed: randomInt(1, 2 ** 31),
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'lsd.torrent'),
    pieceLength: 32 * 1024,
  });
  return { payload, torrent };
}

test('bitstate finds a libtorrent seed by LSD alone on 127.0.0.1 and downloads byte for byte', {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-lsd-lt-'));
  let seeder: LibtorrentSeeder | undefined;
  let b: BitstateRun | undefined;
  try {
    const { payload, torrent } = await source(dir);
    seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      lsd: { intervalSec: 1, noOutgoing: true },
      timeoutMs: 80_000,
    });
    const l = `127.0.0.1:${seeder.port}`;
    b = startBitstateDownload({
      torrent,
      out: join(dir, 'b'),
      noTracker: true,
      stallTimeoutSec: 30,
      extraArgs: LOOPBACK_LSD,
      timeoutMs: 60_000,
    });
    await b.waitForEvent((e) => e.type === 'lsd.peer' && e.address === l, 30_000);
    await b.waitForEvent((e) => e.type === 'peer.connected' && e.address === l, 30_000);
    const exit = await b.exited;
    assert.equal(exit.code, 0, b.describe());
    const cmp = await compareTrees(payload.root, join(dir, 'b', 'lsd.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
  } finally {
    await b?.stop();
    await seeder?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a magnet link's metadata fetch finds a libtorrent seed by LSD alone (no tracker, x.pe or DHT) and the download completes", {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-lsd-lt-magnet-'));
  let seeder: LibtorrentSeeder | undefined;
  let b: BitstateRun | undefined;
  try {
    const { payload, torrent } = await source(dir);
    const info = await referenceTorrentInfo(torrent);
    seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      lsd: { intervalSec: 1, noOutgoing: true },
      timeoutMs: 80_000,
    });
    const l = `127.0.0.1:${seeder.port}`;
    b = startBitstateDownload({
      torrent: `magnet:?xt=urn:btih:${info.infoHash}`,
      out: join(dir, 'b'),
      noTracker: true,
      stallTimeoutSec: 30,
      extraArgs: [...LOOPBACK_LSD, '--metadata-timeout', '30'],
      timeoutMs: 60_000,
    });
    const exit = await b.exited;
    assert.equal(exit.code, 0, b.describe());
    const types = b.events.map((e) => e.type);
    const heard = b.events.findIndex((e) => e.type === 'lsd.peer' && e.address === l);
    assert.ok(heard >= 0, `the fetch heard the seed by LSD; ${b.describe()}`);
    assert.ok(heard < types.indexOf('metadata.fetched'), 'heard while fetching the metadata');
    assert.equal(
      types.filter((t) => t === 'lsd.ready').length,
      1,
      "one LSD service, the fetch's and the download's",
    );
    assert.equal(types.filter((t) => t === 'lsd.off').length, 0);
    const cmp = await compareTrees(payload.root, join(dir, 'b', 'lsd.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
  } finally {
    await b?.stop();
    await seeder?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('libtorrent finds a bitstate seed by LSD (its peer list: source lsd) and downloads byte for byte', {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-lsd-lt2-'));
  let seed: ManagedProcess | undefined;
  let lt: ManagedProcess | undefined;
  try {
    const { payload, torrent } = await source(dir);
    const { command, args } = libtorrentClientCommand({
      torrent,
      savePath: join(dir, 'lt'),
      port: await getFreePort(),
      mode: 'download',
      trackerOff: true,
      timeoutSec: 60,
      peerSources: true,
      lsd: true,
      noIncoming: true,
    });
    lt = startProcess(command, args, { name: 'libtorrent download', timeoutMs: 70_000 });
    await lt.waitForLine(/"event": "listening"/, 20_000);
    // At 256 KiB/s the 1 MiB takes ~4 s: libtorrent's peer list is printed each second (and at state
    // changes), and an unthrottled loopback download (~0.25 s) could end between two of its lines.
    const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), [
      '--no-tracker',
      '--max-up',
      '256K',
      ...LOOPBACK_LSD,
    ]);
    seed = seeder.process;
    const line = await lt.waitForLine((l) => {
      const s = JSON.parse(l) as { peerSources?: { address: string; lsd: boolean }[] };
      return s.peerSources?.some((p) => p.address === `127.0.0.1:${seeder.port}` && p.lsd) === true;
    }, 30_000);
    process.stdout.write(`# libtorrent connected to the bitstate seed through LSD: ${line}\n`);
    await lt.waitForLine(/"event": "done"/, 45_000);
    const cmp = await compareTrees(payload.root, join(dir, 'lt', 'lsd.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
  } finally {
    await lt?.stop();
    await seed?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
