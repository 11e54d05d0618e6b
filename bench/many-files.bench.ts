/**
 * How long a torrent of many tiny files takes to get going (docs/robustness.md): the CLI downloads a
 * torrent of N one-byte files in one folder (the hostile-input review's shape: 1 MiB pieces, no
 * real hashes, nothing to fetch) with one `--peer` — a TCP server of this script that accepts and
 * says nothing. Per round: milliseconds from spawn to the `listening` event (the store is open and
 * the machines run), to the first TCP connection the peer sees, the peak RSS then (VmHWM), the
 * time from SIGINT to exit (the last resume save stats every file), and the files on disk after.
 * Not a test.
 *
 * `--resumed`: the same torrents resumed — every file on disk and a resume file recording them (made
 * once per size, in this process) — so the open looks at every file and a resume save stamps them.
 * Per round, in this process: the open (`openResumed`), `--saves` resume saves and the last one of a
 * run (every file looked at), each after `--written` files were written through the store (what a
 * save costs while a download goes on), with the stat and lstat calls of each counted
 * (node:fs/promises wrapped); then the CLI as above, where
 * the listening event follows the resumed open and SIGINT runs the last save (`--strace`: the CLI's
 * statx calls, counted by strace, instead of its times).
 *
 *   npm run build && node dist/bench/many-files.bench.js [--files 16384,131072] [--rounds 3]
 *     [--bin path/to/bin/bitstate.js] [--dir DIR] [--resumed [--saves 3] [--written 1024] [--strace]]
 *
 * `--bin` runs another build (e.g. a worktree of an older commit) on the same torrents (the CLI's
 * rounds only: the in-process rounds run this build).
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bencode } from '../src/metainfo/bencode.js';
import { readTorrentFile } from '../src/metainfo/read-torrent-file.js';
import { dhtOffArgs } from './dht-off.js';
import { prepareResumed, resumedRound } from './resumed-store.js';
import { processPeakRss } from './suite/machine.js';

const here = dirname(fileURLToPath(import.meta.url));
// From dist/bench/ or bench/ (tsx): the repository's bin/ is two or one levels up.
const defaultBin = resolve(here, here.includes(join('dist', 'bench')) ? '../..' : '..', 'bin/bitstate.js');

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '16384,131072' },
    rounds: { type: 'string', default: '3' },
    bin: { type: 'string', default: defaultBin },
    dir: { type: 'string', default: join(tmpdir(), 'bitstate-many-files') },
    resumed: { type: 'boolean', default: false },
    saves: { type: 'string', default: '3' },
    written: { type: 'string', default: '1024' },
    strace: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'node dist/bench/many-files.bench.js [--files 16384,131072] [--rounds 3] [--bin BIN] [--dir DIR]\n' +
      '  [--resumed [--saves 3] [--written 1024] [--strace]]   (see the top of bench/many-files.bench.ts)',
  );
  process.exit(0);
}
const counts = values.files.split(',').map(Number);
const rounds = Number(values.rounds);
const work = resolve(values.dir);

/** The review's torrent: `many/<hex index>`, one byte each, one 1 MiB piece of a zero hash. */
async function torrentOf(n: number): Promise<string> {
  const path = join(work, `files-${n}.torrent`);
  const files = Array.from({ length: n }, (_, i) => ({ length: 1, path: [i.toString(16)] }));
  const info = { name: 'many', 'piece length': 1 << 20, files, pieces: new Uint8Array(20) };
  await writeFile(path, bencode({ info }));
  return path;
}

/** The process's peak RSS in MiB (bench/suite/machine.ts), NaN once it is gone. */
function peakRssMb(pid: number): number {
  try {
    return processPeakRss(pid) / 2 ** 20;
  } catch {
    return Number.NaN;
  }
}

interface Round {
  listeningMs: number;
  connectMs: number;
  rssMb: number;
  exitMs: number;
  filesOnDisk: number;
  /** `--strace`: the CLI's statx calls (every stat, lstat and fstat through libuv). */
  statx: number;
}

/** The `calls` column of statx in an `strace -c` summary. */
async function statxCalls(summary: string): Promise<number> {
  const line = (await readFile(summary, 'utf8')).split('\n').find((l) => /\sstatx$/.test(l));
  return line === undefined ? 0 : Number(line.trim().split(/\s+/)[3]);
}

/** The first child of `pid` (strace's tracee), from /proc. */
async function childOf(pid: number): Promise<number> {
  const list = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return Number(list.trim().split(/\s+/)[0]);
}

