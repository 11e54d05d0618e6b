/**
 * How long a torrent of many tiny files takes to get going (docs/robustness.md): the CLI downloads a
 * torrent of N one-byte files in one folder (the hostile-input review's shape: 1 MiB pieces, no
 * real hashes, nothing to fetch) with one `--peer` — a TCP server of this script that accepts and
 * says nothing. Per round: milliseconds from spawn to the `listening` event (the store is open and
 * the machines run), to the first TCP connection the peer sees, the peak RSS then (VmHWM), the
 * time from SIGINT to exit (the last resume save stats every file), and the files on disk after.
 * Not a test.
 *
 *   npm run build && node dist/bench/many-files.bench.js [--files 16384,131072] [--rounds 3]
 *     [--bin path/to/bin/bitstate.js] [--dir DIR]
 *
 * `--bin` runs another build (e.g. a worktree of an older commit) on the same torrents.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bencode } from '../src/metainfo/bencode.js';
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
  },
});
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
}

async function oneRound(torrent: string, out: string): Promise<Round> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
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
  const child = spawn(
    process.execPath,
    [values.bin, 'download', torrent, '--no-tracker', '--json', '-o', out, '--peer', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
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
    const rssMb = peakRssMb(child.pid ?? 0);
    const stopAt = performance.now();
    child.kill('SIGINT');
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
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    for (const s of sockets) s.destroy();
    peer.close();
    await rm(out, { recursive: true, force: true });
  }
}

const fmt = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));

await mkdir(work, { recursive: true });
console.log(`bin: ${values.bin}`);
console.log('files    round  listening ms  1st connection ms  peak RSS MB  SIGINT→exit ms  files on disk');
try {
  for (const n of counts) {
    const torrent = await torrentOf(n);
    for (let r = 1; r <= rounds; r++) {
      const x = await oneRound(torrent, join(work, `out-${n}`));
      console.log(
        `${String(n).padEnd(8)} ${String(r).padEnd(6)} ${fmt(x.listeningMs).padStart(12)} ${fmt(x.connectMs).padStart(18)} ${fmt(x.rssMb).padStart(12)} ${fmt(x.exitMs).padStart(15)} ${String(x.filesOnDisk).padStart(14)}`,
      );
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
