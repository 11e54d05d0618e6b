/**
 * Profiles `bitstate seed` serving aria2c (issue #8, seeding): one seeder of the suite's cached
 * payload behind opentracker, N aria2c downloads from it, and per download the seeder's CPU by
 * thread (main, V8 GC helpers, libuv pool) from /proc/<pid>/task/<tid>/stat, and the phases of
 * aria2's wall time: start-up until it connects, the connection (the transfer), its end after the
 * connection closed (from the seeder's peer.connected / peer.closed events). With `--cpu-prof DIR`
 * the seeder runs under `node --cpu-prof` and writes its .cpuprofile there when stopped
 * (summarise it with cpuprofile-summary.ts).
 *
 *   node --import tsx bench/profile/seed-profile.ts --size 1073741824 --downloads 2 [--cpu-prof /tmp/prof]
 *
 * The payload must exist (`bench/suite.ts --parts seeding` makes it in /tmp/bitstate-suite).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBitstateSeeder } from '../suite/bitstate-seeder.js';
import { processPeakRss } from '../suite/machine.js';
import { randomPayload } from '../suite/part-throughput.js';
import { log, measuredDownload, trackedTorrent } from '../suite/swarm.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: String(2 ** 30) },
    downloads: { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' },
  },
});
const size = Number(values.size);
const workDir = join(tmpdir(), 'bitstate-suite');
const scratch = join(tmpdir(), 'bitstate-seed-profile');
await mkdir(scratch, { recursive: true });

/** utime + stime in seconds per thread name (threads of one name summed). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, 'N');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / 100;
      out.set(tid === String(pid) ? 'main' : name, (out.get(tid === String(pid) ? 'main' : name) ?? 0) + s);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

const payloadPath = await randomPayload(workDir, size);
const { torrent, infoHash, tracker } = await trackedTorrent({
  payloadPath,
  out: join(scratch, 'seed-profile.torrent'),
  pieceLength: 2 ** 20,
});
const profDir = values['cpu-prof'];
const seeder = await startBitstateSeeder({
  torrent,
  dataDir: dirname(payloadPath),
  announce: true,
  timeoutMs: 3600_000,
  nodeArgs: process.env.SEED_NODE_ARGS
    ? process.env.SEED_NODE_ARGS.split(' ')
    : profDir === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', profDir],
});
// With SEED_NODE_ARGS=--trace-gc: how many collections of each kind the seeder ran.
const gcs = new Map<string, number>();
// When aria2's connection opened and closed (the seeder's --json events): the transfer, apart from
// aria2's start-up (tracker, the handshake) and its end (flushing, the last announces).
let opened: number | undefined;
let shut: number | undefined;
seeder.process.onLine((line, stream) => {
  if (stream === 'stdout' && line.includes('"peer.')) {
    const ev = JSON.parse(line) as { type?: string; client?: string; time?: string };
    const at = Date.parse(ev.time ?? '');
    if (ev.type === 'peer.connected' && ev.client?.startsWith('aria2')) opened = at;
    else if (ev.type === 'peer.closed' && opened !== undefined && shut === undefined) shut = at;
  }
  const m = /ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)/.exec(line);
  if (m?.[1]) gcs.set(m[1], (gcs.get(m[1]) ?? 0) + 1);
});
try {
  await tracker.waitForSeeders(infoHash, 1, 60_000);
  const pid = seeder.process.pid;
  for (let i = 1; i <= Number(values.downloads); i++) {
    const before = threadCpu(pid);
    opened = undefined;
    shut = undefined;
    const spawned = Date.now();
    const run = await measuredDownload({
      client: 'aria2',
      round: i,
      torrent,
      payloadPath,
      peers: [],
      scratch,
      timeoutSec: 300,
    });
    const after = threadCpu(pid);
    const rows = [...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const);
    const total = rows.reduce((a, [, s]) => a + s, 0);
    const gib = size / 2 ** 30;
    const wall = run.measurement?.wallSeconds ?? Number.NaN;
    log(
      `download ${i}: ${run.ok ? 'ok' : run.error} ${(size / 1e6 / wall).toFixed(1)} MB/s, ` +
        `seeder ${(total / gib).toFixed(2)} CPU s/GiB: ` +
        rows
          .filter(([, s]) => s > 0)
          .sort((a, b) => b[1] - a[1])
          .map(([n, s]) => `${n} ${(s / gib).toFixed(2)}`)
          .join(', '),
    );
    if (opened !== undefined && shut !== undefined)
      log(
        `  aria2: connected ${((opened - spawned) / 1000).toFixed(2)} s after spawn, ` +
          `connection open ${((shut - opened) / 1000).toFixed(2)} s (${(size / 1e6 / ((shut - opened) / 1000)).toFixed(0)} MB/s), ` +
          `exit ${(wall - (shut - spawned) / 1000).toFixed(2)} s after it closed`,
      );
  }
  if (gcs.size > 0) log(`collections: ${[...gcs].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  log(`seeder peak RSS ${(processPeakRss(pid) / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await seeder.stop();
  await tracker.stop();
}