/** One CLI run on `out`: a fresh folder, or (`resumed`) the one prepareResumed made, kept. */
async function oneRound(torrent: string, out: string, resumed: boolean): Promise<Round> {
  if (!resumed) {
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
  }
  const sockets: Socket[] = [];
  let connectedAt = Number.NaN;
  const peer = createServer((s) => {
    if (Number.isNaN(connectedAt)) connectedAt = performance.now();
    sockets.push(s);
    s.on('error', () => {});
  });
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  const address = peer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const started = performance.now();
  const cli = [
    values.bin,
    'download',
    torrent,
    '--no-tracker',
    ...dhtOffArgs(resolve(dirname(values.bin), '..')),
    '--json',
    '-o',
    out,
    '--peer',
    `127.0.0.1:${port}`,
  ];
  const summary = join(work, 'strace.txt');
  const child = values.strace
    ? spawn('strace', ['-f', '-qq', '-c', '-e', 'trace=statx', '-o', summary, process.execPath, ...cli], {
        stdio: ['ignore', 'pipe', 'ignore'],
      })
    : spawn(process.execPath, cli, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  let listeningAt = Number.NaN;
  let text = '';
  const listening = new Promise<void>((resolveListening, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening event in 300 s')), 300_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (Number.isNaN(listeningAt) && line.includes('"type":"listening"')) {
          listeningAt = performance.now();
          clearTimeout(timer);
          resolveListening();
        }
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error('exited before listening'));
    });
  });
  try {
    await listening;
    // The dial follows the listening event at once; give it up to 5 s.
    for (let waited = 0; Number.isNaN(connectedAt) && waited < 5000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    const rssMb = values.strace ? Number.NaN : peakRssMb(child.pid ?? 0);
    const stopAt = performance.now();
    if (values.strace) process.kill(await childOf(child.pid ?? 0), 'SIGINT');
    else child.kill('SIGINT');
    await exited;
    const exitMs = performance.now() - stopAt;
    const filesOnDisk = await readdir(join(out, 'many')).then(
      (names) => names.length,
      () => 0,
    );
    return {
      listeningMs: listeningAt - started,
      connectMs: connectedAt - started,
      rssMb,
      exitMs,
      filesOnDisk,
      statx: values.strace ? await statxCalls(summary) : Number.NaN,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    for (const s of sockets) s.destroy();
    peer.close();
    if (!resumed) await rm(out, { recursive: true, force: true });
  }
}

const fmt = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));
const cliLine = (n: number, r: number | string, x: Round) =>
  `${String(n).padEnd(8)} ${String(r).padEnd(6)} ${fmt(x.listeningMs).padStart(12)} ${fmt(x.connectMs).padStart(18)} ${fmt(x.rssMb).padStart(12)} ${fmt(x.exitMs).padStart(15)} ${String(x.filesOnDisk).padStart(14)}${values.strace ? fmt(x.statx).padStart(13) : ''}`;
const cliHeader = `files    round  listening ms  1st connection ms  peak RSS MB  SIGINT→exit ms  files on disk${values.strace ? '  statx calls' : ''}`;

/** `--resumed`: per size, the in-process rounds, then the CLI's on the same folder. */
async function resumedRounds(n: number, torrentPath: string): Promise<void> {
  const out = join(work, `resumed-${n}`);
  const torrent = await readTorrentFile(torrentPath);
  await prepareResumed(torrent, out);
  const cursor = { next: 0 };
  const saves = Number(values.saves);
  const written = Number(values.written);
  console.log(`${n} files on disk, resumed; each save after ${written} files written through the store`);
  console.log(
    'files    round  open ms  open stats  save ms (each)        save stats (each)      last save ms  last save stats',
  );
  for (let r = 1; r <= rounds; r++) {
    const x = await resumedRound(torrent, out, saves, written, cursor);
    const ms = x.saves.map((s) => fmt(s.ms)).join(' ');
    const stats = x.saves.map((s) => s.stats).join(' ');
    console.log(
      `${String(n).padEnd(8)} ${String(r).padEnd(6)} ${fmt(x.openMs).padStart(7)} ${String(x.openStats).padStart(11)}  ${ms.padEnd(20)} ${stats.padEnd(22)} ${fmt(x.last.ms).padStart(12)} ${String(x.last.stats).padStart(16)}`,
    );
  }
  console.log(cliHeader);
  for (let r = 1; r <= rounds; r++) console.log(cliLine(n, r, await oneRound(torrentPath, out, true)));
}

await mkdir(work, { recursive: true });
console.log(`bin: ${values.bin}`);
try {
  for (const n of counts) {
    const torrent = await torrentOf(n);
    if (values.resumed) {
      await resumedRounds(n, torrent);
      continue;
    }
    if (n === counts[0]) console.log(cliHeader);
    for (let r = 1; r <= rounds; r++)
      console.log(cliLine(n, r, await oneRound(torrent, join(work, `out-${n}`), false)));
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
