/**
 * Time to the first verified piece: `bitstate download --json` spawned (the user's view, Node's
 * start-up included) and the library's `download()` in a fresh Node process (import, then the call).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { startProcess } from '../../test/interop/harness/processes.js';
import { bitstateDownloadCommand } from './swarm.js';

export interface SpawnTimes {
  readonly ok: boolean;
  readonly error?: string;
  /** From spawn, ms. */
  readonly metadataMs: number;
  /** `resume.loaded`: the store is open (files created, resume file read). */
  readonly storeOpenMs: number;
  readonly firstPeerMs: number;
  readonly firstPieceMs: number;
  /** Pieces verified in the `followMs` after the first one, and when the last of them was. */
  readonly piecesAfter: number;
  readonly lastPieceMs: number;
}

/** Spawns bitstate download --json and times its first events; stops it `followMs` after the first piece. */
export async function spawnToFirstPiece(opts: {
  readonly torrent: string;
  readonly out: string;
  readonly peers: readonly string[];
  readonly followMs: number;
  readonly timeoutMs: number;
  readonly extra?: readonly string[];
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}): Promise<SpawnTimes> {
  const { command, args } = bitstateDownloadCommand(opts.torrent, opts.out, opts.peers, [
    '--json',
    ...(opts.extra ?? []),
  ]);
  const started = performance.now();
  const proc = startProcess(command, args, {
    name: 'bitstate download',
    timeoutMs: opts.timeoutMs + opts.followMs,
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  const at = {
    metadata: Number.NaN,
    store: Number.NaN,
    peer: Number.NaN,
    piece: Number.NaN,
    last: Number.NaN,
  };
  let pieces = 0;
  try {
    return await new Promise<SpawnTimes>((resolve) => {
      let follow: NodeJS.Timeout | undefined;
      const finish = (error?: string): void => {
        clearTimeout(follow);
        clearTimeout(limit);
        resolve({
          ok: error === undefined,
          ...(error === undefined ? {} : { error }),
          metadataMs: at.metadata,
          storeOpenMs: at.store,
          firstPeerMs: at.peer,
          firstPieceMs: at.piece,
          piecesAfter: Math.max(0, pieces - 1),
          lastPieceMs: at.last,
        });
      };
      const limit = setTimeout(() => finish(`no piece.verified after ${opts.timeoutMs} ms`), opts.timeoutMs);
      proc.onLine((line, stream) => {
        if (stream !== 'stdout') return;
        const now = performance.now() - started;
        if (line.includes('"type":"metadata"') && Number.isNaN(at.metadata)) at.metadata = now;
        else if (line.includes('"type":"resume.loaded"') && Number.isNaN(at.store)) at.store = now;
        else if (line.includes('"type":"peer.connected"') && Number.isNaN(at.peer)) at.peer = now;
        else if (line.includes('"type":"piece.verified"')) {
          pieces++;
          at.last = now;
          if (pieces === 1) {
            at.piece = now;
            clearTimeout(limit);
            follow = setTimeout(() => finish(), opts.followMs);
          }
        }
      });
      void proc.exited.then((exit) => {
        if (pieces > 0) finish();
        else finish(`exited (code ${exit.code}) before a piece: ${proc.stderrTail().trim().slice(-300)}`);
      });
    });
  } finally {
    await proc.stop(2000);
  }
}

/**
 * This process's environment without NODE_EXTRA_CA_CERTS, or undefined when it is not set. Node 20
 * reads and parses the certificates that variable names at every start, before any script runs.
 * Measured here (issue #8, ninth pass), with the system bundle named: `node -e 0` 59–95 ms against
 * 24–32 without; a spawned download's first verified piece 13–63 ms later (five paired rounds).
 * A machine that sets it (for a TLS-intercepting proxy, say) moves every spawned figure by that much.
 */
export function envWithoutExtraCaCerts(): NodeJS.ProcessEnv | undefined {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) return undefined;
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  return rest;
}

export interface InProcessTimes {
  readonly ok: boolean;
  readonly error?: string;
  /** Node's own start-up: process start to the first line of the script. */
  readonly bootMs: number;
  /** import() of dist/src/index.js. */
  readonly importMs: number;
  /** download() called to the first piece.verified event. */
  readonly callToFirstPieceMs: number;
  /** Process start (performance.timeOrigin) to the first piece. */
  readonly processToFirstPieceMs: number;
}

/** A fresh `node` that imports the built library and calls download(); it prints its timings. */
export async function inProcessFirstPiece(opts: {
  readonly torrent: string;
  readonly out: string;
  readonly peer: string;
  readonly timeoutMs: number;
  /** Where the script file is written. */
  readonly scratch: string;
}): Promise<InProcessTimes> {
  const lib = pathToFileURL(join(repoRoot(), 'dist', 'src', 'index.js')).href;
  const script = `
    const boot = performance.now();
    const lib = await import(${JSON.stringify(lib)});
    const imported = performance.now();
    const torrent = await lib.readTorrentFile(${JSON.stringify(opts.torrent)});
    const called = performance.now();
    const job = lib.download(torrent, { out: ${JSON.stringify(opts.out)}, peers: [lib.parsePeerAddress(${JSON.stringify(opts.peer)})], trackers: false, listen: false });
    job.events$.subscribe((e) => {
      if (e.type !== 'piece.verified') return;
      const t = performance.now();
      process.stdout.write(JSON.stringify({ bootMs: boot, importMs: imported - boot, callToFirstPieceMs: t - called, processToFirstPieceMs: t }) + '\\n');
      process.exit(0);
    });
    job.done.then((r) => { process.stderr.write('ended without a piece: ' + JSON.stringify(r) + '\\n'); process.exit(1); });`;
  // A file, not `--input-type=module -e`: bitstate's hash worker inherits the parent's execArgv, and
  // a worker started with --input-type fails ("can only be used with string input").
  const scriptPath = join(opts.scratch, 'first-piece-in-process.mjs');
  await writeFile(scriptPath, script);
  const child = spawn(process.execPath, [scriptPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  try {
    const t = JSON.parse(out.trim().split('\n')[0] ?? '') as Omit<InProcessTimes, 'ok'>;
    return { ok: true, ...t };
  } catch {
    return {
      ok: false,
      error: `exit ${code}: ${err.trim().slice(-300)}`,
      bootMs: Number.NaN,
      importMs: Number.NaN,
      callToFirstPieceMs: Number.NaN,
      processToFirstPieceMs: Number.NaN,
    };
  }
}

/** Spawn to exit of `node -e 0`: the floor under every spawned measurement. */
export async function nodeStartMs(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
  await new Promise((resolve) => child.on('close', resolve));
  return performance.now() - started;
}
