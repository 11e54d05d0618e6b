/**
 * `bitstate demo [--out DIR] [--size SIZE] [--seeders N] [--encryption MODE] [--utp MODE] [--keep] [--json]
 * [--quiet]` — the README's first command, and what `bitstate download` runs with no torrent: a
 * real download over real TCP on 127.0.0.1. It makes a deterministic sample payload (3 files) in a
 * temp folder, a torrent of it (createTorrent), starts N `bitstate seed` child processes of this
 * same CLI, and downloads from them with the full progress display; `--encryption` is given to the
 * seeders and the download alike (docs/encryption.md), and `--utp` too (docs/utp.md: `prefer` makes
 * every connection uTP). Seeders are stopped and temp folders removed
 * at the end (the download too, unless --out or --keep).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTorrent } from '../../metainfo/create-torrent.js';
import { parseTorrent } from '../../metainfo/parse-torrent.js';
import type { EncryptionPolicy } from '../../net/encryption-policy.js';
import type { UtpMode } from '../../net/utp-mode.js';
import { download } from '../../session/download.js';
import { createDownloadDisplay, type DisplayMode } from '../download-display.js';
import { ExitCode } from '../exit-code.js';
import { parseCount, parseSize } from '../parse-number.js';
import { describeError } from '../report-error.js';
import { encryptionOption, utpOption } from '../swarm-flags.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_DEMO_SIZE = 64 * 1024 * 1024;
export const DEFAULT_DEMO_SEEDERS = 3;
/** A seeder that has not checked its data and opened its port by then is a failure. */
export const SEEDER_START_TIMEOUT_MS = 30_000;
const MAX_DEMO_SIZE = 4 * 1024 ** 3;

