/**
 * `bitstate download` with a DHT on 127.0.0.1 (a router node in the test process, a seed that
 * announced there; nothing else tells the CLI where the seed is):
 * - the node id and nodes are saved in `OUT/.bitstate/dht.dat`, and a second run whose router is
 *   not running bootstraps from them and finds its peer;
 * - a magnet download says `dht.ready` once: one node serves the metadata fetch and the download,
 *   and its owner reports it (it was said twice, once by each).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readDhtState } from '../../../src/dht/dht-state.js';
import { idHex } from '../../../src/dht/node-id.js';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { seed } from '../../../src/session/seed.js';
import { dhtStatePathOf } from '../../../src/storage/store-files.js';
import { runCli } from '../../helpers/run-cli.js';
import { dhtRouter, tempDir, within } from '../../helpers/session.js';
import { getFreePort } from '../../interop/harness/ports.js';

/** A 300 kB file, its .torrent on disk, and a seed of it that has announced through `router`. */
async function announcedSeed(
  t: TestContext,
  dir: string,
  dht: { bootstrap: { host: string; port: number }[] },
) {
  const data = join(dir, 'data');
  await mkdir(data, { recursive: true });
  const bytes = randomBytes(300_000);
  await writeFile(join(data, 'file.bin'), bytes);
  const torrentBytes = await createTorrent(join(data, 'file.bin'), { pieceLength: 32768 });
  const torrentPath = join(dir, 'file.torrent');
  await writeFile(torrentPath, torrentBytes);
  const torrent = parseTorrent(torrentBytes);
  // As the CLI's seed: its state file in DATA/.bitstate, a folder no download made here.
  const seeder = seed(torrent, {
    data,
    trackers: false,
    port: 0,
    dht: { ...dht, statePath: dhtStatePathOf(data) },
  });
  t.after(() => seeder.stop());
  await within(
    60_000,
    new Promise<void>((resolve) => seeder.events$.subscribe((e) => e.type === 'dht.peers' && resolve())),
    'the seed announced',
  );
  return { data, bytes, torrent, torrentPath, seeder };
}

const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });

const cliSwarm = ['--no-tracker', '--port', '0', '--json', '--timeout', '20'];

test('the DHT state is saved in OUT/.bitstate/dht.dat; the next run bootstraps from it with its router down, and finds the seed', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-cli-state-');
  const { router, dht } = await dhtRouter(t);
  const { data, bytes, torrentPath, seeder } = await announcedSeed(t, dir, dht);
  const out1 = join(dir, 'out1');
  const first = await runCli(
    ['download', torrentPath, '-o', out1, ...cliSwarm, '--dht-bootstrap', `127.0.0.1:${router.port}`],
    { timeoutMs: 60_000 },
  );
  assert.equal(first.code, 0, first.stderr);
  const ready1 = events(first.stdout).find((e) => e.type === 'dht.ready');
  assert.equal(ready1?.savedNodes, 0, JSON.stringify(ready1));
  const saved = await readDhtState(dhtStatePathOf(out1));
  assert.ok(saved !== undefined && saved.nodes.length >= 1, 'the table saved');

  // A fresh folder with only the saved state in it, and a router that is not running.
  const out2 = join(dir, 'out2');
  await mkdir(join(out2, '.bitstate'), { recursive: true });
  await copyFile(dhtStatePathOf(out1), dhtStatePathOf(out2));
  const deadPort = await getFreePort();
  const second = await runCli(
    ['download', torrentPath, '-o', out2, ...cliSwarm, '--dht-bootstrap', `127.0.0.1:${deadPort}`],
    { timeoutMs: 60_000 },
  );
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await readFile(join(out2, 'file.bin')), bytes);
  const ready2 = events(second.stdout).find((e) => e.type === 'dht.ready');
  assert.equal(ready2?.savedNodes, saved.nodes.length, JSON.stringify(ready2));
  assert.ok(Number(ready2?.fromSaved) >= 1, JSON.stringify(ready2));
  assert.equal(idHex((await readDhtState(dhtStatePathOf(out2)))!.id), idHex(saved.id), 'the same node id');

  // The seed's data had no .bitstate folder: the seed made none (and saved nothing) at its end.
  await seeder.stop();
  assert.equal(existsSync(join(data, '.bitstate')), false);
});

test('a magnet download over the DHT says dht.ready once, and keeps its state in OUT/.bitstate', async (t) => {
  const dir = await tempDir(t, 'bitstate-dht-cli-magnet-');
  const { router, dht } = await dhtRouter(t);
  const { bytes, torrent } = await announcedSeed(t, dir, dht);
  const out = join(dir, 'out');
  const r = await runCli(
    [
      'download',
      `magnet:?xt=urn:btih:${torrent.infoHashHex}`,
      '-o',
      out,
      ...cliSwarm,
      '--dht-bootstrap',
      `127.0.0.1:${router.port}`,
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(join(out, 'file.bin')), bytes);
  const seen = events(r.stdout);
  assert.ok(seen.some((e) => e.type === 'metadata.fetched'));
  assert.equal(seen.filter((e) => e.type === 'dht.ready').length, 1, seen.map((e) => e.type).join(' '));
  assert.ok((await readDhtState(dhtStatePathOf(out)))!.nodes.length >= 1);
});
