/**
 * Web seeds only (BEP 19): bitstate builds and aria2c download the same torrent, whose one source is
 * its url-list, from one local HTTP server (bench/profile/web-seed-server.ts, its own process) that
 * limits each connection to RATE bytes a second, as many real servers do. Per run: MB/s, CPU
 * (user + sys, bench/measure.py), peak RSS, and the GETs and connections the server saw.
 *
 *   npm run build && node --import tsx bench/profile/ab.ts --snapshot /tmp/ab/before
 *   node --import tsx bench/profile/web-seeds.ts --build before=/tmp/ab/before \
 *     --build 'x4=.:--web-seed-connections 4' --aria2= --aria2='-x4 -s4' [--rate 20000000] [--rounds 3]
 *
 * A build is LABEL=DIR[:EXTRA ARGS] (DIR holds bin/bitstate.js; `.` is this checkout); each
 * `--aria2 ARGS` adds an aria2c run with those extra arguments. The order rotates by round; every
 * output is removed after its run. The payload (random, 256 MiB by default) is made once and kept
 * in $TMPDIR/bitstate-bench.
 */
import { rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTorrent } from '../../src/metainfo/create-torrent.js';
import { aria2DownloadCommand } from '../../test/interop/harness/aria2.js';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { getFreePort } from '../../test/interop/harness/ports.js';
import { startProcess } from '../../test/interop/harness/processes.js';
import { measure } from '../measure.js';
import { randomPayload } from '../suite/part-throughput.js';
import { median } from '../suite/stats.js';
import { bitstateDownloadCommand } from '../suite/swarm.js';

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true, default: [] },
    aria2: { type: 'string', multiple: true, default: [] },
    size: { type: 'string', default: String(256 * 1024 * 1024) },
    'piece-length': { type: 'string', default: String(512 * 1024) },
    rate: { type: 'string', default: '20000000' },
    rounds: { type: 'string', default: '3' },
    'timeout-sec': { type: 'string', default: '300' },
  },
});
const size = Number(values.size);
const rounds = Number(values.rounds);
const timeoutSec = Number(values['timeout-sec']);

interface Contender {
  readonly label: string;
  readonly command: (torrent: string, out: string) => Promise<{ command: string; args: string[] }>;
}
const contenders: Contender[] = values.build.map((spec) => {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--build wants LABEL=DIR[:ARGS], got ${spec}`);
  const [dirPart, ...rest] = spec.slice(eq + 1).split(':');
  const dir = isAbsolute(dirPart!) ? dirPart! : resolve(repoRoot(), dirPart!);
  const extra = rest
    .join(':')
    .split(' ')
    .filter((a) => a !== '');
  return {
    label: spec.slice(0, eq),
    command: async (torrent, out) => bitstateDownloadCommand(torrent, out, [], ['--quiet', ...extra], dir),
  };
});
for (const extra of values.aria2) {
  const args = extra.split(' ').filter((a) => a !== '');
  contenders.push({
    label: `aria2c${args.length === 0 ? '' : ` ${args.join(' ')}`}`,
    command: async (torrent, out) => {
      const c = aria2DownloadCommand({ torrent, outDir: out, port: await getFreePort() });
      return { command: c.command, args: [...args, ...c.args] };
    },
  });
}
if (contenders.length === 0 || !(rounds >= 1)) throw new Error('give --build and/or --aria2');

const work = join(tmpdir(), 'bitstate-bench');
const payload = await randomPayload(work, size);
const www = join(payload, '..');
const server = startProcess(
  process.execPath,
  ['--import', 'tsx', join(repoRoot(), 'bench', 'profile', 'web-seed-server.ts'), www, values.rate, '120'],
  { name: 'web-seed-server', timeoutMs: 120 * 60_000, cwd: repoRoot() },
);
try {
  const url = (await server.waitForLine(/^url /, 30_000)).slice(4).trim();
  const torrentPath = join(work, `web-seeds-${size}-${values['piece-length']}.torrent`);
  await writeFile(
    torrentPath,
    await createTorrent(payload, {
      pieceLength: Number(values['piece-length']),
      urlList: [`${url}/payload.bin`],
    }),
  );
  const stats = async () =>
    (await (await fetch(`${url}/__stats`)).json()) as { gets: number; connectionCount: number };
  await stats();
  const rows: {
    label: string;
    ok: boolean;
    mbps: number;
    cpu: number;
    rss: number;
    gets: number;
    conns: number;
  }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]!);
    for (const c of order) {
      const out = join(work, `web-seeds-out-${process.pid}`);
      await rm(out, { recursive: true, force: true });
      const { command, args } = await c.command(torrentPath, out);
      const m = await measure(command, args, { name: c.label, timeoutMs: timeoutSec * 1000 });
      const seen = await stats();
      const got = await stat(join(out, 'payload.bin')).then(
        (s) => s.size,
        () => -1,
      );
      await rm(out, { recursive: true, force: true });
      const ok = m.exitCode === 0 && got === size;
      const row = {
        label: c.label,
        ok,
        mbps: size / 1e6 / m.wallSeconds,
        cpu: m.cpuSeconds,
        rss: m.maxRssBytes / 2 ** 20,
        gets: seen.gets,
        conns: seen.connectionCount,
      };
      rows.push(row);
      process.stdout.write(
        `round ${round} ${c.label.padEnd(28)} ${ok ? 'ok  ' : 'FAIL'} ${row.mbps.toFixed(1)} MB/s, wall ${m.wallSeconds.toFixed(2)} s, ` +
          `CPU ${m.cpuSeconds.toFixed(2)} s, RSS ${row.rss.toFixed(0)} MiB, ${row.gets} GETs on ${row.conns} connections` +
          `${ok ? '' : ` — exit ${m.exitCode}: ${m.outputTail.slice(-300)}`}\n`,
      );
    }
  }
  const lines = [
    '',
    `${size / 2 ** 20} MiB, ${Number(values['piece-length']) / 1024} KiB pieces, one web seed at ${Number(values.rate) / 1e6} MB/s per connection; medians of ${rounds}`,
    '',
    '| client | ok | MB/s | CPU s | peak RSS MiB | GETs | connections |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of contenders) {
    const mine = rows.filter((r) => r.label === c.label && r.ok);
    const med = (f: (r: (typeof rows)[number]) => number, digits: number) =>
      median(mine.map(f)).toFixed(digits);
    lines.push(
      `| ${c.label} | ${mine.length}/${rounds} | ${med((r) => r.mbps, 1)} | ${med((r) => r.cpu, 2)} | ${med((r) => r.rss, 0)} | ${med((r) => r.gets, 0)} | ${med((r) => r.conns, 0)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
}
