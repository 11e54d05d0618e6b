/**
 * BEP 21 partial seeds against aria2 and Transmission (libtorrent's side is
 * upload-only-libtorrent.test.ts): bitstate downloads a.bin and c.bin of a three-file torrent
 * (`download --select 0,2 --seed`, from a full bitstate seeder that no one else knows of) and, once
 * every selected piece is verified, seeds them: a partial seed, whose pieces at a.bin's and c.bin's
 * ends hold bytes of b.bin too (kept in its parts file).
 * - aria2c with `--select-file=1,3` (1-based), finding the partial seed through opentracker, completes
 *   and exits: its a.bin and c.bin are the source's bytes.
 * - Transmission (transmission-cli, which takes no file selection: it wants every file), dialled by
 *   the partial seed (it ignores loopback peers from trackers), gets every piece the partial seed
 *   has and nothing else: the deterministic check is its files — a.bin and c.bin complete (renamed
 *   from `.part`, Transmission's mark of a finished file) with the source's bytes, b.bin not — and
 *   its progress line naming exactly the share of bytes those pieces are. Neither side misbehaves:
 *   the connection is still up when that is seen (nothing closed it, no ban, no bad request), and
 *   Transmission is not a seed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { aria2Download } from './harness/aria2.js';
import {
  type BitstateRun,
  type BitstateSeeder,
  startBitstateDownload,
  startBitstateSeeder,
} from './harness/bitstate.js';
import { referenceInfoHash } from './harness/info-hash.js';
import { makeTorrent } from './harness/mktorrent.js';
import { type Opentracker, startOpentracker } from './harness/opentracker.js';
import { compareTrees, writeMultiFilePayload } from './harness/payload.js';
import { type ManagedProcess, stopAll } from './harness/processes.js';
import { startTransmission } from './harness/transmission.js';

const PIECE_LENGTH = 32 * 1024;
/** No file ends on a piece boundary: a.bin's last piece and c.bin's first hold bytes of b.bin. */
const FILES = [
  { path: 'a.bin', length: 5 * PIECE_LENGTH + 1_000 },
  { path: 'b.bin', length: 3 * PIECE_LENGTH + 500 },
  { path: 'c.bin', length: 4 * PIECE_LENGTH + 77 },
];
const TOTAL = FILES.reduce((s, f) => s + f.length, 0);
const PIECES = Math.ceil(TOTAL / PIECE_LENGTH);

/** The pieces a partial seed of a.bin and c.bin has: every piece touching either. */
function partialPieces(): number[] {
  const out = new Set<number>();
  let offset = 0;
  for (const f of FILES) {
    if (f.path !== 'b.bin')
      for (
        let p = Math.floor(offset / PIECE_LENGTH);
        p <= Math.floor((offset + f.length - 1) / PIECE_LENGTH);
        p++
      )
        out.add(p);
    offset += f.length;
  }
  return [...out].sort((a, b) => a - b);
}
const pieceBytes = (p: number) => Math.min(PIECE_LENGTH, TOTAL - p * PIECE_LENGTH);

let dir = '';
let torrent = '';
let source = '';
let tracker: Opentracker | undefined;
let full: BitstateSeeder | undefined;
const procs: ManagedProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-partial-seed-'));
  tracker = await startOpentracker();
  source = (await writeMultiFilePayload({ dir: join(dir, 'source'), name: 'tree', files: FILES, seed: 53 }))
    .root;
  torrent = await makeTorrent({
    source,
    out: join(dir, 'tree.torrent'),
    pieceLength: PIECE_LENGTH,
    announce: [tracker.announceUrl],
  });
  await tracker.allow([await referenceInfoHash(torrent)]);
  // The full copy: not announced, so only the partial seeds know of it (and they do not tell: --no-pex).
  full = await startBitstateSeeder(torrent, join(dir, 'source'), ['--no-tracker']);
  procs.push(full.process);
});

