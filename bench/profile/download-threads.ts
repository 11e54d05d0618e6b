/**
 * CPU of one `bitstate download` by thread (issue #8): where a download's CPU goes — the main
 * thread (sockets, machines, storage bookkeeping), the hash worker, V8's platform threads (JIT
 * compilation and garbage collection helpers) and libuv's thread pool (file writes).
 *
 *   node --import tsx bench/profile/download-threads.ts [--rounds 3] -- TORRENT --peer HOST:PORT ...
 *
 * Everything after `--` goes to `bitstate download` (with `--no-tracker --port 0 --quiet -o DIR`
 * added). It samples /proc/PID/task/TID/stat every 25 ms and keeps each thread's last utime+stime.
 * Linux names them all "node", so threads are told apart by behaviour: the main thread is PID; the
 * pool threads spend more system than user time (pwrite); of the rest, the one with the most user
 * time is the hash worker (SHA-1) and the others are V8's platform threads. A heuristic, stated as
 * such in the output; the totals do not depend on it.
 */

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { dhtOffArgs } from '../dht-off.js';
import { CLOCK_TICKS, statCpuTicks } from '../suite/machine.js';
import { splitAtDash } from './swarm-args.js';

const TICK_S = 1 / CLOCK_TICKS;
const { own, swarm: downloadArgs } = splitAtDash();
const { values } = parseArgs({
  args: own,
  options: { rounds: { type: 'string', default: '3' } },
});
if (downloadArgs.length === 0)
  throw new Error('usage: download-threads.ts [--rounds N] -- TORRENT --peer HOST:PORT ...');
const bin = join(import.meta.dirname, '..', '..', 'bin', 'bitstate.js');

interface Split {
  wall: number;
  main: number;
  worker: number;
  v8: number;
  pool: number;
}

function sample(pid: number, last: Map<number, [number, number]>): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const { user, system } = statCpuTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      last.set(Number(tid), [user, system]);
    } catch {
      // the thread ended between readdir and read: its last sample stands
    }
  }
}

async function round(): Promise<Split> {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-threads-'));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      bin,
      'download',
      ...downloadArgs,
      '--no-tracker',
      ...dhtOffArgs(join(dirname(bin), '..')),
      '--port',
      '0',
      '--quiet',
      '-o',
      out,
    ],
    {
      stdio: 'inherit',
    },
  );
  const pid = child.pid ?? -1;
  const last = new Map<number, [number, number]>();
  const timer = setInterval(() => sample(pid, last), 25);
  const code = await new Promise<number | null>((ok) => child.on('exit', ok));
  clearInterval(timer);
  const wall = (performance.now() - started) / 1000;
  await rm(out, { recursive: true, force: true });
  if (code !== 0) throw new Error(`bitstate download exited ${code}`);
  const split: Split = { wall, main: 0, worker: 0, v8: 0, pool: 0 };
  const others: [number, number][] = [];
  for (const [tid, [user, sys]] of last) {
    if (tid === pid) split.main = (user + sys) * TICK_S;
    else if (sys > user) split.pool += (user + sys) * TICK_S;
    else others.push([user, sys]);
  }
  others.sort((a, b) => b[0] - a[0]);
  const [worker, ...v8] = others;
  if (worker !== undefined) split.worker = (worker[0] + worker[1]) * TICK_S;
  for (const [user, sys] of v8) split.v8 += (user + sys) * TICK_S;
  return split;
}

const rows: Split[] = [];
for (let r = 0; r < Number(values.rounds); r++) rows.push(await round());
const f = (x: number) => x.toFixed(2);
process.stdout.write(
  '| round | wall s | main CPU s | hash worker | V8 platform (JIT, GC) | libuv pool (writes) | total CPU s |\n',
);
process.stdout.write('|---|---|---|---|---|---|---|\n');
rows.forEach((s, i) => {
  const total = s.main + s.worker + s.v8 + s.pool;
  process.stdout.write(
    `| ${i + 1} | ${f(s.wall)} | ${f(s.main)} | ${f(s.worker)} | ${f(s.v8)} | ${f(s.pool)} | ${f(total)} |\n`,
  );
});
process.stdout.write(
  '\n(threads told apart by behaviour: see the header of bench/profile/download-threads.ts)\n',
);
