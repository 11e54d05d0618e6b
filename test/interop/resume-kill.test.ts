/**
 * Crash safety (issue #9): a real download from a rate-limited python3-libtorrent seeder is killed
 * with SIGKILL at seeded random moments (three kills) and started again each time with the same
 * command. The last run must complete with exact bytes, and no piece that a run's resume file
 * claimed (the first `have` pieces of its `resume.saved` event, docs/resume.md) may be fetched
 * again by a later run. The first kill lands at a random delay after the first verified piece,
 * likely before any save (the restart then rechecks the data); the others at a random delay after
 * a save.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { mulberry32 } from '../../src/picker/prng.js';
import { type BitstateEvent, type BitstateRun, startBitstateDownload } from './harness/bitstate.js';
import { type LibtorrentSeeder, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, defaultTreeSpec, type Payload, writeMultiFilePayload } from './harness/payload.js';

/**
 * 16 MiB at 1 MiB/s: about 16 s of download in all, spread over four runs. The three kills come at
 * most ~9 s in (1 s after the first piece, then up to 1.5 s after a save, saved every 2 s), so the
 * last run always has data left to fetch, however fast bitstate starts (at 10 MiB and 1.5 MiB/s,
 * a 190 ms start-up let run 2 finish before its kill).
 */
const SIZE = 16 << 20;
const UPLOAD_LIMIT = 1024 * 1024;
const PIECE_LENGTH = 64 * 1024;
const KILLS = 3;
const SEED = 0x9e55;

let dir = '';
let payload: Payload;
let torrent = '';
let seeder: LibtorrentSeeder | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-resume-kill-'));
  payload = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    files: defaultTreeSpec(SIZE),
    seed: 91,
  });
  torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: PIECE_LENGTH,
  });
  seeder = await startLibtorrentSeeder({
    torrent,
    dataDir: join(dir, 'seed'),
    trackerOff: true,
    uploadLimit: UPLOAD_LIMIT,
    timeoutMs: 120_000,
  });
});

after(async () => {
  await seeder?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const verifiedIn = (events: readonly BitstateEvent[]) =>
  events.filter((e) => e.type === 'piece.verified').map((e) => e.index as number);

/** The pieces run `events` claimed in its last resume file: those it started with plus the first verified. */
function savedPieces(events: readonly BitstateEvent[], known: ReadonlySet<number>): Set<number> {
  const loaded = events.find((e) => e.type === 'resume.loaded');
  const saves = events.filter((e) => e.type === 'resume.saved');
  const out = new Set(known);
  if (loaded === undefined || saves.length === 0) return out;
  const fromThisRun = (saves[saves.length - 1]!.have as number) - (loaded.have as number);
  for (const i of verifiedIn(events).slice(0, fromThisRun)) out.add(i);
  return out;
}

it('kill -9 at random moments, restart each time: exact bytes, saved pieces never fetched again', async () => {
  const random = mulberry32(SEED);
  const out = join(dir, 'out');
  const start = (): BitstateRun =>
    startBitstateDownload({
      torrent,
      out,
      peers: [`127.0.0.1:${seeder!.port}`],
      noTracker: true,
      stallTimeoutSec: 10,
      timeoutMs: 30_000,
    });
  let saved = new Set<number>();
  for (let k = 0; k <= KILLS; k++) {
    const run = start();
    try {
      if (k < KILLS) {
        // The first kill: soon after the first verified piece, likely before any save.
        const mark = k === 0 ? 'piece.verified' : 'resume.saved';
        await run.waitForEvent((e) => e.type === mark, 15_000);
        await new Promise((r) => setTimeout(r, random() * (k === 0 ? 1000 : 1500)));
        assert.equal(run.process.exit(), undefined, `run ${k} ended before its kill; ${run.describe()}`);
        process.kill(run.process.pid, 'SIGKILL');
      }
      const exit = await run.exited;
      if (k === KILLS) assert.equal(exit.code, 0, `last run: ${run.describe()}`);
      else assert.equal(exit.signal, 'SIGKILL');
      const loaded = run.events.find((e) => e.type === 'resume.loaded');
      assert.ok(loaded !== undefined, `run ${k}: no resume.loaded; ${run.describe()}`);
      const again = verifiedIn(run.events).filter((i) => saved.has(i));
      assert.deepEqual(again, [], `run ${k} fetched pieces its predecessors had saved`);
      saved = savedPieces(run.events, saved);
      if (k > 0) assert.ok((loaded.have as number) > 0, `run ${k} resumed nothing; ${run.describe()}`);
    } finally {
      await run.stop();
    }
  }
  const cmp = await compareTrees(payload.root, join(out, 'tree'));
  assert.deepEqual(cmp.mismatches, []);
  assert.ok(saved.size > 0, 'no run saved anything before its kill');
});
