/**
 * uTP (BEP 29, docs/utp.md) with libtorrent on 127.0.0.1, both ways, through the built CLI: a
 * libtorrent seeder that speaks uTP only (`libtorrent_client.py --transport utp`: its TCP port
 * closes every connection) is reached by the default `--utp on` through its fallback, TCP then uTP;
 * a libtorrent downloader that speaks uTP only completes from `bitstate seed`, which accepts uTP by
 * default; `--utp prefer` dials uTP first where TCP would do (and `on` TCP); `--utp off` never
 * reaches the uTP-only seeder; MSE runs over uTP as over TCP; a libtorrent that dials uTP first
 * reaches `bitstate seed --utp off` (DHT on, so its UDP port is open) over TCP at once, its uTP SYN
 * refused by ST_RESET rather than left to time out. Bytes compared with the source; the
 * --json `peer.connected` events and libtorrent's own peer list name the transport of each
 * connection. One 32 MiB payload: each download takes about a second here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  type BitstateEvent,
  type BitstateRun,
  checkSuccessfulDownload,
  startBitstateDownload,
  startBitstateSeeder,
} from './harness/bitstate.js';
import { type ReferenceTorrentInfo, referenceTorrentInfo } from './harness/info-hash.js';
import {
  type LibtorrentSeeder,
  type LibtorrentTransport,
  libtorrentDownload,
  startLibtorrentSeeder,
} from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type Stoppable, stopAll } from './harness/processes.js';
import { startTransmission } from './harness/transmission.js';

/** Hard bound on each bitstate or libtorrent download (each takes about a second). */
const DOWNLOAD_TIMEOUT_MS = 30_000;
/** bitstate gives up (exit 1) after this long without data, well before the hard bound. */
const STALL_TIMEOUT_SEC = 10;

let dir = '';
let torrent = '';
let data = '';
let root = '';
let info: ReferenceTorrentInfo;
const stoppables: Stoppable[] = [];
/** libtorrent with uTP only: TCP connections to it are closed before any handshake. */
let utpOnly: LibtorrentSeeder;
/** libtorrent with TCP and uTP (its default). */
let both: LibtorrentSeeder;

async function seeder(transport: LibtorrentTransport, encrypt?: 'rc4'): Promise<LibtorrentSeeder> {
  const s = await startLibtorrentSeeder({
    torrent,
    dataDir: data,
    trackerOff: true,
    transport,
    ...(encrypt === undefined ? {} : { encrypt }),
    timeoutMs: 120_000,
  });
  stoppables.push(s);
  return s;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-utp-'));
  data = join(dir, 'seed');
  const p = await writeSingleFilePayload({ dir: data, name: 'utp.bin', size: (32 << 20) + 29, seed: 29 });
  root = p.root;
  torrent = await makeTorrent({ source: p.root, out: join(dir, 'utp.torrent'), pieceLength: 256 * 1024 });
  info = await referenceTorrentInfo(torrent);
  utpOnly = await seeder('utp');
  both = await seeder('both');
});

