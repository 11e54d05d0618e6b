/**
 * Other clients download from a bitstate seeder (`bitstate seed`, the built CLI) on 127.0.0.1,
 * bytes compared with the source (issue #5): aria2c through opentracker (it takes peers only from
 * trackers), python3-libtorrent by dialling the seeder, Transmission with bitstate dialling out to
 * it (`seed --peer`: Transmission ignores loopback peers from trackers and unchokes only at its
 * 10 s tick — the one slow test). Single-file and multi-file torrents.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aria2Download } from './harness/aria2.js';
import { type BitstateSeeder, startBitstateSeeder } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { libtorrentDownload } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import {
  compareTrees,
  defaultTreeSpec,
  writeMultiFilePayload,
  writeSingleFilePayload,
} from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, stopAll } from './harness/processes.js';
import { startTransmission } from './harness/transmission.js';

let dir = '';
let tracker: Opentracker | undefined;
const procs: ManagedProcess[] = [];
let single = { torrent: '', data: '', root: '' };
let multi = { torrent: '', data: '', root: '' };

/** Starts `bitstate seed` and resolves with its listening port. */
async function startSeeder(torrent: string, data: string, extra: string[] = []): Promise<number> {
  return (await startSeederProcess(torrent, data, extra)).port;
}

/** Starts `bitstate seed`; `events` collects its --json lines from the first one on. */
async function startSeederProcess(
  torrent: string,
  data: string,
  extra: string[] = [],
): Promise<BitstateSeeder> {
  const seeder = await startBitstateSeeder(torrent, data, extra);
  procs.push(seeder.process);
  return seeder;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-seed-clients-'));
  tracker = await startOpentracker();
  const s = await writeSingleFilePayload({
    dir: join(dir, 'seed-single'),
    name: 'single.bin',
    size: (2 << 20) + 4321,
    seed: 51,
  });
  single = {
    torrent: await makeTorrent({
      source: s.root,
      out: join(dir, 'single.torrent'),
      pieceLength: 64 * 1024,
      announce: [tracker.announceUrl],
    }),
    data: join(dir, 'seed-single'),
    root: s.root,
  };
  const m = await writeMultiFilePayload({
    dir: join(dir, 'seed-multi'),
    name: 'tree',
    files: defaultTreeSpec(3 << 20),
    seed: 52,
  });
  multi = {
    torrent: await makeTorrent({
      source: m.root,
      out: join(dir, 'tree.torrent'),
      pieceLength: 128 * 1024,
      announce: [tracker.announceUrl],
    }),
    data: join(dir, 'seed-multi'),
    root: m.root,
  };
  await tracker.allow([await referenceInfoHash(single.torrent), await referenceInfoHash(multi.torrent)]);
});

after(async () => {
  await stopAll([...procs.map((p) => ({ stop: () => p.stop() })), tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('clients download from a bitstate seeder', { timeout: 120_000 }, () => {
  it('aria2c, through opentracker (multi-file); the seeder does not dial itself', async () => {
    const seeder = await startSeederProcess(multi.torrent, multi.data);
    await tracker!.waitForSeeders(await referenceInfoHash(multi.torrent), 1, 10_000);
    const out = join(dir, 'aria2-multi');
    await aria2Download({ torrent: multi.torrent, outDir: out, timeoutMs: 45_000 });
    const cmp = await compareTrees(multi.root, join(out, 'tree'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
    // opentracker lists the seeder among the torrent's peers, to itself too.
    const self = `127.0.0.1:${seeder.port}`;
    const connected = seeder.events.filter((e) => e.type === 'peer.connected');
    assert.ok(connected.length > 0, 'aria2 connected');
    assert.deepEqual(
      seeder.events.filter((e) => e.address === self || e.reason === 'connectedToSelf'),
      [],
      `no connection to ${self}`,
    );
  });

  it('python3-libtorrent, dialling the seeder (single-file and multi-file)', async () => {
    for (const t of [single, multi]) {
      const seeder = await startSeederProcess(t.torrent, t.data, ['--no-tracker']);
      const out = join(dir, `lt-${seeder.port}`);
      const ltPort = await getFreePort();
      await libtorrentDownload({
        torrent: t.torrent,
        outDir: out,
        peers: [`127.0.0.1:${seeder.port}`],
        port: ltPort,
        timeoutMs: 30_000,
      });
      const name = t === single ? 'single.bin' : 'tree';
      const cmp = await compareTrees(t.root, join(out, name));
      assert.ok(cmp.equal, JSON.stringify(cmp));
      // libtorrent's BEP 10 handshake told the seeder where it listens (`p`).
      const line = await seeder.process.waitForLine(/"type":"peer.listening"/, 5_000);
      assert.equal((JSON.parse(line) as { listenAddress: string }).listenAddress, `127.0.0.1:${ltPort}`);
    }
  });

  it('python3-libtorrent with encryption forced: MSE answered, plaintext negotiated', async () => {
    const port = await startSeeder(single.torrent, single.data, ['--no-tracker']);
    const out = join(dir, `lt-mse-${port}`);
    await libtorrentDownload({
      torrent: single.torrent,
      outDir: out,
      peers: [`127.0.0.1:${port}`],
      encrypt: true,
      timeoutMs: 30_000,
    });
    const cmp = await compareTrees(single.root, join(out, 'single.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
  });

  it('Transmission, bitstate dialling out with seed --peer (multi-file)', async () => {
    const out = join(dir, 'transmission');
    const tr = await startTransmission({ torrent: multi.torrent, dir: out, timeoutMs: 90_000 });
    procs.push(tr.process);
    try {
      await startSeeder(multi.torrent, multi.data, ['--no-tracker', '--peer', `127.0.0.1:${tr.port}`]);
      await tr.waitForSeeding(60_000);
      const cmp = await compareTrees(multi.root, join(out, 'tree'), { ignoreEmptyFiles: true });
      assert.ok(cmp.equal, JSON.stringify(cmp));
    } finally {
      await tr.stop();
    }
  });
});
