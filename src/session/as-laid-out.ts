/**
 * Where a torrent's files lie in a folder to seed from, when that differs from where a download puts
 * them: a file renamed for a case collision (src/metainfo/case-collisions.ts) may hold its data
 * under the torrent's own name (seed.ts).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { foldName } from '../metainfo/case-collisions.js';
import type { Torrent, TorrentFile } from '../metainfo/torrent.js';
import { fileLocations } from '../storage/layout.js';

/**
 * The torrent as its data lies in `data`. A file renamed for a case collision (`readme` →
 * `readme.1`, src/metainfo/case-collisions.ts) whose renamed path is missing is served from the
 * torrent's own name when that holds a file of its own, of the file's size: on a case-sensitive file
 * system (ext4) `create` read `README` and `readme` as two files, and the folder it was made from is
 * laid out so. On a case-insensitive one the torrent's name is the other file (same inode), and the
 * renamed path stays.
 */
export async function asLaidOut(torrent: Torrent, data: string): Promise<Torrent> {
  if (!torrent.files.some((f) => f.renamedFrom !== undefined)) return torrent;
  const root = resolve(data);
  const onDisk = fileLocations(torrent, root);
  const asNamed = fileLocations(
    {
      ...torrent,
      files: torrent.files.map((f) => (f.renamedFrom === undefined ? f : { ...f, path: f.renamedFrom })),
    },
    root,
  );
  /** Each kept file's path, folded as a case-insensitive file system compares them, to its index. */
  const keptAt = new Map<string, number>();
  for (const [i, f] of torrent.files.entries())
    if (f.renamedFrom === undefined && !f.padding) keptAt.set(f.path.map(foldName).join('/'), i);
  const files: TorrentFile[] = [];
  let changed = false;
  for (const [i, f] of torrent.files.entries()) {
    files.push(f);
    if (f.renamedFrom === undefined) continue;
    if ((await stat(onDisk[i]!.path).catch(() => undefined)) !== undefined) continue;
    const own = await stat(asNamed[i]!.path).catch(() => undefined);
    if (own === undefined || !own.isFile() || own.size !== f.length) continue;
    const kept = keptAt.get(f.renamedFrom.map(foldName).join('/'));
    const other = kept === undefined ? undefined : await stat(onDisk[kept]!.path).catch(() => undefined);
    if (other !== undefined && other.ino === own.ino && other.dev === own.dev) continue;
    const { renamedFrom, ...asItIs } = f;
    files[i] = { ...asItIs, path: renamedFrom };
    changed = true;
  }
  return changed ? { ...torrent, files } : torrent;
}
