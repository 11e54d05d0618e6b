/**
 * One `bitstate download` process (the built CLI, --json) given magnet links beside a .torrent, as
 * aria2c takes several: each link fetches its metadata (BEP 9) from another client on 127.0.0.1
 * while the others download.
 *
 * - Two magnet links, one seeded by python3-libtorrent and one by aria2c (each reached by its x.pe),
 *   and a .torrent seeded by libtorrent (--peer): all three byte for byte, exit 0, each link's
 *   events tagged with its info-hash from the first (`metadata.fetching`), one port.
 * - With --seed: a .torrent from aria2c and a link from libtorrent; once both seed, the seeders are
 *   stopped and a python3-libtorrent downloader gets the link's torrent from the bitstate process
 *   alone; SIGINT (Ctrl-C) then ends it, exit 0.
 *
 * The test stops every process it starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAria2Seeder } from './harness/aria2.js';
import { startBitstateDownload } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { libtorrentDownload, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import {
  compareTrees,
  defaultTreeSpec,
  writeMultiFilePayload,
  writeSingleFilePayload,
} from './harness/payload.js';
import { stopOnEnd } from './harness/processes.js';

/** A single-file payload in `dir/NAME/`, its torrent `dir/NAME.torrent` and its info-hash. */
async function single(dir: string, name: string, size: number, seed: number) {
  const payload = await writeSingleFilePayload({ dir: join(dir, name), name: `${name}.bin`, size, seed });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, `${name}.torrent`),
    pieceLength: 64 * 1024,
  });
  return { payload, torrent, data: join(dir, name), hash: await referenceInfoHash(torrent) };
}

test('bitstate download with two magnet links (libtorrent, aria2c) and a .torrent (libtorrent): one process, all three', {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-many-magnets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fromLt = await single(dir, 'lt-link', (1 << 20) + 77, 81);
  const fromAria2 = await single(dir, 'aria2-link', (1 << 20) + 555, 82);
  const tree = await writeMultiFilePayload({
    dir: join(dir, 'tree-data'),
    name: 'tree',
    files: defaultTreeSpec(1 << 20),
    seed: 83,
  });
  const treeTorrent = await makeTorrent({
    source: tree.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: 128 * 1024,
  });
  const treeHash = await referenceInfoHash(treeTorrent);

  const [lt, aria2, ltTree] = await Promise.all([
    startLibtorrentSeeder({
      torrent: fromLt.torrent,
      dataDir: fromLt.data,
      trackerOff: true,
      timeoutMs: 90_000,
    }),
    startAria2Seeder({ torrent: fromAria2.torrent, dataDir: fromAria2.data, timeoutMs: 90_000 }),
    startLibtorrentSeeder({
      torrent: treeTorrent,
      dataDir: join(dir, 'tree-data'),
      trackerOff: true,
      timeoutMs: 90_000,
    }),
  ]);
  stopOnEnd(t, lt, aria2, ltTree);

  const out = join(dir, 'out');
  const run = startBitstateDownload({
    torrent: `magnet:?xt=urn:btih:${fromLt.hash}&x.pe=127.0.0.1:${lt.port}`,
    extraArgs: [`magnet:?xt=urn:btih:${fromAria2.hash}&x.pe=127.0.0.1:${aria2.port}`, treeTorrent],
    out,
    peers: [`127.0.0.1:${ltTree.port}`],
    noTracker: true,
    stallTimeoutSec: 20,
    timeoutMs: 90_000,
  });
  stopOnEnd(t, run);
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());

  for (const [payload, name] of [
    [fromLt.payload, 'lt-link.bin'],
    [fromAria2.payload, 'aria2-link.bin'],
    [tree, 'tree'],
  ] as const) {
    const cmp = await compareTrees(payload.root, join(out, name));
    assert.ok(cmp.equal, `${name}: ${JSON.stringify(cmp)}`);
  }
  const hashes = new Set([fromLt.hash, fromAria2.hash, treeHash]);
  for (const e of run.events) assert.ok(hashes.has(e.infoHash as string), `tagged: ${JSON.stringify(e)}`);
  for (const h of [fromLt.hash, fromAria2.hash])
    assert.equal(run.events.find((e) => e.infoHash === h)?.type, 'metadata.fetching', `${h}: first event`);
  assert.deepEqual(new Set(run.events.filter((e) => e.type === 'done').map((e) => e.infoHash)), hashes);
  assert.equal(
    new Set(run.events.filter((e) => e.type === 'listening').map((e) => e.port)).size,
    1,
    'one port',
  );
});

test('bitstate download A.torrent MAGNET --seed: both seed once complete, python3-libtorrent gets the link from it, SIGINT exits 0', {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-dl-many-seed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = await single(dir, 'a', (1 << 20) + 3, 84);
  const b = await single(dir, 'b', (1 << 20) + 9, 85);
  const [aria2, lt] = await Promise.all([
    startAria2Seeder({ torrent: a.torrent, dataDir: a.data, timeoutMs: 90_000 }),
    startLibtorrentSeeder({ torrent: b.torrent, dataDir: b.data, trackerOff: true, timeoutMs: 90_000 }),
  ]);
  stopOnEnd(t, aria2, lt);

  const out = join(dir, 'out');
  const run = startBitstateDownload({
    torrent: a.torrent,
    extraArgs: [`magnet:?xt=urn:btih:${b.hash}&x.pe=127.0.0.1:${lt.port}`, '--seed'],
    out,
    peers: [`127.0.0.1:${aria2.port}`],
    noTracker: true,
    timeoutMs: 90_000,
  });
  stopOnEnd(t, run);
  const seeding = (h: string) => run.waitForEvent((e) => e.type === 'seeding' && e.infoHash === h, 60_000);
  await Promise.all([seeding(a.hash), seeding(b.hash)]);
  const port = run.events.find((e) => e.type === 'listening')?.port as number;
  // Its first seeders gone: what the downloader gets comes from the bitstate process.
  await Promise.all([aria2.stop(), lt.stop()]);

  const fetched = join(dir, 'fetched');
  await libtorrentDownload({
    torrent: b.torrent,
    outDir: fetched,
    peers: [`127.0.0.1:${port}`],
    timeoutMs: 45_000,
  });
  const cmp = await compareTrees(b.payload.root, join(fetched, 'b.bin'));
  assert.ok(cmp.equal, JSON.stringify(cmp));
  assert.equal(run.process.exit(), undefined, 'still running: seeding until told to stop');
  assert.ok(!run.events.some((e) => e.type === 'done'), run.describe());

  process.kill(run.process.pid, 'SIGINT');
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());
  for (const [payload, name] of [
    [a.payload, 'a.bin'],
    [b.payload, 'b.bin'],
  ] as const) {
    const c = await compareTrees(payload.root, join(out, name));
    assert.ok(c.equal, `${name}: ${JSON.stringify(c)}`);
  }
  assert.deepEqual(
    new Set(run.events.filter((e) => e.type === 'done').map((e) => e.infoHash)),
    new Set([a.hash, b.hash]),
    'each ended complete',
  );
});
