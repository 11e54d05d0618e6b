/**
 * Temp files a crashed atomic save left beside its file (resume-file.ts's writeFileAtomic, which
 * also writes dht.dat and a magnet's .torrent): `<name>.<pid>.<12 hex>.tmp`, or `<name>.tmp` from
 * versions that used one fixed name. Each save's temp name is its own, so no later save reuses
 * (and so replaces) a leftover: without this, every crash mid-save would leave one for good.
 *
 * A save's own temp file lives for one write and fsync, so one untouched for STALE_TEMP_MS is a
 * leftover, whoever made it. Judged by age, not by whether its pid is alive: a folder shared by
 * processes on two machines (or in two pid namespaces) would see the other's in-flight save as dead.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temp file untouched this long is a crashed save's leftover. */
export const STALE_TEMP_MS = 10 * 60_000;

/** Whether `name` (in the same folder) is a temp file of an atomic save of `file` (a base name). */
export function isTempNameOf(name: string, file: string): boolean {
  if (!name.startsWith(`${file}.`) || !name.endsWith('.tmp')) return false;
  const middle = name.slice(file.length + 1, -'.tmp'.length);
  return middle === '' || /^\d+\.[0-9a-f]{12}$/.test(middle);
}

/**
 * Removes the stale temp files of `path`'s saves (see the file comment). Best effort: what cannot
 * be read or removed stays, and nothing here fails a save.
 */
export async function removeStaleTemps(path: string, now = Date.now()): Promise<void> {
  const folder = dirname(path);
  const file = basename(path);
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (!isTempNameOf(name, file)) continue;
    const at = join(folder, name);
    const st = await lstat(at).catch(() => undefined);
    // lstat: a symlink planted there is judged (and removed) as a link, never followed.
    if (st !== undefined && now - st.mtimeMs >= STALE_TEMP_MS) await rm(at, { force: true }).catch(() => {});
  }
}
