/**
 * One `bitstate download A.torrent B.torrent` process (the built CLI, --json) downloads two torrents
 * at once, each from a different client on 127.0.0.1: aria2c seeds one (a single file), python3-
 * libtorrent the other (a folder). Both complete byte for byte in one --out, exit 0, every event
 * carries its torrent's infoHash, each torrent's connections went to its own seeder, and one port
 * served both. The test stops every process it starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAria2Seeder } from './harness/aria2.js';
import { startBitstateDownload } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import {
  compareTrees,
  defaultTreeSpec,
  writeMultiFilePayload,
  writeSingleFilePayload,
} from './harness/payload.js';
import { stopOnEnd } from './harness/processes.js';

test('bitstate download with two torrents: one from aria2c, one from libtorrent, one process, one port', {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-many-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const one = await writeSingleFilePayload({
    dir: join(dir, 'aria2'),
    name: 'one.bin',
    size: (2 << 20) + 333,
    seed: 71,
  });
  const tree = await writeMultiFilePayload({
    dir: join(dir, 'lt'),
    name: 'tree',
    files: defaultTreeSpec(2 << 20),
    seed: 72,
  });
  const oneTorrent = await makeTorrent({
    source: one.root,
    out: join(dir, 'one.torrent'),
    pieceLength: 64 * 1024,
  });
  const treeTorrent = await makeTorrent({
    source: tree.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 128 * 1024,
  });
  const [oneHash, treeHash] = await Promise.all([
    referenceInfoHash(oneTorrent),
    referenceInfoHash(treeTorrent),
  ]);

  const [aria2, lt] = await Promise.all([
    startAria2Seeder({ torrent: oneTorrent, dataDir: join(dir, 'aria2'), timeoutMs: 90_000 }),
    startLibtorrentSeeder({
      torrent: treeTorrent,
      dataDir: join(dir, 'lt'),
      trackerOff: true,
      timeoutMs: 90_000,
    }),
  ]);
  stopOnEnd(t, aria2, lt);

  const out = join(dir, 'out');
  const run = startBitstateDownload({
    torrent: oneTorrent,
    extraArgs: [treeTorrent],
    out,
    peers: [`127.0.0.1:${aria2.port}`, `127.0.0.1:${lt.port}`],
    noTracker: true,
    stallTimeoutSec: 20,
    timeoutMs: 90_000,
  });
  stopOnEnd(t, run);
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());

  for (const [payload, name] of [
    [one, 'one.bin'],
    [tree, 'tree'],
  ] as const) {
    const cmp = await compareTrees(payload.root, join(out, name));
    assert.ok(cmp.equal, `${name}: ${JSON.stringify(cmp)}`);
  }
  const hashes = new Set([oneHash, treeHash]);
  for (const e of run.events) assert.ok(hashes.has(e.infoHash as string), `tagged: ${JSON.stringify(e)}`);
  const peersOf = (h: string) =>
    new Set(run.events.filter((e) => e.type === 'peer.connected' && e.infoHash === h).map((e) => e.address));
  assert.deepEqual(peersOf(oneHash), new Set([`127.0.0.1:${aria2.port}`]), 'one.bin from aria2c');
  assert.deepEqual(peersOf(treeHash), new Set([`127.0.0.1:${lt.port}`]), 'tree from libtorrent');
  assert.deepEqual(new Set(run.events.filter((e) => e.type === 'done').map((e) => e.infoHash)), hashes);
  assert.equal(
    new Set(run.events.filter((e) => e.type === 'listening').map((e) => e.port)).size,
    1,
    'one port',
  );
});
