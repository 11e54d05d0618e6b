/** `bitstate seed --json` from the build as a managed process; resolves once it listens. */

import { join } from 'node:path';
import { repoRoot } from '../../test/interop/harness/paths.js';
import { type ManagedProcess, startProcess, whileRunning } from '../../test/interop/harness/processes.js';
import { dhtOffArgs } from '../dht-off.js';

export interface BitstateSeeder {
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startBitstateSeeder(opts: {
  readonly torrent: string;
  /** The folder holding the torrent's <name>. */
  readonly dataDir: string;
  readonly announce: boolean;
  readonly maxPeers?: number;
  readonly timeoutMs: number;
  /** Node flags before the script (e.g. `--cpu-prof` for bench/profile/seed-profile.ts). */
  readonly nodeArgs?: readonly string[];
}): Promise<BitstateSeeder> {
  const args = [
    ...(opts.nodeArgs ?? []),
    join(repoRoot(), 'bin', 'bitstate.js'),
    'seed',
    opts.torrent,
    '--data',
    opts.dataDir,
  ];
  args.push('--port', '0', '--json', ...dhtOffArgs(repoRoot()));
  if (!opts.announce) args.push('--no-tracker');
  if (opts.maxPeers !== undefined) args.push('--max-peers', String(opts.maxPeers));
  const proc = startProcess(process.execPath, args, {
    name: 'bitstate seed',
    timeoutMs: opts.timeoutMs,
    tailBytes: 16 * 1024,
  });
  const stop = async (): Promise<void> => {
    await proc.stop(3000);
  };
  try {
    const line = await whileRunning(proc, proc.waitForLine(/"type":"listening"/, 600_000));
    const port = (JSON.parse(line) as { port?: unknown }).port;
    if (typeof port !== 'number') throw new Error(`bitstate seed: no port in ${line}`);
    return { port, process: proc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