after(async () => {
  await stopAll([...procs.map((p) => ({ stop: () => p.stop() })), tracker]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** `bitstate download --select 0,2 --seed` from the full seeder; resolves once it seeds. */
async function partialSeed(
  out: string,
  extra: { peers?: string[]; noTracker?: boolean } = {},
): Promise<BitstateRun> {
  const run = startBitstateDownload({
    torrent,
    out,
    peers: [`127.0.0.1:${full!.port}`, ...(extra.peers ?? [])],
    noTracker: extra.noTracker === true,
    extraArgs: ['--select', '0,2', '--seed', '--no-pex'],
    timeoutMs: 90_000,
  });
  procs.push(run.process);
  await run.waitForEvent((e) => e.type === 'seeding', 30_000);
  return run;
}

/** Polls until `ok()` (bounded by `ms`: the wait for an outcome, not a claim about time). */
async function until(ok: () => boolean, ms: number, what: () => string): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(200))
    if (Date.now() > end) assert.fail(`not seen in ${ms} ms: ${what()}`);
}

describe('clients download from a bitstate partial seed (BEP 21)', { timeout: 120_000 }, () => {
  it('aria2c --select-file=1,3 completes a.bin and c.bin from it', async () => {
    const seed = await partialSeed(join(dir, 'partial-aria2'));
    // A partial seed announces left > 0 (BEP 21): opentracker counts it a leecher, never a seed.
    await tracker!.waitForLeechers(await referenceInfoHash(torrent), 1, 10_000);
    const out = join(dir, 'aria2');
    await aria2Download({ torrent, outDir: out, timeoutMs: 45_000, extraArgs: ['--select-file=1,3'] });
    for (const name of ['a.bin', 'c.bin']) {
      const cmp = await compareTrees(join(source, name), join(out, 'tree', name));
      assert.ok(cmp.equal, `${name}: ${JSON.stringify(cmp)}`);
    }
    assert.ok(
      seed.events.some((e) => e.type === 'peer.connected'),
      `aria2 connected to the partial seed: ${seed.describe()}`,
    );
    assert.deepEqual(
      seed.events.filter((e) => e.type === 'peer.banned'),
      [],
    );
  });

  it('Transmission gets every piece it has, and only those; neither side closes the connection', async () => {
    const out = join(dir, 'transmission');
    const tr = await startTransmission({ torrent, dir: out, timeoutMs: 90_000 });
    procs.push(tr.process);
    try {
      const trAddress = `127.0.0.1:${tr.port}`;
      const seed = await partialSeed(join(dir, 'partial-transmission'), {
        peers: [trAddress],
        noTracker: true,
      });
      const have = partialPieces();
      // Transmission's share of the bytes once it has exactly those pieces, as its progress line
      // writes it (one decimal, truncated).
      const share = have.reduce((s, p) => s + pieceBytes(p), 0) / TOTAL;
      const progress = `${(Math.floor(share * 1000) / 10).toFixed(1)}%`;
      const done = (name: string) => existsSync(join(out, 'tree', name));
      await until(
        () => done('a.bin') && done('c.bin'),
        60_000,
        () => `a.bin and c.bin complete at Transmission; partial seed: ${seed.describe()}`,
      );
      await tr.process.waitForLine(new RegExp(`Progress: ${progress.replace('.', '\\.')}`), 30_000);
      for (const name of ['a.bin', 'c.bin']) {
        const cmp = await compareTrees(join(source, name), join(out, 'tree', name));
        assert.ok(cmp.equal, `${name}: ${JSON.stringify(cmp)}`);
      }
      assert.equal(done('b.bin'), false, 'b.bin: no piece of it but the two it shares');
      assert.ok(have.length < PIECES);
      // The connection is up: the partial seed closed nothing and was closed by no one.
      assert.ok(
        seed.events.some((e) => e.type === 'peer.connected' && e.address === trAddress),
        seed.describe(),
      );
      assert.deepEqual(
        seed.events.filter(
          (e) => (e.type === 'peer.closed' || e.type === 'peer.banned') && e.address === trAddress,
        ),
        [],
      );
      assert.equal(tr.process.exit(), undefined, 'Transmission runs');
      assert.equal(
        tr.process
          .stdoutTail()
          .split('\n')
          .some((l) => l.startsWith('Seeding')),
        false,
        'Transmission is no seed',
      );
    } finally {
      await tr.stop();
    }
  });
});
