/**
 * The DHT (BEP 5) against libtorrent's (python3-libtorrent 2.0.8) on 127.0.0.1. A DHT node of ours
 * runs in the test process as the router every client bootstraps from; nothing else tells a
 * client where the other is (no tracker, no x.pe, no --peer).
 *
 * 1. A libtorrent seeder announces its torrent in the DHT; `bitstate download MAGNET
 *    --dht-bootstrap` finds it with get_peers, fetches the metadata (BEP 9) and the data from it.
 * 2. `bitstate seed --dht-bootstrap` announces; libtorrent, given only the magnet and the router,
 *    finds it with get_peers and downloads from it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Dht, startDht } from '../../src/dht/dht.js';
import {
  checkCompleteDownloadEvents,
  startBitstateDownload,
  startBitstateSeeder,
} from './harness/bitstate.js';
import { referenceTorrentInfo } from './harness/info-hash.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { stopAll } from './harness/processes.js';

const SIZE = 6 << 20;

/** Resolves once `check` holds, looking every 100 ms; rejects after `ms` (a bound, not a measure). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the DHT with libtorrent (BEP 5)', () => {
  let dir = '';
  let router: Dht | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitstate-dht-lt-'));
    router = await startDht({ port: 0, host: '127.0.0.1', bootstrap: [] });
  });
  after(async () => {
    await router?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('bitstate downloads a magnet whose only peer source is the DHT, from a libtorrent seeder', async (t) => {
    assert.ok(router);
    const payload = await writeSingleFilePayload({
      dir: join(dir, 'seed1'),
      name: 'dht1.bin',
      size: SIZE,
      seed: 51,
    });
    const torrent = await makeTorrent({
      source: payload.root,
      out: join(dir, 'dht1.torrent'),
      pieceLength: 64 * 1024,
    });
    const info = await referenceTorrentInfo(torrent);
    const at = `127.0.0.1:${router.port}`;
    const seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed1'),
      trackerOff: true,
      dhtBootstrap: [at],
      timeoutMs: 120_000,
    });
    t.after(() => stopAll([seeder]));
    // libtorrent bootstraps from the router and announces to it (the closest node it knows).
    const store = router.node.store;
    await until(
      () => store.peers(info.infoHash, performance.now()).length > 0,
      30_000,
      'libtorrent announced',
    );
    assert.deepEqual(
      store.peers(info.infoHash, performance.now()).map((p) => `${p.host}:${p.port}`),
      [`127.0.0.1:${seeder.port}`],
      'libtorrent announced its listening port',
    );

    const out = join(dir, 'out1');
    await mkdir(out);
    const started = performance.now();
    const run = startBitstateDownload({
      torrent: `magnet:?xt=urn:btih:${info.infoHash}`,
      out,
      noTracker: true,
      stallTimeoutSec: 20,
      timeoutMs: 60_000,
      extraArgs: ['--dht-bootstrap', at],
    });
    t.after(() => run.stop());
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.describe());
    t.diagnostic(`magnet through the DHT: ${Math.round(performance.now() - started)} ms for ${SIZE} bytes`);
    const ready = run.events.find((e) => e.type === 'dht.ready');
    assert.ok(ready !== undefined && Number(ready.nodes) >= 1, `dht.ready; ${run.describe()}`);
    // The DHT was the only source of the seeder's address: it was connected, so a lookup found it
    // (a lookup's own dht.peers comes when it has settled, which may be after the data is in).
    assert.ok(
      run.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seeder.port}`),
      `connected to the seeder; ${run.describe()}`,
    );
    const peers = run.events.filter((e) => e.type === 'dht.peers');
    t.diagnostic(
      `lookups: ${JSON.stringify(peers.map(({ peers, queries, announced }) => ({ peers, queries, announced })))}`,
    );
    const download = run.events.filter((e) => !e.type.startsWith('metadata.') && !e.type.startsWith('dht.'));
    assert.deepEqual(checkCompleteDownloadEvents(download, info), [], run.describe());
    assert.deepEqual((await compareTrees(payload.root, join(out, 'dht1.bin'))).mismatches, []);
  });

  it('libtorrent downloads a magnet from a bitstate seed it found through the DHT', async (t) => {
    assert.ok(router);
    const payload = await writeSingleFilePayload({
      dir: join(dir, 'seed2'),
      name: 'dht2.bin',
      size: SIZE,
      seed: 52,
    });
    const torrent = await makeTorrent({
      source: payload.root,
      out: join(dir, 'dht2.torrent'),
      pieceLength: 64 * 1024,
    });
    const info = await referenceTorrentInfo(torrent);
    const at = `127.0.0.1:${router.port}`;
    const seeder = await startBitstateSeeder(torrent, join(dir, 'seed2'), [
      '--no-tracker',
      '--dht-bootstrap',
      at,
    ]);
    t.after(() => seeder.process.stop());
    const store = router.node.store;
    await until(() => store.peers(info.infoHash, performance.now()).length > 0, 30_000, 'bitstate announced');
    assert.deepEqual(
      store.peers(info.infoHash, performance.now()).map((p) => p.port),
      [seeder.port],
      'bitstate announced its TCP listening port',
    );
    const out = join(dir, 'out2');
    await mkdir(out);
    const r = await libtorrentDownload({
      torrent: `magnet:?xt=urn:btih:${info.infoHash}`,
      outDir: out,
      trackerOff: true,
      dhtBootstrap: [at],
      timeoutMs: 60_000,
    });
    t.diagnostic(`libtorrent through the DHT: ${Math.round(r.elapsedMs)} ms`);
    assert.deepEqual((await compareTrees(payload.root, join(out, 'dht2.bin'))).mismatches, []);
  });
});
