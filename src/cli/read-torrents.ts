/**
 * The .torrent files of a command that takes several (`seed A B …`, `download A B …`): every one
 * read and parsed before anything starts; one that cannot be is an error naming its path (exit 2
 * for one that is not a torrent), so the command starts all of them or none. `download` takes
 * magnet links among them too, each parsed as they come (a bad one: exit 2).
 */
import { type Magnet, parseMagnet } from '../metainfo/magnet.js';
import { MetainfoError } from '../metainfo/metainfo-error.js';
import { readTorrentFile } from '../metainfo/read-torrent-file.js';
import type { Torrent } from '../metainfo/torrent.js';

/** A magnet link as the command line gives one (`magnet:?…`, the scheme in any case). */
export function isMagnetLink(arg: string): boolean {
  return /^magnet:/i.test(arg);
}

/** The command line's torrents in its order: each .torrent read, each magnet link parsed. */
export async function readTorrentsAndMagnets(args: readonly string[]): Promise<(Torrent | Magnet)[]> {
  const sources: (Torrent | Magnet)[] = [];
  for (const arg of args)
    sources.push(isMagnetLink(arg) ? parseMagnet(arg) : (await readTorrentFiles([arg]))[0]!);
  return sources;
}

export async function readTorrentFiles(paths: readonly string[]): Promise<Torrent[]> {
  const torrents: Torrent[] = [];
  for (const path of paths) {
    try {
      torrents.push(await readTorrentFile(path));
    } catch (err) {
      // A read error names its path already; a parse error does not, and with several it must.
      if (err instanceof MetainfoError && !err.message.includes(path))
        throw new MetainfoError(err.code, `${path}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  return torrents;
}
