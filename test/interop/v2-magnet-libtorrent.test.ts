/**
 * `bitstate download 'magnet:?xt=urn:btmh:1220<v2 info-hash>&x.pe=HOST:PORT'` (BEP 52) on
 * 127.0.0.1: bitstate, given only the v2 magnet link, fetches the info dictionary (BEP 9) over the
 * v2 swarm, then the piece layers it lacks with hash requests, each answer checked against its
 * file's `pieces root`, and downloads a v2-only torrent libtorrent 2.0 made: a file of 1,100 pieces
 * (runs of 512, the last asked as 128, proved with uncles), a short file and an empty one. From a
 * libtorrent seeder, and from a bitstate seeder; the bytes must be the source's.
 *
 * The bytes alone would not show the layers were fetched and used: `metadata.fetched` must say
 * how many piece layer hashes came (every piece of the long file), and the saved
 * DIR/.bitstate/<info-hash>.torrent must hold them — a second run then starts with no fetch at all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { type BitstateEvent, startBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { type LibtorrentMadeTorrent, makeTorrentWithLibtorrent } from './harness/libtorrent-create.js';
import { compareTrees, writeMultiFilePayload } from './harness/payload.js';
import { type Stoppable, stopAll } from './harness/processes.js';

const PIECE = 32 * 1024;
const LONG_PIECES = 1100;
let dir = '';
let tree = '';
let torrent = '';
let made: LibtorrentMadeTorrent;
const stoppables: Stoppable[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-v2-magnet-'));
  tree = (
    await writeMultiFilePayload({
      dir: join(dir, 'seed'),
      name: 'tree',
      files: [
        { path: 'a-many-pieces.bin', length: LONG_PIECES * PIECE - 3_000 },
        { path: 'b-short.bin', length: 5_000 },
        { path: 'c-empty.txt', length: 0 },
      ],
      seed: 53,
    })
  ).root;
  torrent = join(dir, 'tree.torrent');
  made = await makeTorrentWithLibtorrent({ source: tree, out: torrent, pieceLength: PIECE, format: 'v2' });
  assert.ok(made.v2 !== undefined && made.v1 === undefined, 'a v2-only torrent');
});

after(async () => {
  await stopAll(stoppables);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** `bitstate download <v2 magnet>` from the peer at `port` into `out`: its events once done. */
async function downloadV2Magnet(port: number, out: string): Promise<readonly BitstateEvent[]> {
  const run = startBitstateDownload({
    torrent: `magnet:?xt=urn:btmh:1220${made.v2}&dn=tree&x.pe=127.0.0.1:${port}`,
    out,
    noTracker: true,
    timeoutMs: 90_000,
  });
  stoppables.push({ stop: () => run.stop() });
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());
  return run.events;
}

/** The bytes, the layers announced and saved, and a second run that fetches nothing. */
async function checkDownload(port: number, out: string): Promise<void> {
  const events = await downloadV2Magnet(port, out);
  const cmp = await compareTrees(tree, join(out, 'tree'));
  assert.deepEqual(cmp.mismatches, []);
  const fetched = events.find((e) => e.type === 'metadata.fetched');
  assert.equal(fetched?.pieceLayerHashes, LONG_PIECES, JSON.stringify(fetched));
  const infoHash = made.v2!.slice(0, 40);
  const saved = parseTorrent(await readFile(join(out, '.bitstate', `${infoHash}.torrent`)));
  const original = parseTorrent(await readFile(torrent));
  assert.equal(saved.version, 'v2');
  assert.deepEqual(Buffer.from(saved.pieces), Buffer.from(original.pieces));
  const again = await downloadV2Magnet(port, out);
  assert.ok(!again.some((e) => e.type === 'metadata.fetching'), 'the saved torrent is used');
}

describe('bitstate downloads a v2-only torrent from a urn:btmh: magnet link alone (BEP 52)', () => {
  it('from a libtorrent seeder: its hash requests answered by libtorrent, every piece layer hash checked', async () => {
    const seeder = await startLibtorrentSeeder({ torrent, dataDir: join(dir, 'seed'), trackerOff: true });
    stoppables.push(seeder);
    await checkDownload(seeder.port, join(dir, 'out-lt'));
    await seeder.stop();
  });

  it('from a bitstate seeder', async () => {
    const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), ['--no-tracker']);
    stoppables.push(seeder.process);
    await checkDownload(seeder.port, join(dir, 'out-bitstate'));
    await seeder.process.stop();
  });
});
