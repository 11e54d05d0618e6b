/**
 * Where the whole machine's CPU goes during a download, phase by phase (issue #8): the downloader's
 * main thread and its other threads, the seeders' CPU and context switches, the cores' idle time
 * and the bytes moved, sampled from /proc every `--every-ms`, then split into the start-up, the
 * seeders' ramp and the rest (bench/profile/swarm-phases.ts). With `--libtorrent` the
 * python3-libtorrent downloader runs in every round too, in alternating order.
 *
 *   node --import tsx bench/profile/seeders.ts --size 1073741824 --seeders 4 --minutes 60 &   # prints TORRENT and peers
 *   node --import tsx bench/profile/swarm-timeline.ts [--rounds 3] [--libtorrent] [--build DIR] [--every-ms 100] [--rows] \
 *     -- TORRENT --peer HOST:PORT …
 *
 * Each seeder is found by the port it listens on (/proc/net/tcp), so any seeder on this machine
 * will do. Ticks are /proc's (10 ms): with 100 ms intervals a figure per interval is ±10 %, the
 * phase sums are finer. `--rows` prints every interval as well; `--build DIR` runs a build that
 * bench/profile/ab.ts --snapshot copied instead of this checkout's.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { CLOCK_TICKS } from '../suite/machine.js';
import { fmt, formatGrid, median } from '../suite/stats.js';
import { roundOrder } from '../suite/summary.js';
import { bitstateDownloadCommand } from '../suite/swarm.js';
import { ipBytesReceived, machineIdle, pidListeningOn, processSample } from './proc-samples.js';
import { libtorrentDownloadCommand, parseSwarm, splitAtDash } from './swarm-args.js';
import {
  type Interval,
  type PhaseSummary,
  type Phases,
  RAMP_SWITCH_FACTOR,
  splitPhases,
} from './swarm-phases.js';

const usage =
  'swarm-timeline.ts [--rounds N] [--libtorrent] [--build DIR] [--every-ms MS] [--rows] -- TORRENT --peer HOST:PORT …';
const { own, swarm } = splitAtDash();
const { values } = parseArgs({
  args: own,
  options: {
    rounds: { type: 'string', default: '3' },
    libtorrent: { type: 'boolean', default: false },
    'every-ms': { type: 'string', default: '100' },
    rows: { type: 'boolean', default: false },
    build: { type: 'string' },
    'timeout-sec': { type: 'string', default: '300' },
  },
});
const { torrent, peers } = parseSwarm(swarm, usage);
const rounds = Number(values.rounds);
const everyMs = Number(values['every-ms']);
const timeoutMs = Number(values['timeout-sec']) * 1000;
if (!(rounds >= 1) || !(everyMs >= 20)) throw new Error(`usage: ${usage}`);
const cores = cpus().length;
/** A build folder as bench/profile/ab.ts --snapshot makes one; this checkout by default. */
const build = values.build === undefined ? repoRoot() : resolve(values.build);

// One process may serve several of the addresses (a `bitstate seed` on 0.0.0.0): count it once.
const seederPids = [
  ...new Set(
    peers.map((p) => {
      const port = Number(p.slice(p.lastIndexOf(':') + 1));
      const pid = pidListeningOn(port);
      if (pid === undefined) throw new Error(`no process on this machine listens on port ${port} (${p})`);
      return pid;
    }),
  ),
];

function seedersNow(): { ticks: number; switches: number } {
  let ticks = 0;
  let switches = 0;
  for (const pid of seederPids) {
    const s = processSample(pid);
    if (s === undefined) throw new Error(`seeder ${pid} has ended`);
    ticks += s.ticks;
    switches += s.switches;
  }
  return { ticks, switches };
}

interface Run {
  readonly client: string;
  readonly round: number;
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  readonly intervals: Interval[];
  readonly phases: Phases;
}

