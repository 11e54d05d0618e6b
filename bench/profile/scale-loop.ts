/**
 * The scale part's download again and again in one process (issue #8): two `bitstate seed`
 * processes on the suite's 128 MiB payload, 500 connections through 127.0.0.2… (as
 * bench/suite/part-scale.ts), and `download()` from dist/ N times in a row, each timed. A rare slow
 * run (1 in ~20 taking 5–12 s: a quadratic pick for choked fast peers, fixed in the fifth pass; see
 * docs/performance.md, "Found while measuring") shows as an outlier in the printed times. Run it
 * under `node --cpu-prof` to see where a slow run's time goes.
 *
 *   npm run build && node --import tsx bench/profile/scale-loop.ts --runs 40
 *
 * The payload must exist (`bench/suite.ts --parts scale` makes it in /tmp/bitstate-suite). Every
 * download is bounded by `--timeout` seconds; the seeders are stopped at the end.
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { type BitstateSeeder, startBitstateSeeder } from '../suite/bitstate-seeder.js';
import { ADDRESSES_PER_SEEDER, scalePeers } from '../suite/part-scale.js';
import { randomPayload } from '../suite/part-throughput.js';
import { trackedTorrent } from '../suite/swarm.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    connections: { type: 'string', default: '500' },
    timeout: { type: 'string', default: '60' },
  },
});
const runs = Number(values.runs);
const connections = Number(values.connections);
const timeoutMs = Number(values.timeout) * 1000;

type Library = typeof import('../../src/index.js');
const lib = (await import(pathToFileURL(join(repoRoot(), 'dist', 'src', 'index.js')).href)) as Library;

const workDir = join(tmpdir(), 'bitstate-suite');
const payloadPath = await randomPayload(workDir, 128 * 2 ** 20);
const scratch = join(tmpdir(), `bitstate-scale-loop-${process.pid}`);
await mkdir(scratch, { recursive: true });
const { torrent: torrentPath, tracker } = await trackedTorrent({
  payloadPath,
  out: join(scratch, 'scale.torrent'),
  pieceLength: 32 * 1024,
});
await tracker.stop();

const seeders: BitstateSeeder[] = [];
const times: string[] = [];
try {
  for (let i = 0; i < Math.ceil(connections / ADDRESSES_PER_SEEDER); i++)
    seeders.push(
      await startBitstateSeeder({
        torrent: torrentPath,
        dataDir: dirname(payloadPath),
        announce: false,
        maxPeers: ADDRESSES_PER_SEEDER + 50,
        timeoutMs: runs * timeoutMs + 600_000,
      }),
    );
  const torrent = await lib.readTorrentFile(torrentPath);
  const peers = scalePeers(
    seeders.map((s) => s.port),
    connections,
  ).map((p) => lib.parsePeerAddress(p));
  const out = join(scratch, 'out');
  for (let run = 0; run < runs; run++) {
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const started = performance.now();
    const job = lib.download(torrent, {
      out,
      peers,
      trackers: false,
      listen: false,
      maxPeers: connections,
    });
    const limit = setTimeout(() => job.stop(), timeoutMs);
    const result = await job.done;
    clearTimeout(limit);
    const s = (performance.now() - started) / 1000;
    times.push(s.toFixed(2));
    process.stdout.write(`run ${run + 1}: ${s.toFixed(2)} s ${JSON.stringify(result).slice(0, 60)}\n`);
  }
} finally {
  await Promise.all(seeders.map((s) => s.stop()));
  await rm(scratch, { recursive: true, force: true });
}
process.stdout.write(`times (s): ${times.join(' ')}\n`);
