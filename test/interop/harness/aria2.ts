/**
 * aria2 1.36 (Debian's aria2c) as a seeder or downloader on 127.0.0.1. Quirks (docs/testing.md):
 * it takes no peers on the command line, so it finds them through the torrent's tracker; it tries
 * an encrypted (MSE) handshake first and spends ~2 s before its first connection; without
 * --disable-ipv6 it logs an IPv6 bind error when bound to 127.0.0.1.
 */
import { getFreePort, LOOPBACK } from './ports.js';
import { type ManagedProcess, runProcess, startProcess, whileRunning } from './processes.js';

export const ARIA2C = '/usr/bin/aria2c';

/** Flags every aria2 run here gets: loopback only, no DHT/LPD/PEX, plain console output. */
function baseArgs(port: number, dir: string): string[] {
  return [
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--disable-ipv6=true',
    `--interface=${LOOPBACK}`,
    `--listen-port=${port}`,
    '--enable-color=false',
    '--console-log-level=notice',
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--max-overall-download-limit=0',
    '--max-overall-upload-limit=0',
    '--bt-max-peers=0',
    `--dir=${dir}`,
  ];
}

/** The downloader's command line (the benchmark runs it under its meter). */
export function aria2DownloadCommand(opts: {
  /** A .torrent's path, or a magnet link. */
  readonly torrent: string;
  readonly outDir: string;
  readonly port: number;
  /** Only MSE with RC4 (`--bt-require-crypto=true --bt-min-crypto-level=arc4`). */
  readonly requireCrypto?: boolean;
  /** More aria2 options (e.g. `--select-file=1,3`), before the torrent. */
  readonly extraArgs?: readonly string[];
}): {
  command: string;
  args: string[];
} {
  return {
    command: ARIA2C,
    args: [
      ...baseArgs(opts.port, opts.outDir),
      ...(opts.requireCrypto === true ? REQUIRE_RC4 : []),
      '--seed-time=0',
      '--summary-interval=0',
      ...(opts.extraArgs ?? []),
      opts.torrent,
    ],
  };
}

/** aria2 as a peer that requires encryption: MSE only, RC4 for the whole stream. */
const REQUIRE_RC4 = ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'];

export interface Aria2Seeder {
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Verifies `dataDir`'s copy (the folder that holds the torrent's file or folder), then seeds it
 * until stopped; resolves once aria2 reports SEED. It announces to the torrent's tracker, if any.
 */
export async function startAria2Seeder(opts: {
  readonly torrent: string;
  readonly dataDir: string;
  readonly port?: number;
  readonly timeoutMs?: number;
  readonly readyTimeoutMs?: number;
}): Promise<Aria2Seeder> {
  const port = opts.port ?? (await getFreePort());
  const args = [
    ...baseArgs(port, opts.dataDir),
    // 0.0: seed for ever (no ratio, and no --seed-time).
    '--seed-ratio=0.0',
    '--check-integrity=true',
    '--bt-seed-unverified=false',
    '--summary-interval=1',
    opts.torrent,
  ];
  const proc = startProcess(ARIA2C, args, {
    name: `aria2 seeder :${port}`,
    timeoutMs: opts.timeoutMs ?? 30 * 60_000,
  });
  const seeder: Aria2Seeder = {
    port,
    process: proc,
    stop: async () => {
      await proc.stop(2000);
    },
  };
  try {
    // The progress readout shows "SEED(" once the data is verified and the port is open.
    await whileRunning(proc, proc.waitForLine(/SEED\(/, opts.readyTimeoutMs ?? 60_000));
  } catch (err) {
    await seeder.stop();
    throw err;
  }
  return seeder;
}

/** Downloads into `outDir` via the torrent's tracker; rejects unless aria2 exits 0 in time. */
export async function aria2Download(opts: {
  readonly torrent: string;
  readonly outDir: string;
  readonly timeoutMs: number;
  readonly port?: number;
  /** Only MSE with RC4 (`--bt-require-crypto=true --bt-min-crypto-level=arc4`). */
  readonly requireCrypto?: boolean;
  /** More aria2 options (e.g. `--select-file=1,3`: only those files, 1-based), before the torrent. */
  readonly extraArgs?: readonly string[];
}): Promise<{ elapsedMs: number }> {
  const port = opts.port ?? (await getFreePort());
  const { command, args } = aria2DownloadCommand({
    torrent: opts.torrent,
    outDir: opts.outDir,
    port,
    ...(opts.requireCrypto === undefined ? {} : { requireCrypto: opts.requireCrypto }),
    ...(opts.extraArgs === undefined ? {} : { extraArgs: opts.extraArgs }),
  });
  const r = await runProcess(command, args, { name: `aria2 download :${port}`, timeoutMs: opts.timeoutMs });
  return { elapsedMs: r.elapsedMs };
}
