/**
 * Super-seeding (BEP 16) against python3-libtorrent 2.0: one `bitstate seed --super-seed` and two
 * libtorrent downloaders (super-seed-peer.py), each dialling the seed, the second dialling the
 * first too, all on 127.0.0.1 over TCP. Both finish with the payload's bytes; each, at its first
 * look at the seed's peer info, takes it for no seed and believes it has two pieces at most
 * (libtorrent counts the haveNone and the haves it was sent); at no look did the seed show either
 * more than two pieces it lacked (a plain seed shows all 64 at once). What the seed uploaded is
 * about the payload once: see the last test. Every process is stopped by the test.
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
const SIZE = 64 * PIECE_LENGTH - 4_000;
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

/** A libtorrent downloader into `save`, dialling the seed (and `peers`); it runs until stopped. */
async function downloader(save: string, seedPort: number, peers: readonly number[]) {
  const port = await getFreePort();
  const args = [PEER_SCRIPT, '--torrent', torrent, '--save-path', save, '--port', String(port)];
  args.push('--seed', `127.0.0.1:${seedPort}`, '--client', CLIENT_VERSION, '--timeout', '60');
  for (const p of peers) args.push('--peer', `127.0.0.1:${p}`);
  const proc = startProcess(SYSTEM_PYTHON, args, { name: 'super-seed-peer.py', timeoutMs: 75_000 });
  await proc.waitForLine(/"event": "listening"/, 20_000);
  return { port, proc };
}

async function report(proc: ManagedProcess): Promise<PeerReport> {
  const seen = JSON.parse(await proc.waitForLine(/"event": "seedSeen"/, 60_000)) as Record<string, unknown>;
  const done = JSON.parse(await proc.waitForLine(/"event": "(done|timeout)"/, 60_000)) as Record<
    string,
    unknown
  >;
  assert.equal(done.event, 'done', `${JSON.stringify(done)}\n${proc.stderrTail()}`);
  return { seen, done };
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
    seeder = await startBitstateSeeder(torrent, dirname(source), ['--no-tracker', ...extra]);
    const a = await downloader(join(dir, name, 'a'), seeder.port, []);
    procs.push(a.proc);
    const b = await downloader(join(dir, name, 'b'), seeder.port, [a.port]);
    procs.push(b.proc);
    const reports = [await report(a.proc), await report(b.proc)];
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

it('libtorrent takes the super-seed for no seed, with two pieces at most, never more shown ahead', () => {
  assert.ok(superSeeded !== undefined, 'the swarm ran');
  for (const r of superSeeded.reports) {
    assert.equal(r.seen.seed, false, JSON.stringify(r.seen));
    assert.ok((r.seen.numPieces as number) < 64, `pieces at the first look: ${JSON.stringify(r.seen)}`);
    assert.ok((r.done.mostShownAhead as number) <= 2, JSON.stringify(r.done));
  }
});

it('the super-seed uploads each piece about once: under 1.5 × the size for two downloaders', () => {
  assert.ok(superSeeded !== undefined, 'the swarm ran');
  // A plain seed serves both downloaders as fast as they ask: 1.5–1.8 × the size measured in this
  // swarm. A super-seed sends a piece a second time only at the end, to a peer that lacks nothing
  // but pieces the other holds (libtorrent's rule, and ours): 1.00–1.03 × measured on a quiet
  // machine, up to 1.31 × with other tests running. Not a strict bound — which peer a libtorrent
  // downloader asks for such a piece is its choice, and timing — hence the margin: the exact,
  // deterministic check of what the seed shows is the test above (at most two pieces ahead).
  const ratio = superSeeded.uploaded / SIZE;
  assert.ok(ratio >= 1, `every piece left the seed at least once: ${ratio}`);
  assert.ok(ratio < 1.5, `uploaded ${superSeeded.uploaded} for ${SIZE}: ${ratio.toFixed(3)} × the size`);
});
