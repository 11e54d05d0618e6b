/**
 * bench/many-files.bench.ts `--resumed`, the part run in this process: a torrent of N one-byte
 * files resumed with every file on disk, its open (`openResumed`) and its resume saves timed, and
 * the stat / lstat calls of each counted. Not a test.
 *
 * The calls are counted as the tests count them (test/helpers/stat-calls.ts): file handles' own fstat
 * is not counted, nor anything a hash worker does.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Torrent } from '../src/metainfo/torrent.js';
import { openResumed, ResumeSaver, resumePathFor } from '../src/session/resume.js';
import { inLanes } from '../src/storage/in-lanes.js';
import { countStatCalls } from '../test/helpers/stat-calls.js';

const statCalls = countStatCalls();

/**
 * Makes `<out>/many/` hold the torrent's N one-byte files (kept when already there) and a resume
 * file recording them: a first run's, whose open hashes the one piece (reads every file once).
 */
export async function prepareResumed(torrent: Torrent, out: string): Promise<void> {
  const folder = join(out, torrent.name);
  await mkdir(folder, { recursive: true });
  const n = torrent.files.length;
  if ((await readdir(folder)).length !== n)
    await inLanes(n, 16, (i) => writeFile(join(folder, i.toString(16)), new Uint8Array(1)));
  const first = await openResumed(torrent, { out }, () => {});
  try {
    await new ResumeSaver(first.store, resumePathFor(torrent, out), () => first.have).save();
  } finally {
    await first.store.close();
  }
}

export interface ResumedRound {
  readonly openMs: number;
  readonly openStats: number;
  /** Per save: its milliseconds and stat calls. */
  readonly saves: readonly { readonly ms: number; readonly stats: number }[];
  /** The last save of a run (`everyFile`: every file on disk looked at), after `written` more. */
  readonly last: { readonly ms: number; readonly stats: number };
}

const ONE_BYTE = new Uint8Array(1);

/**
 * Opens the resumed store, then `saves` times and once more as the last save of a run: writes
 * `written` files through it (the next ones after `cursor`, one byte each: the one piece spans every
 * file) and saves the resume file.
 */
export async function resumedRound(
  torrent: Torrent,
  out: string,
  saves: number,
  written: number,
  cursor: { next: number },
): Promise<ResumedRound> {
  statCalls.reset();
  const t0 = performance.now();
  const { store, have } = await openResumed(torrent, { out }, () => {});
  const openMs = performance.now() - t0;
  const openStats = statCalls.count;
  const results: { ms: number; stats: number }[] = [];
  try {
    const saver = new ResumeSaver(store, resumePathFor(torrent, out), () => have);
    const n = torrent.files.length;
    for (let s = 0; s <= saves; s++) {
      const from = cursor.next;
      cursor.next += written;
      await inLanes(written, 16, (k) => store.writeBlock(0, (from + k) % n, ONE_BYTE));
      statCalls.reset();
      const t = performance.now();
      await saver.save({ everyFile: s === saves });
      results.push({ ms: performance.now() - t, stats: statCalls.count });
    }
  } finally {
    await store.close();
  }
  return { openMs, openStats, saves: results.slice(0, -1), last: results.at(-1)! };
}
