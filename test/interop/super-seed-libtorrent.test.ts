/**
 * Super-seeding (BEP 16) against python3-libtorrent 2.0: one `bitstate seed --super-seed --max-up
 * 512K --no-pex` and two libtorrent downloaders (super-seed-peer.py), all on 127.0.0.1 over TCP.
 * Both dial the seed; only once both have seen it is the second told to dial the first. Both finish
 * with the payload's bytes; each, at its first look at the seed's peer info, takes it for no seed
 * (libtorrent counts the haveNone and the haves it was sent), and at no look had the seed shown
 * either more than two pieces it lacked (a plain seed shows all 64 at once). The seed uploads the
 * payload once and at most eight pieces more, a bound that follows from the protocol (last test).
 * Every process is stopped by the test.
 *
 * Why this order and this limit. Told of each other at once, a downloader could take every piece
 * from the other before its own connection to the seed was up, and never see the seed (a finished
 * libtorrent keeps no connection to it): 1 run in ~35 failed so, and a seed dial held back 1.5 s
 * fails it every time. Linked only once both have seen the seed, they are linked late: libtorrent
 * dials a peer it is given at its next once-a-second tick, so up to ~2 s after the first piece left
 * the seed. A seed as fast as the loopback had sent every piece by then and went on sending them
 * again (1.6 × the payload). Super-seeding is for a seed slower than its swarm: at 512 KiB/s the
 * payload takes ~4 s to leave the seed once, the downloaders pass a piece on in a few ms, and
 * nothing the test asserts depends on who dials first (no PEX: the seed would link them itself).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLIENT_VERSION } from '../../machines/peer-extension.js';
import { type BitstateSeeder, startBitstateSeeder } from './harness/bitstate.js';
import { SYSTEM_PYTHON } from './harness/info-hash.js';
import { makeTorrent } from './harness/mktorrent.js';
import { hashFile, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

const PIECE_LENGTH = 32 * 1024;
const PIECES = 64;
const SIZE = PIECES * PIECE_LENGTH - 4_000;
/** The seed's upload limit: far below what two libtorrent processes pass each other on loopback. */
const SEED_RATE = '512K';
/** Pieces a super-seed shows a peer at once (libtorrent's two; MAX_REVEALED_PER_PEER). */
const SHOWN = 2;
const PEER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'super-seed-peer.py');

let dir = '';
let torrent = '';
let source = '';
let sourceHash = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-super-seed-'));
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'source'),
    name: 'ss.bin',
    size: SIZE,
    seed: 16,
  });
  source = payload.root;
  sourceHash = await hashFile(source);
  torrent = await makeTorrent({ source, out: join(dir, 'ss.torrent'), pieceLength: PIECE_LENGTH });
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface PeerReport {
  readonly seen: Record<string, unknown>;
  readonly done: Record<string, unknown>;
}

/** A libtorrent downloader into `save` on `port`, dialling the seed (and `peers` once linked). */
function downloader(save: string, port: number, seedPort: number, peers: readonly number[]): ManagedProcess {
  const args = [PEER_SCRIPT, '--torrent', torrent, '--save-path', save, '--port', String(port)];
  args.push('--seed', `127.0.0.1:${seedPort}`, '--client', CLIENT_VERSION, '--timeout', '60');
  for (const p of peers) args.push('--peer', `127.0.0.1:${p}`);
  return startProcess(SYSTEM_PYTHON, args, { name: 'super-seed-peer.py', timeoutMs: 75_000 });
}

async function seedSeen(proc: ManagedProcess): Promise<Record<string, unknown>> {
  return JSON.parse(await proc.waitForLine(/"event": "seedSeen"/, 60_000)) as Record<string, unknown>;
}

async function done(proc: ManagedProcess): Promise<Record<string, unknown>> {
  const line = await proc.waitForLine(/"event": "(done|timeout)"/, 60_000);
  const event = JSON.parse(line) as Record<string, unknown>;
  assert.equal(event.event, 'done', `${line}\n${proc.stderrTail()}`);
  return event;
}

