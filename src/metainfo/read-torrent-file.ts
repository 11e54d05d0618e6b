/** `readTorrentFile(path)`: reads a .torrent from disk, no more than MAX_TORRENT_FILE_BYTES, and parses it. */
import { open } from 'node:fs/promises';
import { MAX_TORRENT_FILE_BYTES } from './limits.js';
import { MetainfoError } from './metainfo-error.js';
import { parseTorrent } from './parse-torrent.js';
import { sourceError } from './source-error.js';
import type { Torrent } from './torrent.js';

const CHUNK = 64 * 1024;

export async function readTorrentFile(path: string): Promise<Torrent> {
  // A torrent that cannot be opened or read (missing, a folder…) is the user's input gone wrong: a
  // typed error naming the path, exit 2 at the CLI.
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw sourceError(path, err);
  });
  try {
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