export const usage = `Usage: bitstate demo [options]

Makes a sample payload, starts local seeders (bitstate seed, on 127.0.0.1) and downloads it from
them with the progress display: a real download over real TCP, nothing leaves this machine.

Options:
  -o, --out DIR     where to save the download (default: a temp folder, removed at the end)
      --size SIZE   payload size (default 64M), in 3 files
      --seeders N   local seeders (default 3)
      --encryption MODE
                    Message Stream Encryption (MSE/PE) for the seeders and the download:
                    plaintext, allowed (default), preferred, required (RC4 only, every
                    connection). See docs/encryption.md
      --utp MODE    uTP (BEP 29) for the seeders and the download: on (default: TCP
                    dialled first), prefer (every connection over uTP), off. See docs/utp.md
      --keep        keep the payload, the torrent and the download (their folder is printed)
      --json        NDJSON events on stdout
  -q, --quiet       print nothing but errors
  -h, --help        this text`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string', short: 'o' },
      size: { type: 'string' },
      seeders: { type: 'string' },
      encryption: { type: 'string' },
      utp: { type: 'string' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length > 0) throw new UsageError('bitstate demo takes no arguments (see --help)');
  const size = values.size === undefined ? DEFAULT_DEMO_SIZE : parseSize('--size', values.size);
  if (size < 3 || size > MAX_DEMO_SIZE) throw new UsageError(`--size must be between 3 bytes and 4G`);
  const seeders =
    values.seeders === undefined ? DEFAULT_DEMO_SEEDERS : parseCount('--seeders', values.seeders, 1, 20);
  const encryption = encryptionOption(values.encryption);
  const utp = utpOption(values.utp);
  const mode: DisplayMode = values.json === true ? 'json' : values.quiet === true ? 'quiet' : 'terminal';
  const note = (s: string) => {
    if (mode === 'terminal') process.stderr.write(`${s}\n`);
  };

  const work = await mkdtemp(join(tmpdir(), 'bitstate-demo-'));
  const out = values.out === undefined ? join(work, 'download') : resolve(values.out);
  const children: ChildProcess[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    stopAll?.();
  };
  let stopAll: (() => void) | undefined;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const data = join(work, 'seed');
    note(`making a ${formatMiB(size)} sample payload in ${data}`);
    await makePayload(join(data, 'bitstate-demo'), size);
    const torrentBytes = await createTorrent(join(data, 'bitstate-demo'), {
      comment: 'bitstate demo payload',
      creationDate: 0,
    });
    const torrentPath = join(work, 'bitstate-demo.torrent');
    await writeFile(torrentPath, torrentBytes);
    const torrent = parseTorrent(torrentBytes);

    note(`starting ${seeders} seeders (bitstate seed) on 127.0.0.1`);
    const ports = await Promise.all(
      Array.from({ length: seeders }, () => startSeeder(torrentPath, data, children, encryption, utp)),
    );
    if (interrupted) return ExitCode.interrupted;
    note(`seeders listening on ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}`);

    const display = createDownloadDisplay(mode, {});
    const job = download(torrent, {
      out,
      peers: ports.map((port) => ({ host: '127.0.0.1', port })),
      trackers: false,
      port: 0,
      listen: false,
      ...(encryption === undefined ? {} : { encryption }),
      ...(utp === undefined ? {} : { utp }),
    });
    stopAll = () => void job.stop('interrupted');
    const sub = job.events$.subscribe((e) => display.event(e));
    const result = await job.done;
    sub.unsubscribe();
    display.end();
    if (result.result === 'complete') {
      note(`verified every piece of ${torrent.name} in ${join(out, torrent.name)}`);
      return ExitCode.ok;
    }
    if (interrupted) return ExitCode.interrupted;
    process.stderr.write(`bitstate demo: ${describeError(result.message)}\n`);
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(children.map(stopChild));
    if (values.keep === true) note(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

/** Three files (½, ⅓, the rest), bytes from AES-128-CTR over zeros with a fixed key: the same every run. */
async function makePayload(dir: string, size: number): Promise<void> {
  await mkdir(join(dir, 'more'), { recursive: true });
  const a = Math.floor(size / 2);
  const b = Math.floor(size / 3);
  const files: [string, number][] = [
    ['big.bin', a],
    [join('more', 'medium.bin'), b],
    [join('more', 'small.bin'), size - a - b],
  ];
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1024 * 1024);
  for (const [name, length] of files) {
    const h = await open(join(dir, name), 'w');
    try {
      for (let done = 0; done < length; ) {
        const n = Math.min(zeros.length, length - done);
        await h.write(cipher.update(zeros.subarray(0, n)));
        done += n;
      }
    } finally {
      await h.close();
    }
  }
}

/**
 * The CLI entry of this same build (bin/bitstate.js), found from this module's place: dist/cli/ (the
 * bundle), dist/src/cli/commands/ (tsc's output) or src/cli/commands/ (from source, through tsx).
 */
function binPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..', '../../../..']) {
    const p = resolve(here, up, 'bin', 'bitstate.js');
    if (existsSync(p)) return p;
  }
  throw new Error('cannot find bin/bitstate.js next to this build');
}

/** Spawns `bitstate seed --json` and resolves with its port once it has checked its data and listens. */
function startSeeder(
  torrentPath: string,
  data: string,
  children: ChildProcess[],
  encryption: EncryptionPolicy | undefined,
  utp: UtpMode | undefined,
): Promise<number> {
  const args = [
    binPath(),
    'seed',
    torrentPath,
    '--data',
    data,
    '--port',
    '0',
    '--no-tracker',
    '--no-dht',
    '--no-lsd',
    '--json',
  ];
  if (encryption !== undefined) args.push('--encryption', encryption);
  if (utp !== undefined) args.push('--utp', utp);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolvePort, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error('a seeder did not start in time')),
      SEEDER_START_TIMEOUT_MS,
    );
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        if (!line.includes('"listening"')) continue;
        const port = (JSON.parse(line) as { port?: number }).port;
        if (typeof port === 'number') {
          clearTimeout(timer);
          resolvePort(port);
        }
      }
      if (buffered.length > 65536) buffered = '';
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a seeder exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function formatMiB(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 0)} MiB`;
}
