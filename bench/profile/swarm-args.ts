/**
 * The command line of the profiling tools that download from a running swarm (the one
 * `seeders.ts` keeps up and prints): the tool's own options before `--`, then
 * `TORRENT --peer HOST:PORT …`; and the libtorrent downloader they run beside bitstate there.
 */
import { parseArgs } from 'node:util';
import { libtorrentClientCommand } from '../../test/interop/harness/libtorrent.js';
import { getFreePort } from '../../test/interop/harness/ports.js';

/** The arguments before `--` (the tool's own) and after it (the swarm), from `process.argv`. */
export function splitAtDash(argv: readonly string[] = process.argv.slice(2)): {
  readonly own: string[];
  readonly swarm: string[];
} {
  const dash = argv.indexOf('--');
  return dash === -1
    ? { own: [...argv], swarm: [] }
    : { own: argv.slice(0, dash), swarm: argv.slice(dash + 1) };
}

/** `TORRENT --peer HOST:PORT …`; throws `usage` when either is missing. */
export function parseSwarm(swarm: readonly string[], usage: string): { torrent: string; peers: string[] } {
  const { values, positionals } = parseArgs({
    args: [...swarm],
    allowPositionals: true,
    options: { peer: { type: 'string', multiple: true, default: [] } },
  });
  const torrent = positionals[0];
  if (torrent === undefined || values.peer.length === 0) throw new Error(`usage: ${usage}`);
  return { torrent, peers: values.peer };
}

/**
 * The python3-libtorrent downloader on that swarm, as the tools run it beside bitstate: no
 * tracker, the peers dialled, a free listening port, giving up after `timeoutSec`.
 */
export async function libtorrentDownloadCommand(
  torrent: string,
  savePath: string,
  peers: readonly string[],
  timeoutSec: number,
  statusIntervalSec?: number,
): Promise<{ command: string; args: string[] }> {
  return libtorrentClientCommand({
    torrent,
    savePath,
    port: await getFreePort(),
    mode: 'download',
    trackerOff: true,
    peers,
    timeoutSec,
    ...(statusIntervalSec === undefined ? {} : { statusIntervalSec }),
  });
}
