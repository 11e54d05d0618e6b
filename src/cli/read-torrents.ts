/**
 * The .torrent files of a command that takes several (`seed A B …`, `download A B …`): every one
 * read and parsed before anything starts; one that cannot be is an error naming its path (exit 2
 * for one that is not a torrent), so the command starts all of them or none.
 */
import { MetainfoError } from '../metainfo/metainfo-error.js';
import { readTorrentFile } from '../metainfo/read-torrent-file.js';
import type { Torrent } from '../metainfo/torrent.js';

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
