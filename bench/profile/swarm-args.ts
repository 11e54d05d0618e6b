/**
 * The command line of the profiling tools that download from a running swarm (the one
 * `seeders.ts` keeps up and prints): the tool's own options before `--`, then
 * `TORRENT --peer HOST:PORT …`.
 */
import { parseArgs } from 'node:util';

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
