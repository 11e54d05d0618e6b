/**
 * An A/B of bitstate builds on the same swarm (issue #8): each build downloads the torrent in turn,
 * round after round, and what each costs is compared round by round. A change worth a few percent
 * of CPU is smaller than what this shared machine moves between rounds (±0.15 s on a 2.5 s
 * download), so only differences taken within one round, where the builds ran back to back, say
 * anything; give it 10 rounds or more.
 *
 * A build is a folder with a copy of a checkout's bin/, dist/ and package.json (and a link to its
 * node_modules). `--snapshot DIR` makes one from this checkout's current build:
 *
 *   npm run build && node --import tsx bench/profile/ab.ts --snapshot /tmp/ab/before
 *   … change, npm run build …
 *   node --import tsx bench/profile/ab.ts --snapshot /tmp/ab/after
 *   node --import tsx bench/profile/seeders.ts --size 1073741824 --seeders 4 --minutes 60 &   # prints TORRENT and peers
 *   node --import tsx bench/profile/ab.ts --rounds 10 --build before=/tmp/ab/before \
 *     --build after=/tmp/ab/after [--libtorrent] [--json FILE] -- TORRENT --peer HOST:PORT …
 *
 * Each run is `bitstate download TORRENT --peer … --no-tracker --port 0 --quiet` into a fresh
 * folder (removed after), measured by bench/measure.py (wait4: wall, user + sys CPU, peak RSS);
 * `--libtorrent` adds the python3-libtorrent downloader to every round. The order rotates from
 * round to round. A run counts when it exits 0 (bitstate exits 0 only with every piece verified).
 * Printed: each run, then per build the medians, then each build against the first one: the
 * median of the per-round differences, their range, and in how many rounds it was lower.
 */
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { measure } from '../measure.js';
import { median } from '../suite/stats.js';
import { pairedDifferences, type RoundCost, roundOrder } from '../suite/summary.js';
import { bitstateDownloadCommand } from '../suite/swarm.js';
import { libtorrentDownloadCommand, parseSwarm, splitAtDash } from './swarm-args.js';

const { own, swarm } = splitAtDash();
const { values } = parseArgs({
  args: own,
  options: {
    snapshot: { type: 'string' },
    build: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '10' },
    libtorrent: { type: 'boolean', default: false },
    json: { type: 'string' },
    'timeout-sec': { type: 'string', default: '300' },
  },
});

if (values.snapshot !== undefined) {
  const dir = resolve(values.snapshot);
  const root = repoRoot();
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const part of ['bin', 'dist', 'package.json'])
    await cp(join(root, part), join(dir, part), { recursive: true });
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  process.stdout.write(`build copied to ${dir}\n`);
  process.exit(0);
}

const usage =
  'ab.ts --build LABEL=DIR [--build LABEL=DIR …] [--rounds N] [--libtorrent] [--json FILE] -- TORRENT --peer HOST:PORT …';
const { torrent, peers } = parseSwarm(swarm, usage);
const rounds = Number(values.rounds);
const timeoutSec = Number(values['timeout-sec']);
if (values.build.length === 0 || !(rounds >= 1)) throw new Error(`usage: ${usage}`);

interface Contender {
  readonly label: string;
  /** A build folder; undefined for the libtorrent downloader. */
  readonly dir: string | undefined;
}
const contenders: Contender[] = values.build.map((spec) => {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--build wants LABEL=DIR, got ${spec}`);
  const dir = spec.slice(eq + 1);
  return { label: spec.slice(0, eq), dir: isAbsolute(dir) ? dir : resolve(dir) };
});
for (const c of contenders) await stat(join(c.dir!, 'bin', 'bitstate.js')); // fails early on a wrong folder
if (values.libtorrent) contenders.push({ label: 'libtorrent', dir: undefined });
if (new Set(contenders.map((c) => c.label)).size !== contenders.length)
  throw new Error('every build needs a label of its own (and "libtorrent" is taken by --libtorrent)');

interface Run extends RoundCost {
  readonly userSeconds: number;
  readonly systemSeconds: number;
}
const runs: Run[] = [];
const scratch = await mkdtemp(join(tmpdir(), 'bitstate-ab-'));
const s2 = (v: number) => v.toFixed(2);
try {
  for (let round = 1; round <= rounds; round++) {
    for (const c of roundOrder(contenders, round)) {
      const out = join(scratch, `${c.label}-${round}`);
      await mkdir(out, { recursive: true });
      const { command, args } =
        c.dir === undefined
          ? await libtorrentDownloadCommand(torrent, out, peers, timeoutSec)
          : bitstateDownloadCommand(torrent, out, peers, ['--quiet'], c.dir);
      const m = await measure(command, args, { name: c.label, timeoutMs: timeoutSec * 1000 });
      await rm(out, { recursive: true, force: true });
      const ok = m.exitCode === 0;
      const error = ok
        ? undefined
        : m.timedOut
          ? 'timeout'
          : `exit ${m.exitCode}: ${m.outputTail.slice(-300)}`;
      runs.push({
        client: c.label,
        round,
        ok,
        error,
        wallSeconds: m.wallSeconds,
        cpuSeconds: m.cpuSeconds,
        userSeconds: m.userSeconds,
        systemSeconds: m.systemSeconds,
        maxRssBytes: m.maxRssBytes,
      });
      process.stdout.write(
        `round ${round} ${c.label.padEnd(12)} ${ok ? 'ok  ' : 'FAIL'} wall ${s2(m.wallSeconds)} s, CPU ${s2(m.cpuSeconds)} s ` +
          `(user ${s2(m.userSeconds)}, sys ${s2(m.systemSeconds)}), RSS ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB` +
          `${error === undefined ? '' : ` — ${error}`}\n`,
      );
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const lines = [
  '',
  '| build | ok | CPU s | user s | sys s | wall s | peak RSS MiB |',
  '|---|---|---|---|---|---|---|',
];
for (const c of contenders) {
  const mine = runs.filter((r) => r.client === c.label && r.ok);
  const med = (f: (r: Run) => number) => s2(median(mine.map(f)));
  lines.push(
    `| ${c.label} | ${mine.length}/${rounds} | ${med((r) => r.cpuSeconds)} | ${med((r) => r.userSeconds)} | ` +
      `${med((r) => r.systemSeconds)} | ${med((r) => r.wallSeconds)} | ${median(mine.map((r) => r.maxRssBytes / 2 ** 20)).toFixed(0)} |`,
  );
}
const base = contenders[0]!.label;
if (contenders.length > 1) {
  lines.push(
    '',
    `Against ${base}, round by round (difference: median, range; rounds where it was lower):`,
    '',
    '| build | rounds | CPU s | wall s |',
    '|---|---|---|---|',
  );
  const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
  for (const c of contenders.slice(1)) {
    const d = pairedDifferences(runs, base, c.label);
    const cell = (v: typeof d.cpuSeconds) =>
      `${signed(v.median)} (${signed(v.min)} … ${signed(v.max)}); lower in ${v.ahead} of ${d.rounds}`;
    lines.push(`| ${c.label} | ${d.rounds} | ${cell(d.cpuSeconds)} | ${cell(d.wallSeconds)} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
if (values.json !== undefined)
  await writeFile(values.json, `${JSON.stringify({ torrent, peers, rounds, runs }, null, 2)}\n`);
