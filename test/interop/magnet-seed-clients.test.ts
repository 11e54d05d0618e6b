/**
 * Other clients start from a magnet link and fetch the metadata from a bitstate seeder (`bitstate
 * seed`, the built CLI) over BEP 9 ut_metadata, then download the data from it: python3-libtorrent
 * dialling the seeder, and aria2c finding it through opentracker (the magnet's `tr`: aria2 1.36
 * did not dial the x.pe peer here: it waited for DHT until killed after 60 s). The info dictionary spans
 * two metadata pieces (896 piece hashes). Bytes compared with the source.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aria2DownloadCommand } from './harness/aria2.js';
import { type BitstateSeeder, startBitstateSeeder } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { libtorrentDownload } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, runProcess, stopAll } from './harness/processes.js';

let dir = '';
let torrent = '';
let root = '';
let infoHash = '';
let tracker: Opentracker | undefined;
const procs: ManagedProcess[] = [];

/** Starts `bitstate seed` (announcing unless told not to); resolves with its port and --json events. */
async function startSeeder(extra: string[] = []): Promise<BitstateSeeder> {
  const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), extra);
  procs.push(seeder.process);
  return seeder;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-magnet-seed-'));
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'served.bin',
    size: 28 << 20,
    seed: 61,
  });
  root = payload.root;
  tracker = await startOpentracker();
  torrent = await makeTorrent({
    source: root,
    out: join(dir, 'served.torrent'),
    pieceLength: 32 * 1024,
    announce: [tracker.announceUrl],
  });
  infoHash = await referenceInfoHash(torrent);
  await tracker.allow([infoHash]);
});

after(async () => {
  await stopAll([...procs.map((p) => ({ stop: () => p.stop() })), tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe("clients fetch a magnet's metadata from a bitstate seeder (BEP 9)", { timeout: 120_000 }, () => {
  it('python3-libtorrent, dialling the seeder', async () => {
    const seeder = await startSeeder(['--no-tracker']);
    const out = join(dir, 'lt');
    await libtorrentDownload({
      torrent: `magnet:?xt=urn:btih:${infoHash}`,
      outDir: out,
      peers: [`127.0.0.1:${seeder.port}`],
      timeoutMs: 45_000,
    });
    const cmp = await compareTrees(root, join(out, 'served.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
  });

  it("aria2c, through opentracker (the magnet's tr)", async () => {
    const seeder = await startSeeder();
    await tracker!.waitForSeeders(infoHash, 1, 10_000);
    const out = join(dir, 'aria2');
    const port = await getFreePort();
    const magnet = `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(tracker!.announceUrl)}`;
    const aria2 = aria2DownloadCommand({ torrent: magnet, outDir: out, port });
    await runProcess(aria2.command, aria2.args, { name: `aria2 magnet :${port}`, timeoutMs: 60_000 });
    const cmp = await compareTrees(root, join(out, 'served.bin'));
    assert.ok(cmp.equal, JSON.stringify(cmp));
    assert.ok(
      seeder.events.some((e) => e.type === 'peer.connected'),
      'aria2 connected to the seeder',
    );
  });
});