/** The seed's next `progress` event (one a second). */
function nextProgress(seeder: BitstateSeeder): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no progress event from the seed'));
    }, 10_000);
    const off = seeder.process.onLine((line, stream) => {
      if (stream !== 'stdout' || !line.includes('"type":"progress"')) return;
      clearTimeout(timer);
      off();
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

/** The swarm: the seed (`--super-seed` or not) and two downloaders until both are done. */
async function swarm(extra: readonly string[], name: string) {
  let seeder: BitstateSeeder | undefined;
  const procs: ManagedProcess[] = [];
  try {
    seeder = await startBitstateSeeder(torrent, dirname(source), [
      '--no-tracker',
      '--no-pex',
      '--max-up',
      SEED_RATE,
      ...extra,
    ]);
    const ports = [await getFreePort(), await getFreePort()] as const;
    const a = downloader(join(dir, name, 'a'), ports[0], seeder.port, []);
    procs.push(a);
    const b = downloader(join(dir, name, 'b'), ports[1], seeder.port, [ports[0]]);
    procs.push(b);
    // Until both have seen the seed, the seed is each one's only source.
    const seen = [await seedSeen(a), await seedSeen(b)];
    process.kill(b.pid, 'SIGUSR1'); // b dials a
    const reports: PeerReport[] = [
      { seen: seen[0]!, done: await done(a) },
      { seen: seen[1]!, done: await done(b) },
    ];
    // A progress event the seed writes after both are done carries everything it uploaded.
    const progress = await nextProgress(seeder);
    const hashes = [
      await hashFile(join(dir, name, 'a', 'ss.bin')),
      await hashFile(join(dir, name, 'b', 'ss.bin')),
    ];
    return { reports, hashes, uploaded: progress.uploaded as number, events: seeder.events };
  } finally {
    for (const p of procs) await p.stop();
    await seeder?.process.stop();
  }
}

let superSeeded: Awaited<ReturnType<typeof swarm>> | undefined;

it('both libtorrent downloaders finish with the right bytes from a super-seed', async () => {
  superSeeded = await swarm(['--super-seed'], 'super');
  assert.deepEqual(superSeeded.hashes, [sourceHash, sourceHash]);
  assert.ok(superSeeded.events.some((e) => e.type === 'seeding' && e.superSeed === true));
});

it('libtorrent takes the super-seed for no seed, never shown more than two pieces it lacks', () => {
  assert.ok(superSeeded !== undefined, 'the swarm ran');
  for (const r of superSeeded.reports) {
    assert.equal(r.seen.seed, false, JSON.stringify(r.seen));
    assert.ok((r.seen.numPieces as number) < PIECES, `pieces at the first look: ${JSON.stringify(r.seen)}`);
    assert.ok((r.done.mostShownAhead as number) <= SHOWN, JSON.stringify(r.done));
  }
});

it('the super-seed uploads the payload once and at most eight pieces more', (t) => {
  assert.ok(superSeeded !== undefined, 'the swarm ran');
  // A piece leaves the seed a second time only once every piece has been shown to someone: until
  // then each peer is shown pieces no one has nor is shown, and a peer may fetch from the seed only
  // what it was shown. From that moment on, each downloader is shown (one at a time) pieces it
  // lacks and the other holds or is fetching, and the seed sends each of those at most once more:
  // the SHOWN the other is fetching from the seed, and the pieces the other holds and has not
  // passed on yet — SHOWN at most too, as the two are linked by then (the header: ~2 s against
  // ~4 s) and pass a piece on far faster than the seed sends one. Two downloaders: 2 × (SHOWN +
  // SHOWN) = 8 pieces, 12.5 % of the size. Measured: 0–2 pieces more (1.016–1.031 × the size, the
  // last piece being short), under load too; a plain seed at the same rate uploaded 1.33–1.56 ×
  // (14–27 pieces sent to both): this test fails it.
  const bound = SIZE + 2 * (SHOWN + SHOWN) * PIECE_LENGTH;
  const [a, b] = superSeeded.reports.map((r) => r.done.seedPieces as number[]);
  const twice = a!.filter((i) => b!.includes(i));
  const ratio = superSeeded.uploaded / SIZE;
  t.diagnostic(
    `uploaded ${ratio.toFixed(3)} × the size; pieces from the seed: a ${a!.length}, b ${b!.length}, both ${twice.length}`,
  );
  assert.ok(ratio >= 1, `every piece left the seed at least once: ${ratio}`);
  assert.ok(
    superSeeded.uploaded <= bound,
    `uploaded ${superSeeded.uploaded} for ${SIZE} (bound ${bound}): ${ratio.toFixed(3)} × the size; pieces sent to both: ${twice.join(', ')}`,
  );
});
