/**
 * Transmission 3.00 (Debian's transmission-cli) on 127.0.0.1, as seeder or downloader: both are the
 * same run; it verifies what `dir` holds, fetches the rest, then seeds until stopped (it never exits
 * on its own). Quirks (docs/testing.md): it ignores 127.x peers learnt from a tracker, so the other
 * side must dial in to `port`; one connection per IP; it unchokes new peers only at its 10 s choke
 * tick; it skips zero-length files of a multi-file torrent.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort, LOOPBACK } from './ports.js';
import { type ManagedProcess, startProcess, whileRunning } from './processes.js';

export const TRANSMISSION_CLI = '/usr/bin/transmission-cli';

export interface TransmissionPeer {
  readonly port: number;
  readonly process: ManagedProcess;
  /** Resolves once it has every piece ("Seeding" on its status line). */
  waitForSeeding(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTransmission(opts: {
  readonly torrent: string;
  /** Holds (seeder) or receives (downloader) the torrent's file or folder. */
  readonly dir: string;
  readonly port?: number;
  readonly timeoutMs?: number;
  /** settings.json `encryption`: 0 prefer unencrypted, 1 prefer encrypted (default), 2 require encrypted. */
  readonly encryption?: 0 | 1 | 2;
  /** settings.json `utp-enabled` (default false: TCP only, as the other clients of the tests). */
  readonly utp?: boolean;
}): Promise<TransmissionPeer> {
  const port = opts.port ?? (await getFreePort());
  // A private config folder: settings.json there is read at start, and nothing leaks into ~.
  const configDir = await mkdtemp(join(tmpdir(), 'bitstate-transmission-'));
  const settings = {
    'bind-address-ipv4': LOOPBACK,
    'bind-address-ipv6': '::1',
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': opts.utp === true,
    'port-forwarding-enabled': false,
    'peer-port': port,
    // 0 = prefer unencrypted, 1 = prefer encrypted (plain accepted), 2 = require encrypted (MSE, RC4).
    encryption: opts.encryption ?? 1,
    'speed-limit-down-enabled': false,
    'speed-limit-up-enabled': false,
    'blocklist-enabled': false,
  };
  await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings));
  const proc = startProcess(
    TRANSMISSION_CLI,
    ['-g', configDir, '-w', opts.dir, '-p', String(port), '-D', '-U', '-M', opts.torrent],
    { name: `transmission :${port}`, timeoutMs: opts.timeoutMs ?? 30 * 60_000 },
  );
  return {
    port,
    process: proc,
    waitForSeeding: async (timeoutMs) => {
      await whileRunning(proc, proc.waitForLine(/^Seeding/, timeoutMs));
    },
    stop: async () => {
      await proc.stop(3000);
      await rm(configDir, { recursive: true, force: true });
    },
  };
}
