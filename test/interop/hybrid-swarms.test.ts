/**
 * A hybrid torrent (BEP 52) is one payload in two swarms: its v1 swarm, named by the SHA-1
 * info-hash, and its v2 swarm, named by the first 20 bytes of the SHA-256 one. bitstate joins both,
 * as libtorrent 2.0 does, on 127.0.0.1:
 * - libtorrent started from a v2-only magnet link (`urn:btmh:1220…`, so it knows the v2 swarm and
 *   no other) downloads the hybrid from a bitstate seeder: the seeder takes a handshake carrying the
 *   v2 hash (plain, or as the SKEY of an MSE handshake) and answers with it;
 * - opentracker hears a bitstate seeder and a bitstate download of the hybrid under both hashes (a
 *   scrape of each counts the seeder, and the download's `completed`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTorrentFile } from '../../src/metainfo/read-torrent-file.js';
import {
  type BitstateRun,
  bitstateBin,
  runBitstateDownload,
  startBitstateSeeder,
} from './harness/bitstate.js';
import { libtorrentDownload } from './harness/libtorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { compareTrees, writeMultiFilePayload } from './harness/payload.js';
import { type ManagedProcess, runProcess, stopAll } from './harness/processes.js';

const PIECE = 64 * 1024;
let dir = '';
let tree = '';
let tracker: Opentracker | undefined;
const procs: ManagedProcess[] = [];

/** `bitstate create --format hybrid`, announcing to `announce` if given: the file and both hashes. */
async function hybridTorrent(name: string, announce?: string) {
  const out = join(dir, `${name}.torrent`);
  const args = ['create', tree, '--format', 'hybrid', '--piece-length', String(PIECE), '-o', out];
  if (announce !== undefined) args.push('--announce', announce);
  const r = await runProcess(process.execPath, [bitstateBin(), ...args], {
    name: 'bitstate create',
    timeoutMs: 30_000,
  });
  assert.equal(r.exit.code, 0, r.stderrTail);
  const t = await readTorrentFile(out);
  assert.equal(t.version, 'hybrid');
  const v2 = Buffer.from(t.infoHashV2!);
  return {
    path: out,
    v1Hex: t.infoHashHex,
    v2Hex: v2.toString('hex'),
    v2SwarmHex: v2.subarray(0, 20).toString('hex'),
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-hybrid-'));
  const m = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    files: [
      { path: 'a-long.bin', length: 3 * PIECE + 5_000 },
      { path: 'b-piece.bin', length: PIECE },
      { path: 'd/e-short.bin', length: 20_000 },
    ],
    seed: 91,
  });
  tree = m.root;
});

after(async () => {
  await stopAll(procs);
  await tracker?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('a hybrid torrent in both its swarms', () => {
  it('libtorrent that knows only the v2 swarm (a btmh magnet) downloads the hybrid from a bitstate seeder', async () => {
    const t = await hybridTorrent('served');
    const seeder = await startBitstateSeeder(t.path, join(dir, 'seed'), ['--no-tracker']);
    procs.push(seeder.process);
    const out = join(dir, 'out-libtorrent');
    await libtorrentDownload({
      torrent: `magnet:?xt=urn:btmh:1220${t.v2Hex}&dn=tree`,
      outDir: out,
      peers: [`127.0.0.1:${seeder.port}`],
      timeoutMs: 30_000,
    });
    const cmp = await compareTrees(tree, join(out, 'tree'));
    assert.deepEqual(cmp.mismatches, []);
    assert.ok(
      seeder.events.some((e) => e.type === 'peer.connected'),
      'the seeder took the connection libtorrent made under the v2 hash',
    );
    await seeder.process.stop();
  });

  it('the same over MSE with RC4: the seeder finds the hybrid by its v2 hash as SKEY', async () => {
    const t = await hybridTorrent('served-rc4');
    const seeder = await startBitstateSeeder(t.path, join(dir, 'seed'), [
      '--no-tracker',
      '--encryption',
      'required',
    ]);
    procs.push(seeder.process);
    const out = join(dir, 'out-libtorrent-rc4');
    await libtorrentDownload({
      torrent: `magnet:?xt=urn:btmh:1220${t.v2Hex}&dn=tree`,
      outDir: out,
      peers: [`127.0.0.1:${seeder.port}`],
      encrypt: true,
      encLevel: 'rc4',
      timeoutMs: 30_000,
    });
    assert.deepEqual((await compareTrees(tree, join(out, 'tree'))).mismatches, []);
    const connected = seeder.events.find((e) => e.type === 'peer.connected');
    assert.equal(connected?.encryption, 'rc4', JSON.stringify(connected));
    await seeder.process.stop();
  });

  it('opentracker hears a bitstate seeder and download of the hybrid under both its hashes', async () => {
    tracker = await startOpentracker({ timeoutMs: 120_000 });
    const t = await hybridTorrent('announced', tracker.announceUrl);
    await tracker.allow([t.v1Hex, t.v2SwarmHex]);
    const seeder = await startBitstateSeeder(t.path, join(dir, 'seed'));
    procs.push(seeder.process);
    await tracker.waitForSeeders(t.v1Hex, 1, 15_000);
    await tracker.waitForSeeders(t.v2SwarmHex, 1, 15_000);

    // A download with no peer given: it finds the seeder through the tracker, and says `completed` in both swarms.
    const out = join(dir, 'out-bitstate');
    const run: BitstateRun = await runBitstateDownload({ torrent: t.path, out, stallTimeoutSec: 20 });
    assert.equal((await run.exited).code, 0, run.describe());
    assert.deepEqual((await compareTrees(tree, join(out, 'tree'))).mismatches, []);
    const announced = run.events.filter((e) => e.type === 'tracker.announce');
    assert.ok(announced.length > 0, run.describe());
    for (const hex of [t.v1Hex, t.v2SwarmHex]) {
      const counts = await tracker.scrape(hex);
      assert.equal(counts.complete, 1, `the seeder in the swarm of ${hex}`);
      assert.equal(counts.downloaded, 1, `the download's completed announce in the swarm of ${hex}`);
    }
    await seeder.process.stop();
  });
});
