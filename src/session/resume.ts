/**
 * Resume for a download (docs/resume.md): open the store, decide from the resume file which pieces
 * are already verified and which must be hashed again, and save the resume file as pieces are
 * verified — never claiming a piece whose bytes are not durably on disk.
 */

import { dirname, join, resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import type { BlockPool } from '../net/block-pool.js';
import { Bitfield } from '../picker/bitfield.js';
import { inLanes } from '../storage/in-lanes.js';
import { existingFolders, fileLocations, makeDirectories } from '../storage/layout.js';
import { partsLayout, pieceRangeOf, wantedPieces } from '../storage/parts-layout.js';
import { PieceStore } from '../storage/piece-store.js';
import {
  type FileStamp,
  readResumeFile,
  resumeFilePath,
  stampOf,
  writeResumeFile,
} from '../storage/resume-file.js';
import { FILE_LANES, partsFilePath, STATE_DIR } from '../storage/store-files.js';
import type { WriteBacklog } from '../storage/write-backlog.js';
import type { WriteModeSetting } from '../storage/write-mode.js';
import type { DownloadEvent } from './download-event.js';

/** `checking` events are at most this frequent. */
const CHECK_REPORT_MS = 200;

export interface ResumeOptions {
  readonly out: string;
  /** Per file: fetch it (default: every file). */
  readonly selected?: readonly boolean[];
  /** Ignore the resume file: hash every wanted piece on disk. */
  readonly recheck?: boolean;
  readonly hashWorkers?: number;
  /** Bytes queued for the disk; sockets pause while it is behind (src/storage/write-backlog.ts). */
  readonly backlog?: WriteBacklog;
  /** Received blocks' memory, given back once written (src/net/block-pool.ts). */
  readonly blockPool?: BlockPool;
  /** Where runs of blocks are written (src/storage/write-mode.ts; default 'auto'). */
  readonly writeMode?: WriteModeSetting;
  /** Reserve the disk space of files created now (src/storage/preallocate.ts; default false). */
  readonly preallocate?: boolean;
}

export interface ResumedStore {
  readonly store: PieceStore;
  /** Wanted pieces already verified (from the resume file or hashed now). */
  readonly have: Bitfield;
  /** The pieces of the selected files. */
  readonly wanted: Bitfield;
}

const sameStamp = (a: FileStamp | undefined, b: FileStamp): boolean =>
  a != null && b !== null && a[0] === b[0] && a[1] === b[1];

export function resumePathFor(torrent: Torrent, out: string): string {
  return resumeFilePath(torrent, join(resolve(out), STATE_DIR));
}

/**
 * Opens the store for `torrent` under `out` and finds what is already there:
 * - resume file valid: pieces it claims are trusted where every file they touch has the size and
 *   mtime recorded; the pieces of files that changed (a crash after the save, an edit) are hashed;
 * - resume file missing, corrupt or `recheck`: every wanted piece whose files existed is hashed.
 * Stamps are taken before PieceStore.open, which extends short files (missing ones are created at
 * their first write); a file longer than the torrent's is cut only when the resume file records it
 * as ours. A file not on disk has no stamp: the pieces it touches are neither trusted nor hashed.
 */
export async function openResumed(
  torrent: Torrent,
  opts: ResumeOptions,
  emit: (e: DownloadEvent) => void,
): Promise<ResumedStore> {
  const root = resolve(opts.out);
  const selected = opts.selected ?? torrent.files.map(() => true);
  const layout = partsLayout(torrent, selected);
  const locations = fileLocations(torrent, root);
  const stored = locations.map((loc, i) => (torrent.files[i]!.padding || !selected[i] ? null : loc.path));
  // A file in a folder that is not there has no stamp: a fresh download stats a few folders, not
  // every file (131,072 stats took ~3 s).
  const inFolder = await existingFolders(
    root,
    stored.map((p, i) => (p === null ? null : locations[i]!.dirs)),
  );
  const stamps = await stampsOf(stored.map((p, i) => (inFolder[i] ? p : null)));
  const partsStamp = await stampOf(layout.sharedPieces.length > 0 ? partsFilePath(torrent, root) : null);
  // Read even for `recheck`: it does not say which pieces are there then, but still which files
  // are bitstate's own — recorded, and unchanged since (same size and mtime): only those may be
  // cut to their torrent length (store-files.ts). A file replaced or grown since is someone's.
  const read = await readResumeFile(torrent, resumePathFor(torrent, root));
  const owned = stamps.map((stamp, i) => read.ok && sameStamp(read.state.files[i], stamp));
  const store = await PieceStore.open(torrent, root, {
    selected,
    owned,
    ...(opts.hashWorkers === undefined ? {} : { hashWorkers: opts.hashWorkers }),
    ...(opts.writeMode === undefined ? {} : { writeMode: opts.writeMode }),
    ...(opts.preallocate === undefined ? {} : { preallocate: opts.preallocate }),
    onPreallocation: ({ freeBytes, detail, ...r }) =>
      emit({
        type: 'preallocation',
        ...r,
        ...(freeBytes === undefined ? {} : { freeBytes }),
        ...(detail === undefined ? {} : { detail }),
      }),
    ...(opts.backlog === undefined ? {} : { backlog: opts.backlog }),
    ...(opts.blockPool === undefined
      ? {}
      : {
          releaseBlock: (b: Uint8Array) => opts.blockPool?.release(b),
          pooledBlock: (b: Uint8Array) => opts.blockPool?.owns(b) === true,
        }),
  });
  try {
    const wanted = wantedPieces(torrent, selected);
    const trusted = opts.recheck !== true && read.ok ? read.state : undefined;
    // Per piece: 0 = trust the resume file, 1 = hash it, 2 = skip (a file it needs did not exist).
    const mark = new Uint8Array(torrent.pieceCount);
    const markRange = (range: readonly [number, number] | undefined, v: number) => {
      if (range !== undefined) for (let p = range[0]; p <= range[1]; p++) mark[p] = Math.max(mark[p]!, v);
    };
    stamps.forEach((stamp, i) => {
      if (stored[i] === null) return;
      const range = pieceRangeOf(torrent, i);
      if (stamp === null) markRange(range, 2);
      else if (trusted === undefined || !sameStamp(trusted.files[i], stamp)) markRange(range, 1);
    });
    const sameParts =
      trusted !== undefined &&
      sameStamp(trusted.parts.stamp, partsStamp) &&
      trusted.parts.sharedPieces.join() === layout.sharedPieces.join();
    for (const p of layout.sharedPieces)
      mark[p] = Math.max(mark[p]!, partsStamp === null ? 2 : sameParts ? 0 : 1);
    const have = new Bitfield(torrent.pieceCount);
    const toCheck: number[] = [];
    wanted.forEachSet((p) => {
      if (mark[p] === 1) toCheck.push(p);
      else if (mark[p] === 0 && trusted?.have.has(p)) have.set(p);
    });
    let lastReport = 0;
    const found = await store.checkPieces((checked, total) => {
      const now = performance.now();
      if (checked === total || now - lastReport >= CHECK_REPORT_MS) {
        lastReport = now;
        emit({ type: 'checking', checked, total });
      }
    }, toCheck);
    found.forEachSet((p) => have.set(p));
    emit({
      type: 'resume.loaded',
      source: opts.recheck === true ? 'recheck' : read.ok ? 'resumeFile' : read.reason,
      ...(opts.recheck !== true && !read.ok ? { detail: read.detail } : {}),
      trusted: have.count - found.count,
      checked: toCheck.length,
      have: have.count,
      wanted: wanted.count,
    });
    return { store, have, wanted };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * Saves the resume file. The order is the durability argument (docs/resume.md): snapshot the
 * verified pieces (each was verified after its writes finished), fdatasync every file written so
 * far, check no file vanished or shrank, then replace the resume file atomically. So every piece
 * the file claims was on disk before the file was renamed into place. One save at a time.
 */
export class ResumeSaver {
  readonly #store: PieceStore;
  readonly #path: string;
  readonly #have: () => Bitfield;
  #running: Promise<number> | undefined;
  /** Verified pieces in the last saved file. */
  saved = -1;

  constructor(store: PieceStore, path: string, have: () => Bitfield) {
    this.#store = store;
    this.#path = path;
    this.#have = have;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Saves now (after a save already running); resolves with the number of pieces claimed. */
  async save(): Promise<number> {
    while (this.#running !== undefined) await this.#running.catch(() => {});
    this.#running = this.#save();
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  async #save(): Promise<number> {
    const live = this.#have();
    const have = new Bitfield(live.size, live.bytes);
    const store = this.#store;
    const stateDir = dirname(this.#path);
    await makeDirectories(dirname(stateDir), [STATE_DIR]);
    await store.flush();
    await store.checkFiles();
    // A file not created yet has no stamp (null, as a missing file): its pieces are not claimed —
    // every piece claimed was written, or found on disk — and a restart skips them unhashed.
    const files = await stampsOf(store.paths.map((p, i) => (store.isOnDisk(i) ? p : null)));
    const partsPath = store.isOnDisk(store.torrent.files.length) ? store.partsPath : null;
    const parts = { stamp: await stampOf(partsPath), sharedPieces: store.layout?.sharedPieces ?? [] };
    await writeResumeFile(store.torrent, this.#path, { have, files, parts });
    this.saved = have.count;
    return have.count;
  }
}

/**
 * The stamps of `paths`, FILE_LANES stats at a time: a resume save of a 131,072-file torrent ran
 * every stat at once (a promise and a bigint Stats each) and peaked at ~640 MB.
 */
async function stampsOf(paths: readonly (string | null)[]): Promise<FileStamp[]> {
  const stamps: FileStamp[] = new Array(paths.length).fill(null);
  const look = paths.flatMap((p, i) => (p === null ? [] : [i]));
  await inLanes(look.length, FILE_LANES, async (k) => {
    stamps[look[k]!] = await stampOf(paths[look[k]!]!);
  });
  return stamps;
}
