/**
 * `bitstate download MAGNET` against a python3-libtorrent seeder on 127.0.0.1: the metadata is
 * fetched with BEP 9 from libtorrent (which serves it through ut_metadata), checked against the
 * info-hash, saved in OUT/.bitstate/<info-hash>.torrent, and the download then runs as from the
 * .torrent. A second run with the same magnet finds the saved metadata and fetches nothing. The
 * info dictionary is made larger than one 16 KiB metadata piece (896 piece hashes), so the fetch
 * assembles several. With a hostile peer beside libtorrent that serves forged metadata of the same
 * size (test/helpers/metadata-peer.ts), the forged copy is never accepted: the download is exact,
 * and only the hostile peer is ever dropped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { startMetadataPeer } from '../helpers/metadata-peer.js';
import { checkCompleteDownloadEvents, startBitstateDownload } from './harness/bitstate.js';
import { type ReferenceTorrentInfo, referenceTorrentInfo } from './harness/info-hash.js';
import { type LibtorrentSeeder, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { stopAll } from './harness/processes.js';

/**
 * A TCP relay on 127.0.0.1 to `port` that passes what its client sends at once but holds what the
 * far end answers until `open` resolves. Closed by the test.
 */
async function startGate(
  port: number,
  open: Promise<void>,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let opened = false;
  void open.then(() => (opened = true));
  const server = createServer((client) => {
    const far = connect({ host: '127.0.0.1', port });
    for (const s of [client, far]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        far.destroy();
      });
    }
    client.pipe(far);
    far.on('data', (chunk: Buffer) => {
      if (opened) client.write(chunk);
      else void open.then(() => client.write(chunk));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** 896 pieces of 32 KiB: the info dictionary is ~18 KB, two metadata pieces. */
const SIZE = 28 << 20;

describe('bitstate download MAGNET from a libtorrent seeder (BEP 9)', () => {
  let dir = '';
  let seeder: LibtorrentSeeder | undefined;
  let tracker: Opentracker | undefined;
  let info: ReferenceTorrentInfo | undefined;
  let source = '';
  let torrentFile = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitstate-magnet-lt-'));
    const payload = await writeSingleFilePayload({
      dir: join(dir, 'seed'),
      name: 'magnet.bin',
      size: SIZE,
      seed: 41,
    });
    source = payload.root;
    tracker = await startOpentracker();
    const torrent = await makeTorrent({
      source,
      out: join(dir, 'magnet.torrent'),
      pieceLength: 32 * 1024,
      announce: [tracker.announceUrl],
    });
    torrentFile = torrent;
    info = await referenceTorrentInfo(torrent);
    await tracker.allow([info.infoHash]);
    seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      timeoutMs: 120_000,
    });
  });
  after(async () => {
    await stopAll([seeder, tracker]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('fetches the metadata, saves it, downloads; a rerun uses the saved metadata', async (t) => {
    assert.ok(info && seeder);
    const magnet = `magnet:?xt=urn:btih:${info.infoHash}&dn=magnet.bin&x.pe=127.0.0.1:${seeder.port}`;
    const out = join(dir, 'out');
    await mkdir(out);
    const run = startBitstateDownload({
      torrent: magnet,
      out,
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: 60_000,
    });
    t.after(() => run.stop());
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.describe());
    const fetched = run.events.find((e) => e.type === 'metadata.fetched');
    assert.ok(fetched, `a metadata.fetched event; ${run.describe()}`);
    assert.ok(
      typeof fetched.size === 'number' && fetched.size > 16 * 1024,
      'the info dictionary spans two metadata pieces',
    );
    t.diagnostic(`metadata: ${String(fetched.size)} bytes in ${Number(fetched.elapsedMs).toFixed(0)} ms`);
    assert.equal(run.events[0]?.type, 'metadata.fetching');
    const download = run.events.filter((e) => !e.type.startsWith('metadata.'));
    assert.deepEqual(checkCompleteDownloadEvents(download, info), [], run.describe());
    const cmp = await compareTrees(source, join(out, 'magnet.bin'));
    assert.deepEqual(cmp.mismatches, []);
    assert.ok(existsSync(join(out, '.bitstate', `${info.infoHash}.torrent`)), 'the metadata is saved');

    // Again, with the same magnet: the saved .torrent, no fetch, the data found complete.
    const again = startBitstateDownload({
      torrent: magnet,
      out,
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: 60_000,
    });
    t.after(() => again.stop());
    const exit2 = await again.exited;
    assert.equal(exit2.code, 0, again.describe());
    assert.equal(again.events[0]?.type, 'metadata', "no fetch: the first event is the torrent's metadata");
    assert.ok(!again.events.some((e) => e.type.startsWith('metadata.')), again.describe());
  });

  it('a hostile peer serving forged metadata beside libtorrent: the forgery is never accepted', async (t) => {
    assert.ok(info && seeder);
    const real = parseTorrent(await readFile(torrentFile)).infoBytes;
    const forged = Buffer.from(real);
    forged[real.length - 100] = forged[real.length - 100]! ^ 0xff; // a piece hash: still a valid dictionary
    const hostile = await startMetadataPeer({ infoHash: Buffer.from(info.infoHash, 'hex'), info: forged });
    t.after(() => hostile.close());
    // libtorrent is reached through a gate that holds what it says until the hostile peer has
    // been asked: the forged copy is assembled first, whatever the timing.
    const gate = await startGate(seeder.port, hostile.firstRequest);
    t.after(() => gate.close());
    const magnet = `magnet:?xt=urn:btih:${info.infoHash}&x.pe=127.0.0.1:${hostile.port}&x.pe=127.0.0.1:${gate.port}`;
    const out = join(dir, 'out-hostile');
    await mkdir(out);
    const run = startBitstateDownload({
      torrent: magnet,
      out,
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: 60_000,
    });
    t.after(() => run.stop());
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.describe());
    const dropped = run.events.filter((e) => e.type === 'metadata.peerDropped');
    assert.ok(
      dropped.every((e) => e.address === `127.0.0.1:${hostile.port}` && e.reason === 'badMetadata'),
      `only the hostile peer dropped: ${JSON.stringify(dropped)}`,
    );
    assert.deepEqual(hostile.requests, [0, 1], 'the hostile peer was asked for both pieces first');
    assert.equal(dropped.length, 1, 'and dropped when its copy failed the info-hash');
    const cmp = await compareTrees(source, join(out, 'magnet.bin'));
    assert.deepEqual(cmp.mismatches, []);
  });

  it("finds the seeder through the magnet's tracker (no x.pe): announced with the info-hash", async (t) => {
    assert.ok(info && tracker);
    // A second libtorrent seeder of the same data, announcing to opentracker.
    const announced = await startLibtorrentSeeder({
      torrent: torrentFile,
      dataDir: join(dir, 'seed'),
      timeoutMs: 60_000,
    });
    t.after(() => announced.stop());
    await tracker.waitForSeeders(info.infoHash, 1, 15_000);
    const magnet = `magnet:?xt=urn:btih:${info.infoHash}&tr=${encodeURIComponent(tracker.announceUrl)}`;
    const out = join(dir, 'out-tracker');
    await mkdir(out);
    const run = startBitstateDownload({ torrent: magnet, out, stallTimeoutSec: 10, timeoutMs: 60_000 });
    t.after(() => run.stop());
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.describe());
    assert.ok(
      run.events.some((e) => e.type === 'metadata.fetched'),
      run.describe(),
    );
    const cmp = await compareTrees(source, join(out, 'magnet.bin'));
    assert.deepEqual(cmp.mismatches, []);
  });
});
