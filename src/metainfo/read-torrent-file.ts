/** `readTorrentFile(path)`: reads a .torrent from disk, no more than MAX_TORRENT_FILE_BYTES, and parses it. */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { MAX_TORRENT_FILE_BYTES } from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import { parseTorrent } from './parse-torrent.js';
import { sourceError } from './source-error.js';
import type { Torrent } from './torrent.js';

const CHUNK = 64 * 1024;

export interface ReadTorrentOptions {
  /**
   * Only a regular file, not through a symlink: for a .torrent of bitstate's own (a magnet's saved
   * metadata), where anything else was planted. A FIFO is opened without blocking and refused, not
   * waited on. Without it a pipe is read too (`bitstate download <(curl …)`).
   */
  readonly regularFileOnly?: boolean;
}

export async function readTorrentFile(path: string, options: ReadTorrentOptions = {}): Promise<Torrent> {
  // A torrent that cannot be opened or read (missing, a folder…) is the user's input gone wrong: a
  // typed error naming the path, exit 2 at the CLI.
  const flags =
    options.regularFileOnly === true ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK : 'r';
  const handle = await open(path, flags).catch((err: unknown) => {
    throw sourceError(path, err);
  });
  try {
    if (options.regularFileOnly === true && !(await handle.stat()).isFile())
      throw new MetainfoError('bad-source', `cannot read ${path}: not a regular file`);
    return parseTorrent(await readAll(path, handle));
  } finally {
    await handle.close();
  }
}

async function readAll(path: string, handle: Awaited<ReturnType<typeof open>>): Promise<Buffer> {
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new MetainfoError('bad-source', `cannot read ${path}: it is a folder`);
    if (stats.size > MAX_TORRENT_FILE_BYTES) throw tooLarge(stats.size);
    // Read to the end rather than trusting stat(): the file may change meanwhile (or be a pipe).
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_TORRENT_FILE_BYTES) throw tooLarge(total);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    throw sourceError(path, err);
  }
}

function tooLarge(size: number): MetainfoError {
  return new MetainfoError(
    'limit-exceeded',
    `torrent file of ${size} bytes or more (limit ${MAX_TORRENT_FILE_BYTES})`,
    {
      limit: MAX_TORRENT_FILE_BYTES,
      actual: size,
    },
  );
}
