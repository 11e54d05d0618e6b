/**
 * BEP 21's tracker half against Debian's opentracker on 127.0.0.1: a bitstate partial seed
 * (`download --select 0,2 --seed` over a.bin and c.bin already on disk, b.bin never fetched) from
 * the start announces `event=paused` with `left` = b.bin's bytes (HTTP; event 4 over UDP, as
 * libtorrent 2.0.8). What opentracker makes of it, seen through its scrape and its answers:
 * - it takes `paused` over HTTP and event 4 over UDP as a regular announce (its event keywords are
 *   completed and stopped, any other ignored) and counts the peer by its `left` alone: a leecher
 *   (`incomplete`), never a seed, and no `downloaded` (no `completed` was sent). Before, a partial
 *   seed announced left=0 and opentracker counted it a seed (`complete` 1);
 * - it keeps no partial seeds apart: a downloader and another partial seed both get it in their
 *   peer lists;
 * - its `stopped` takes it out.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BitstateRun, startBitstateDownload } from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { writeMultiFilePayload } from './harness/payload.js';
import { type ManagedProcess, stopAll } from './harness/processes.js';

const PIECE_LENGTH = 32 * 1024;
/** On piece boundaries: a.bin and c.bin are whole pieces of their own, b.bin's three never fetched. */
const FILES = [
  { path: 'a.bin', length: 2 * PIECE_LENGTH },
  { path: 'b.bin', length: 3 * PIECE_LENGTH },
  { path: 'c.bin', length: PIECE_LENGTH },
];
const B_BYTES = 3 * PIECE_LENGTH;

let dir = '';
let source = '';
let infoHash = '';
let tracker: Opentracker | undefined;
const procs: ManagedProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-partial-tracker-'));
  tracker = await startOpentracker({ timeoutMs: 120_000 });
  source = (await writeMultiFilePayload({ dir: join(dir, 'source'), name: 'tree', files: FILES, seed: 21 }))
    .root;
});

after(async () => {
  await stopAll([...procs.map((p) => ({ stop: () => p.stop() })), tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** The torrent announcing to `announce`, and an out folder holding a.bin and c.bin only. */
async function partialCopy(name: string, announce: string): Promise<{ torrent: string; out: string }> {
  const torrent = await makeTorrent({
    source,
    out: join(dir, `${name}.torrent`),
    pieceLength: PIECE_LENGTH,
    announce: [announce],
  });
  infoHash = await referenceInfoHash(torrent);
  await tracker!.allow([infoHash]);
  const out = join(dir, name);
  await mkdir(join(out, 'tree'), { recursive: true });
  for (const f of ['a.bin', 'c.bin']) await copyFile(join(source, f), join(out, 'tree', f));
  return { torrent, out };
}

/** `bitstate download --select 0,2 --seed`: hashes a.bin and c.bin, then seeds them; resolves once its announce is answered. */
async function partialSeed(torrent: string, out: string): Promise<{ run: BitstateRun; port: number }> {
  const run = startBitstateDownload({ torrent, out, extraArgs: ['--select', '0,2', '--seed', '--no-pex'] });
  procs.push(run.process);
  const listening = await run.waitForEvent((e) => e.type === 'listening', 20_000);
  await run.waitForEvent((e) => e.type === 'seeding', 20_000);
  const announced = await run.waitForEvent((e) => e.type === 'tracker.announce', 20_000);
  assert.equal(announced.ok, true, `opentracker answered its announce: ${run.describe()}`);
  return { run, port: listening.port as number };
}

/** An HTTP announce of a peer of our own (`left`, `event`), taken out with `stopped` by the caller; its peers' ports. */
async function probe(peerId: string, port: number, left: number, event = ''): Promise<number[]> {
  const hash = infoHash.replace(/../g, (b) => `%${b}`);
  const query = `info_hash=${hash}&peer_id=${peerId.padEnd(20, '0')}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1${event}`;
  const body = Buffer.from(await (await fetch(`${tracker!.announceUrl}?${query}`)).arrayBuffer());
  const text = body.toString('latin1');
  assert.ok(!text.includes('failure reason'), text);
  const at = text.indexOf('5:peers');
  const m = /^5:peers(\d+):/.exec(text.slice(at));
  assert.ok(m !== null, text);
  const start = body.indexOf(':', at + 7) + 1;
  const peers = body.subarray(start, start + Number(m[1]));
  const ports: number[] = [];
  for (let i = 0; i + 6 <= peers.length; i += 6) ports.push(peers.readUInt16BE(i + 4));
  return ports;
}

describe('a bitstate partial seed (BEP 21) announcing to opentracker', { timeout: 120_000 }, () => {
  it('over HTTP (event=paused): a leecher to opentracker, handed to downloaders and partial seeds alike', async () => {
    const { torrent, out } = await partialCopy('http', tracker!.announceUrl);
    const { run, port } = await partialSeed(torrent, out);
    assert.deepEqual(await tracker!.scrape(infoHash), { complete: 0, incomplete: 1, downloaded: 0 });

    // opentracker keeps no partial seeds apart: another partial seed's `paused` announce is
    // answered like any other, with us in it, as a downloader's is.
    assert.ok((await probe('-PROBE1-', 7101, B_BYTES, '&event=paused')).includes(port));
    assert.ok((await probe('-PROBE2-', 7102, 5 * PIECE_LENGTH)).includes(port));
    await probe('-PROBE1-', 7101, B_BYTES, '&event=stopped');
    await probe('-PROBE2-', 7102, 5 * PIECE_LENGTH, '&event=stopped');

    await run.stop();
    assert.deepEqual(await tracker!.scrape(infoHash), { complete: 0, incomplete: 0, downloaded: 0 });
  });

  it('over UDP (event 4): taken as a regular announce, a leecher; stopped takes it out', async () => {
    const { torrent, out } = await partialCopy('udp', tracker!.udpUrl);
    const { run } = await partialSeed(torrent, out);
    assert.deepEqual(await tracker!.scrape(infoHash), { complete: 0, incomplete: 1, downloaded: 0 });
    await run.stop();
    assert.deepEqual(await tracker!.scrape(infoHash), { complete: 0, incomplete: 0, downloaded: 0 });
  });
});
