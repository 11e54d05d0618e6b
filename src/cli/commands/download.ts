/**
 * `bitstate download <torrent> [--out DIR] [--peer HOST:PORT ...] [--port N] [--max-peers N]
 *  [--timeout S] [--no-tracker] [--json] [--quiet] [--peers]`
 */
import { parseArgs } from 'node:util';
import { readTorrentFile } from '../../metainfo/read-torrent-file.js';
import { parsePeerAddress } from '../../net/address.js';
import { download } from '../../session/download.js';
import { createDownloadDisplay, type DisplayMode } from '../download-display.js';
import { ExitCode } from '../exit-code.js';
import { parseCount, parseSeconds } from '../parse-number.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate download <FILE.torrent> [options]

Downloads every piece of the torrent into DIR/<name>, verifying each piece's SHA-1.

Options:
  -o, --out DIR          where to save (default: the current directory)
  -p, --peer HOST:PORT   a peer to connect to (repeatable); trackers are asked too
      --no-tracker       do not announce; use only --peer addresses
      --port N           port to listen on for incoming peers (default 6881, or the next free one)
      --max-peers N      connections at most (default 50)
      --timeout S        give up (exit 1) when no data has arrived for S seconds (default: wait)
      --json             NDJSON events on stdout instead of the progress display
  -q, --quiet            print nothing but errors
      --peers            show per-peer detail under the progress bar
  -h, --help             this text

Exit status: 0 when every piece is verified and on disk, 1 when the download cannot finish,
2 for bad input, 130 when interrupted (Ctrl-C stops cleanly: trackers told, files closed).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string', short: 'o' },
      peer: { type: 'string', short: 'p', multiple: true },
      'no-tracker': { type: 'boolean' },
      port: { type: 'string' },
      'max-peers': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      peers: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('expected one .torrent file (see bitstate download --help)');
  const peers = (values.peer ?? []).map((p) => parsePeerAddress(p));
  const port = values.port === undefined ? undefined : parseCount('--port', values.port, 0, 65535);
  const maxPeers =
    values['max-peers'] === undefined ? undefined : parseCount('--max-peers', values['max-peers'], 1, 5000);
  const stallTimeoutMs =
    values.timeout === undefined ? undefined : parseSeconds('--timeout', values.timeout) * 1000;
  const torrent = await readTorrentFile(positionals[0]!);

  const mode: DisplayMode = values.json === true ? 'json' : values.quiet === true ? 'quiet' : 'terminal';
  const display = createDownloadDisplay(mode, { peers: values.peers === true });
  const job = download(torrent, {
    out: values.out ?? '.',
    peers,
    trackers: values['no-tracker'] !== true,
    ...(port === undefined ? {} : { port }),
    ...(maxPeers === undefined ? {} : { maxPeers }),
    ...(stallTimeoutMs === undefined ? {} : { stallTimeoutMs }),
    peerDetail: values.peers === true,
  });
  const sub = job.events$.subscribe((e) => display.event(e));
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    void job.stop('interrupted');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await job.done;
    display.end();
    if (result.result === 'complete') return ExitCode.ok;
    if (interrupted) return ExitCode.interrupted;
    process.stderr.write(`bitstate download: ${result.message}\n`);
    return ExitCode.failed;
  } finally {
    sub.unsubscribe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