after(async () => {
  await stopAll(stoppables);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const connected = (events: readonly BitstateEvent[] | readonly Record<string, unknown>[]) =>
  events.filter((e) => e.type === 'peer.connected');

/** `bitstate download --peer 127.0.0.1:port` to the end; asserts a complete, byte-exact download. */
async function downloadFrom(
  t: TestContext,
  name: string,
  port: number,
  extra: string[],
): Promise<BitstateRun> {
  const out = join(dir, name);
  const run = startBitstateDownload({
    torrent,
    out,
    peers: [`127.0.0.1:${port}`],
    noTracker: true,
    stallTimeoutSec: STALL_TIMEOUT_SEC,
    extraArgs: extra,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
  });
  t.after(() => run.stop());
  const problems = await checkSuccessfulDownload(run, {
    source: root,
    dest: join(out, 'utp.bin'),
    pieceCount: info.pieceCount,
    totalLength: info.totalLength,
  });
  assert.deepEqual(problems, [], run.describe());
  return run;
}

// Bounded: ~60 s in all here (the Transmission case ~45 s of it: its 10 s choke tick, twice).
describe('uTP (BEP 29) with libtorrent', { timeout: 240_000 }, () => {
  it('bitstate download (--utp on) reaches a uTP-only libtorrent seeder: TCP closed, then uTP', async (t) => {
    const run = await downloadFrom(t, 'on-from-utp-only', utpOnly.port, []);
    const peers = connected(run.events);
    assert.ok(
      peers.some((e) => e.address === `127.0.0.1:${utpOnly.port}` && e.transport === 'utp'),
      run.describe(),
    );
    // The seeder closes every TCP connection before the handshake: none can have connected.
    assert.deepEqual(
      peers.filter((e) => e.transport !== 'utp'),
      [],
    );
  });

  it('a uTP-only libtorrent downloads from bitstate seed (uTP accepted by default)', async (t) => {
    const s = await startBitstateSeeder(torrent, data, ['--no-tracker']);
    t.after(() => s.process.stop());
    const out = join(dir, 'lt-utp-from-bitstate');
    const ltPort = await getFreePort();
    const lt = await libtorrentDownload({
      torrent,
      outDir: out,
      port: ltPort,
      peers: [`127.0.0.1:${s.port}`],
      transport: 'utp',
      peerSources: true,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
    });
    const cmp = await compareTrees(root, join(out, 'utp.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
    assert.ok(
      lt.peers.some((p) => p.address === `127.0.0.1:${s.port}` && p.utp),
      `libtorrent's peer list shows bitstate over uTP: ${JSON.stringify(lt.peers)}`,
    );
    // The line was printed when the connection came up, long before libtorrent finished.
    await s.process.waitForLine(/"type":"peer.connected"/, 5_000);
    const peers = connected(s.events);
    assert.ok(
      peers.some((e) => e.address === `127.0.0.1:${ltPort}` && e.transport === 'utp'),
      JSON.stringify(peers),
    );
    assert.deepEqual(
      peers.filter((e) => e.transport !== 'utp'),
      [],
    );
  });

  it('libtorrent dialling uTP first reaches bitstate seed --utp off with the DHT on: its SYN is reset, then TCP', async (t) => {
    // The DHT needs a bootstrap node on 127.0.0.1; this one never answers, the node opens all the same.
    const s = await startBitstateSeeder(torrent, data, [
      '--no-tracker',
      '--utp',
      'off',
      '--dht-bootstrap',
      `127.0.0.1:${await getFreePort()}`,
    ]);
    t.after(() => s.process.stop());
    // The node's UDP socket, at the listening port's number, is bound before dht.ready is said.
    await s.process.waitForLine(/"type":"dht.ready"/, 20_000);
    const out = join(dir, 'lt-both-from-utp-off');
    const lt = await libtorrentDownload({
      torrent,
      outDir: out,
      peers: [`127.0.0.1:${s.port}`],
      transport: 'both', // libtorrent's default: every new peer is dialled over uTP first
      peerSources: true,
      connectFailures: true,
      // One connect request: a repeat names the peer uTP-capable again, and libtorrent's TCP dial
      // after the reset (~1 s later) would be a uTP one again.
      connectIntervalSec: DOWNLOAD_TIMEOUT_MS / 1000,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
    });
    const cmp = await compareTrees(root, join(out, 'utp.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
    const toUs = lt.connectFailures.filter((f) => f.address === `127.0.0.1:${s.port}`);
    // ECONNRESET: the SYN answered by ST_RESET. Dropped, it failed with ETIMEDOUT (110) ~3 s later.
    assert.deepEqual(
      toUs.map((f) => ({ utp: f.utp, errno: f.errno })),
      [{ utp: true, errno: 104 }],
      JSON.stringify(lt.connectFailures),
    );
    assert.ok(
      lt.peers.some((p) => p.address === `127.0.0.1:${s.port}` && !p.utp),
      `libtorrent's peer list shows bitstate over TCP: ${JSON.stringify(lt.peers)}`,
    );
  });

  it('bitstate download --utp prefer dials uTP first to a libtorrent seeder that takes both', async (t) => {
    const run = await downloadFrom(t, 'prefer-from-both', both.port, ['--utp', 'prefer']);
    const peers = connected(run.events);
    assert.equal(peers[0]?.transport, 'utp', run.describe());
    assert.equal(peers[0]?.address, `127.0.0.1:${both.port}`);
  });

  it('while --utp on dials TCP first to the same seeder', async (t) => {
    const run = await downloadFrom(t, 'on-from-both', both.port, []);
    const peers = connected(run.events);
    assert.equal(peers[0]?.transport, 'tcp', run.describe());
  });

  it('bitstate download --utp off never reaches the uTP-only seeder', async (t) => {
    const run = startBitstateDownload({
      torrent,
      out: join(dir, 'off-from-utp-only'),
      peers: [`127.0.0.1:${utpOnly.port}`],
      noTracker: true,
      stallTimeoutSec: 3,
      extraArgs: ['--utp', 'off'],
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
    });
    t.after(() => run.stop());
    const exit = await run.exited;
    // bitstate's own --timeout ends it (exit 1), not the hard bound.
    assert.equal(exit.code, 1, run.describe());
    assert.equal(exit.timedOut, false);
    assert.deepEqual(connected(run.events), [], 'no connection over either transport');
    assert.ok(!run.events.some((e) => e.type === 'piece.verified' || e.type === 'done'), run.describe());
  });

  // Transmission 3.00 (libutp inside) with uTP on. It takes no 127.x peer from a tracker, so
  // bitstate dials it; `--utp prefer` makes that dial uTP. It unchokes only at its 10 s choke tick.
  it('Transmission with uTP: bitstate --utp prefer downloads from it, and seeds to it, over uTP', async (t) => {
    const trData = join(dir, 'transmission-seed');
    const p = await writeSingleFilePayload({ dir: trData, name: 'tr.bin', size: (4 << 20) + 7, seed: 31 });
    const trTorrent = await makeTorrent({
      source: p.root,
      out: join(dir, 'tr.torrent'),
      pieceLength: 256 * 1024,
    });
    const trInfo = await referenceTorrentInfo(trTorrent);
    const seederTr = await startTransmission({
      torrent: trTorrent,
      dir: trData,
      utp: true,
      timeoutMs: 90_000,
    });
    stoppables.push(seederTr.process);
    t.after(() => seederTr.stop());
    await seederTr.waitForSeeding(30_000);
    const out = join(dir, 'from-transmission');
    const run = startBitstateDownload({
      torrent: trTorrent,
      out,
      peers: [`127.0.0.1:${seederTr.port}`],
      noTracker: true,
      stallTimeoutSec: 30,
      extraArgs: ['--utp', 'prefer'],
      timeoutMs: 60_000,
    });
    t.after(() => run.stop());
    assert.deepEqual(
      await checkSuccessfulDownload(run, {
        source: p.root,
        dest: join(out, 'tr.bin'),
        pieceCount: trInfo.pieceCount,
        totalLength: trInfo.totalLength,
      }),
      [],
      run.describe(),
    );
    assert.ok(
      connected(run.events).some((e) => e.transport === 'utp' && String(e.client).startsWith('Transmission')),
      run.describe(),
    );
    // The other way: a Transmission downloader, bitstate seed dialling it over uTP.
    const trOut = join(dir, 'transmission-down');
    const downTr = await startTransmission({ torrent: trTorrent, dir: trOut, utp: true, timeoutMs: 90_000 });
    stoppables.push(downTr.process);
    t.after(() => downTr.stop());
    const s = await startBitstateSeeder(trTorrent, trData, [
      '--no-tracker',
      '--utp',
      'prefer',
      '--peer',
      `127.0.0.1:${downTr.port}`,
    ]);
    t.after(() => s.process.stop());
    await downTr.waitForSeeding(60_000);
    const cmp = await compareTrees(p.root, join(trOut, 'tr.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
    assert.ok(
      connected(s.events).some((e) => e.transport === 'utp' && String(e.client).startsWith('Transmission')),
      JSON.stringify(connected(s.events)),
    );
  });

  it('MSE over uTP: bitstate --encryption required from a uTP-only libtorrent requiring RC4', async (t) => {
    const rc4 = await seeder('utp', 'rc4');
    const run = await downloadFrom(t, 'rc4-from-utp-only', rc4.port, ['--encryption', 'required']);
    const peers = connected(run.events);
    assert.ok(peers.length > 0);
    assert.deepEqual(
      peers.map((e) => [e.transport, e.encryption]),
      peers.map(() => ['utp', 'rc4']),
    );
  });
});
