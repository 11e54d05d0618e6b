/**
 * `bitstate create <path> [--announce URL …] [--web-seed URL …] [--piece-length N] [--private]
 *  [--comment C] [--format v1|v2|hybrid] -o FILE.torrent`
 */
import { access, stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CreatedTorrent, makeTorrent } from '../../metainfo/create-torrent.js';
import { parseTorrent } from '../../metainfo/parse-torrent.js';
import type { TorrentVersion } from '../../metainfo/torrent.js';
import { isWebSeedUrl } from '../../net/web-seed-url.js';
import { ExitCode } from '../exit-code.js';
import { formatBytes } from '../format.js';
import { parseSize } from '../parse-number.js';
import { printable } from '../printable.js';
import { createProgressLine } from '../progress-line.js';
import { UsageError } from '../usage-error.js';

export const usage = `Usage: bitstate create <FILE|FOLDER> [--announce URL] [options] -o FILE.torrent

Makes a .torrent of a file or a folder (files in byte order of their paths; symbolic links
and special files inside a folder are skipped and listed on stderr). Without --announce its
peers find each other through the DHT and peer exchange (a private torrent needs a tracker).

Options:
  -a, --announce URL       tracker URL (repeatable: each one is a tier of its own, BEP 12)
  -w, --web-seed URL       an http(s) server with the files (repeatable; BEP 19 url-list: the
                           file's URL, or a folder's URL ending in / for a multi-file torrent)
  -l, --piece-length N     bytes per piece, a power of two from 16K (accepts 256K, 1M…);
                           default: chosen for about 1,000 to 2,000 pieces (16K to 16M)
  -p, --private            set the private flag (BEP 27: trackers only, no DHT or PEX)
  -c, --comment TEXT       a comment
      --format F           v1 (default), v2 or hybrid. v2 (BEP 52: SHA-256 merkle trees,
                           libtorrent 2.0, qBittorrent 4.4 and later) cannot be loaded by
                           older clients (libtorrent 1.x, Transmission, aria2); hybrid holds
                           v1 and v2 (BEP 47 padding aligns each file to a piece) and loads in
                           both: two info-hashes, one payload
  -o, --output FILE        where to write the .torrent (never overwritten without --force)
  -f, --force              overwrite FILE if it exists
  -h, --help               this text`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      announce: { type: 'string', short: 'a', multiple: true },
      'web-seed': { type: 'string', short: 'w', multiple: true },
      'piece-length': { type: 'string', short: 'l' },
      private: { type: 'boolean', short: 'p' },
      comment: { type: 'string', short: 'c' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('expected one file or folder (see bitstate create --help)');
  const announce = values.announce ?? [];
  const webSeeds = values['web-seed'] ?? [];
  // A trackerless torrent is found through the DHT (BEP 5), as libtorrent and Transmission make
  // them; a private one (BEP 27) uses neither the DHT nor PEX: no tracker, no web seed, no source.
  if (values.private === true && announce.length + webSeeds.length === 0)
    throw new UsageError('a --private torrent needs an --announce URL (BEP 27: no DHT, no PEX)');
  for (const url of webSeeds)
    if (!isWebSeedUrl(url)) throw new UsageError(`--web-seed takes an http(s) URL, not '${printable(url)}'`);
  const format = values.format ?? 'v1';
  if (!isFormat(format)) throw new UsageError(`--format takes v1, v2 or hybrid, not '${printable(format)}'`);
  const output = values.output;
  if (output === undefined) throw new UsageError('-o FILE.torrent is needed');
  const pieceLength =
    values['piece-length'] === undefined ? undefined : parseSize('--piece-length', values['piece-length']);

  // Checked before hashing too (which can take long); the 'wx' write below is what makes it race-free.
  if (values.force !== true && (await exists(output))) throw alreadyThere(output);

  const progress = createProgressLine(process.stderr);
  const skipped: string[] = [];
  let made: CreatedTorrent;
  try {
    made = await makeTorrent(positionals[0]!, {
      format,
      announce: announce[0],
      announceList: announce.map((url) => [url]),
      urlList: webSeeds,
      pieceLength,
      private: values.private === true,
      comment: values.comment,
      onProgress: (done, total) =>
        progress.update(done, total, `${formatBytes(done)} of ${formatBytes(total)}`),
      onSkip: (path, reason) =>
        skipped.push(`skipped ${reason === 'symlink' ? 'symbolic link' : 'special file'} ${printable(path)}`),
    });
  } finally {
    progress.finish();
  }
  for (const line of skipped) process.stderr.write(`bitstate create: ${line}\n`);
  // Through the same validation as any other torrent before it is written: what we write, we can
  // load, and a torrent we could not load is never left on disk.
  const loaded = parseTorrent(made.bytes);
  // BEP 52 as libtorrent reads it: a v2 file tree of one file is a single-file torrent of that file,
  // whatever folder it was made from. Its data is then the file itself, not the folder around it.
  if (format === 'v2' && !loaded.multiFile && (await stat(positionals[0]!)).isDirectory())
    process.stderr.write(
      `bitstate create: the folder holds one file, so the v2 torrent is of ${printable(loaded.name)} alone (as libtorrent reads it): seed it with --data ${printable(positionals[0]!)}\n`,
    );
  try {
    await writeFile(output, made.bytes, { flag: values.force === true ? 'w' : 'wx' });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') throw alreadyThere(output);
    throw err;
  }
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  process.stdout.write(
    `wrote ${output}: ${made.fileCount} file${made.fileCount === 1 ? '' : 's'}, ` +
      `${formatBytes(made.totalLength)}, ${made.pieceCount} pieces of ${formatBytes(made.pieceLength)}` +
      (format === 'v1' ? '' : format === 'v2' ? ' (v2)' : ' (hybrid: v1 and v2)') +
      '\n' +
      (made.infoHashV1 === undefined ? '' : `info-hash ${hex(made.infoHashV1)}\n`) +
      (made.infoHashV2 === undefined ? '' : `info-hash v2 ${hex(made.infoHashV2)}\n`),
  );
  return ExitCode.ok;
}

function isFormat(format: string): format is TorrentVersion {
  return format === 'v1' || format === 'v2' || format === 'hybrid';
}

function alreadyThere(output: string): UsageError {
  return new UsageError(`${output} exists (use --force to overwrite it)`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