async function run(client: string, round: number, scratch: string): Promise<Run> {
  const out = join(scratch, `${client}-${round}`);
  const { command, args } =
    client === 'libtorrent'
      ? await libtorrentDownloadCommand(torrent, out, peers, timeoutMs / 1000)
      : bitstateDownloadCommand(torrent, out, peers, ['--quiet'], build);
  const started = performance.now();
  let prevSeeders = seedersNow();
  let prevIdle = machineIdle();
  let prevBytes = ipBytesReceived();
  let prevAt = started;
  const child = spawn(command, args, { stdio: 'ignore' });
  const pid = child.pid ?? -1;
  let prevMe = { ticks: 0, mainTicks: 0 };
  const intervals: Interval[] = [];
  let failure: unknown;
  const sample = () => {
    const me = processSample(pid);
    if (me === undefined) return; // exited: its last interval is not counted
    let s: { ticks: number; switches: number };
    try {
      s = seedersNow();
    } catch (err) {
      failure = err; // a seeder is gone: the run means nothing, stop the download
      child.kill('SIGKILL');
      return;
    }
    const idle = machineIdle();
    const bytes = ipBytesReceived();
    const now = performance.now();
    intervals.push({
      t: (now - started) / 1000,
      capacity: ((now - prevAt) / 1000) * cores * CLOCK_TICKS,
      downloaderMain: me.mainTicks - prevMe.mainTicks,
      downloaderOther: me.ticks - me.mainTicks - (prevMe.ticks - prevMe.mainTicks),
      seeders: s.ticks - prevSeeders.ticks,
      seederSwitches: s.switches - prevSeeders.switches,
      idle: idle - prevIdle,
      bytes: bytes - prevBytes,
    });
    prevMe = me;
    prevSeeders = s;
    prevIdle = idle;
    prevBytes = bytes;
    prevAt = now;
  };
  const timer = setInterval(sample, everyMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((ok, fail) => {
    child.on('exit', ok);
    child.on('error', fail);
  }).finally(() => {
    clearInterval(timer);
    clearTimeout(killer);
  });
  const wallSeconds = (performance.now() - started) / 1000;
  await rm(out, { recursive: true, force: true });
  if (failure !== undefined) throw failure;
  return { client, round, exitCode, wallSeconds, intervals, phases: splitPhases(intervals, cores) };
}

const clients = values.libtorrent ? ['bitstate', 'libtorrent'] : ['bitstate'];
const runs: Run[] = [];
const scratch = await mkdtemp(join(tmpdir(), 'bitstate-timeline-'));
try {
  for (let round = 1; round <= rounds; round++)
    for (const client of roundOrder(clients, round)) {
      const r = await run(client, round, scratch);
      runs.push(r);
      process.stdout.write(
        `round ${round} ${client.padEnd(10)} exit ${r.exitCode}, wall ${r.wallSeconds.toFixed(2)} s\n`,
      );
      if (values.rows) {
        process.stdout.write('  t s   main  other  seeders  seeder switches  idle (ticks)   MB\n');
        for (const i of r.intervals)
          process.stdout.write(
            `  ${i.t.toFixed(2).padStart(5)} ${String(i.downloaderMain).padStart(5)} ${String(i.downloaderOther).padStart(6)} ` +
              `${String(i.seeders).padStart(8)} ${String(i.seederSwitches).padStart(16)} ${String(i.idle).padStart(5)} ` +
              `${(i.bytes / 1e6).toFixed(0).padStart(12)}\n`,
          );
      }
    }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const f2 = (v: number) => fmt(v, 2);
const k = (v: number) => (Number.isFinite(v) ? `${(v / 1000).toFixed(0)}k` : '—');
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)} %` : '—');
const cells = (p: PhaseSummary) => [
  f2(p.seconds),
  fmt(p.megabytesPerSecond, 0),
  `${f2(p.downloaderCores)} (${f2(p.downloaderMainCores)})`,
  f2(p.seedersCores),
  k(p.seederSwitchesPerSecond),
  pct(p.idleShare),
];
const phaseHeader = ['MB/s', 'downloader cores (main)', 'seeders cores', 'seeder switches /s', 'idle'];
const perRun = formatGrid(
  ['client', 'round', 'exit', 'wall s', 'ramp starts s', 'ramp s', ...phaseHeader, 'rest s', ...phaseHeader],
  runs.map((r) => [
    r.client,
    String(r.round),
    String(r.exitCode),
    f2(r.wallSeconds),
    f2(r.phases.startSeconds),
    ...cells(r.phases.ramp),
    ...cells(r.phases.rest),
  ]),
);
const medians = formatGrid(
  [
    'client',
    'median: wall s',
    'ramp starts s',
    'ramp s',
    'MB/s in ramp',
    'seeders cores in ramp',
    'rest s',
    'MB/s after',
    'downloader cores after',
    'seeders cores after',
    'idle after',
  ],
  clients.map((client) => {
    const mine = runs.filter((r) => r.client === client && r.exitCode === 0);
    const med = (g: (r: Run) => number) => median(mine.map(g));
    return [
      client,
      f2(med((r) => r.wallSeconds)),
      f2(med((r) => r.phases.startSeconds)),
      f2(med((r) => r.phases.ramp.seconds)),
      fmt(
        med((r) => r.phases.ramp.megabytesPerSecond),
        0,
      ),
      f2(med((r) => r.phases.ramp.seedersCores)),
      f2(med((r) => r.phases.rest.seconds)),
      fmt(
        med((r) => r.phases.rest.megabytesPerSecond),
        0,
      ),
      f2(med((r) => r.phases.rest.downloaderCores)),
      f2(med((r) => r.phases.rest.seedersCores)),
      pct(med((r) => r.phases.rest.idleShare)),
    ];
  }),
);
process.stdout.write(
  `\nPhases (cores busy on average, of ${cores}; the ramp: from the seeders' first busy interval ` +
    `through their busiest one by context switches, and on while they stay ≥ ${RAMP_SWITCH_FACTOR} × ` +
    `the median from the first busy one on):\n\n${perRun}\n\n${medians}\n`,
);
