/**
 * Disk errors (issue #9) with real file systems, not mocks: a full disk (a 3 MiB tmpfs), a file
 * size limit (`ulimit -f`: Node ignores SIGXFSZ, so the write fails with EFBIG), a read-only output
 * folder (a read-only bind mount: as root, chmod stops nothing), and a file removed under a running
 * download. Each must end with one clear line on stderr and exit 1, and the same command run again
 * (with the cause fixed) must complete with exact bytes, never fetching again a piece verified
 * before the failure. Mounting needs root: without it those cases are skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import {
  type BitstateEvent,
  bitstateBin,
  bitstateDownloadArgs,
  runBitstateDownload,
  startBitstateDownload,
} from './harness/bitstate.js';
import { type LibtorrentSeeder, startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, defaultTreeSpec, type Payload, writeMultiFilePayload } from './harness/payload.js';
import { startProcess } from './harness/processes.js';

const PIECE_LENGTH = 64 * 1024;
let dir = '';
let payload: Payload;
let torrent = '';
let fast: LibtorrentSeeder | undefined;
let slow: LibtorrentSeeder | undefined;
const mounts: string[] = [];

function mount(args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-disk-'));
  payload = await writeMultiFilePayload({
    dir: join(dir, 'seed'),
    name: 'tree',
    files: defaultTreeSpec(5 << 20),
    seed: 7,
  });
  torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'tree.torrent'),
    pieceLength: PIECE_LENGTH,
  });
  const opts = { torrent, dataDir: join(dir, 'seed'), trackerOff: true, timeoutMs: 120_000 };
  fast = await startLibtorrentSeeder(opts);
  slow = await startLibtorrentSeeder({ ...opts, uploadLimit: 1 << 20 });
});

after(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  await Promise.all([fast?.stop(), slow?.stop()]);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const options = (out: string, seeder = fast) => ({
  torrent,
  out,
  peers: [`127.0.0.1:${seeder!.port}`],
  noTracker: true,
  stallTimeoutSec: 10,
  timeoutMs: 25_000,
});

const verified = (events: readonly BitstateEvent[]) =>
  new Set(events.filter((e) => e.type === 'piece.verified').map((e) => e.index as number));

/**
 * Exit 1 and one line naming the cause (the harness sets BITSTATE_DEBUG, which adds a stack trace
 * after that line: only the first line is the message).
 */
function checkFailure(exit: { code: number | null }, stderr: string, cause: RegExp, describe: string): void {
  assert.equal(exit.code, 1, describe);
  const first = stderr.trim().split('\n')[0] ?? '';
  assert.match(first, /^bitstate download: /);
  assert.match(first, cause);
}

/** The same command again: exact bytes, and nothing verified by `before` fetched again. */
async function restartCompletes(out: string, before: readonly BitstateEvent[]): Promise<void> {
  const again = await runBitstateDownload(options(out));
  assert.equal(again.exit.code, 0, again.describe());
  const earlier = verified(before);
  const refetched = [...verified(again.events)].filter((i) => earlier.has(i));
  assert.deepEqual(refetched, [], 'pieces verified before the failure were fetched again');
  assert.deepEqual((await compareTrees(payload.root, join(out, 'tree'))).mismatches, []);
}

it('no space left (a 3 MiB tmpfs): exit 1, one line; with room again it completes', async (t) => {
  const out = join(dir, 'tmpfs');
  await mkdir(out);
  if (!mount(['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', out])) return t.skip('cannot mount tmpfs (not root?)');
  mounts.push(out);
  // Rate-limited, so pieces are verified while the disk fills.
  const run = await runBitstateDownload(options(out, slow));
  checkFailure(run.exit, run.process.stderrTail(), /no space left/i, run.describe());
  assert.ok(verified(run.events).size > 0, 'some pieces were verified before the disk filled');
  assert.ok(mount(['-o', 'remount,size=16m', out]), 'remount bigger');
  await restartCompletes(out, run.events);
});

it('file size limit (ulimit -f): exit 1, one line; without the limit it completes', async () => {
  const out = join(dir, 'ulimit');
  const args = bitstateDownloadArgs(options(out))
    .map((a) => `'${a}'`)
    .join(' ');
  // 1024-byte blocks: every file of the tree fits but a.bin (1.5 MiB).
  const proc = startProcess(
    'bash',
    ['-c', `ulimit -f 1024; exec '${process.execPath}' '${bitstateBin()}' ${args}`],
    {
      timeoutMs: 25_000,
    },
  );
  const exit = await proc.exited;
  checkFailure(exit, proc.stderrTail(), /file too large|EFBIG/i, proc.stderrTail());
  await restartCompletes(out, []);
});

it('read-only output folder (a read-only bind mount): exit 1, one line; writable again it completes', async (t) => {
  const out = join(dir, 'readonly');
  await mkdir(out);
  if (!mount(['--bind', out, out])) return t.skip('cannot bind-mount (not root?)');
  mounts.push(out);
  assert.ok(mount(['-o', 'remount,ro,bind', out]), 'remount read-only');
  const run = await runBitstateDownload(options(out));
  checkFailure(run.exit, run.process.stderrTail(), /read-only file system|EROFS/i, run.describe());
  assert.ok(mount(['-o', 'remount,rw,bind', out]), 'remount writable');
  await restartCompletes(out, run.events);
});

it('a file removed under a running download: exit 1, one line; run again it completes', async () => {
  const out = join(dir, 'removed');
  const run = startBitstateDownload(options(out, slow));
  try {
    await run.waitForEvent((e) => e.type === 'piece.verified', 15_000);
    // Files are created at their first write: wait (bounded) for a.bin's.
    const aBin = join(out, 'tree', 'a.bin');
    for (const until = performance.now() + 15_000; !existsSync(aBin) && performance.now() < until; )
      await new Promise((r) => setTimeout(r, 20));
    await rm(aBin);
    const exit = await run.exited;
    checkFailure(exit, run.process.stderrTail(), /a\.bin was removed while downloading/, run.describe());
  } finally {
    await run.stop();
  }
  // Pieces of a.bin are fetched again (the file is gone); no other verified piece is.
  const again = await runBitstateDownload(options(out));
  assert.equal(again.exit.code, 0, again.describe());
  const aEnd = Math.floor((payload.files[0]!.length - 1) / PIECE_LENGTH);
  const earlier = [...verified(run.events)].filter((i) => i > aEnd);
  const refetched = earlier.filter((i) => verified(again.events).has(i));
  assert.deepEqual(refetched, []);
  assert.deepEqual((await compareTrees(payload.root, join(out, 'tree'))).mismatches, []);
});
