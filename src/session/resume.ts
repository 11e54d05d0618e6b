/**
 * Resume for a download (docs/resume.md): open the store, decide from the resume file which pieces
 * are already verified and which must be hashed again, and save the resume file as pieces are
 * verified — never claiming a piece whose bytes are not durably on disk.
 */

import { dirname, resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import type { BlockPool } from '../net/block-pool.js';
import { Bitfield } from '../picker/bitfield.js';
import { makeDirectories } from '../storage/layout.js';
import { partsLayout, pieceRangeOf, wantedPieces } from '../storage/parts-layout.js';
import { PieceStore } from '../storage/piece-store.js';
import { readResumeFile, resumeFilePath, writeResumeFile } from '../storage/resume-file.js';
import { STATE_DIR, stateDirOf } from '../storage/store-files.js';
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

export function resumePathFor(torrent: Torrent, out: string): string {
  return resumeFilePath(torrent, stateDirOf(out));
}

/**
 * Opens the store for `torrent` under `out` and finds what is already there:
 * - resume file valid: pieces it claims are trusted where every file they touch has the size and
 *   mtime recorded; the pieces of files that changed (a crash after the save, an edit) are hashed;
 * - resume file missing, corrupt or `recheck`: every wanted piece whose files existed is hashed.
 * The store's open looks at each file once (store-files.ts): its stamp is compared with the
 * recorded one before anything is resized (short files are extended; missing ones are created at
 * their first write), and a file longer than the torrent's is cut only when the resume file
 * records it as it is, as ours. A file not on disk has no stamp: the pieces it touches are neither
 * trusted nor hashed.
 */
export async function openResumed(
  torrent: Torrent,
  opts: ResumeOptions,
  emit: (e: DownloadEvent) => void,
): Promise<ResumedStore> {
  const root = resolve(opts.out);
  const selected = opts.selected ?? torrent.files.map(() => true);
  const layout = partsLayout(torrent, selected);
  const stored = torrent.files.map((f, i) => !f.padding && selected[i] === true);
  // Read even for `recheck`: it does not say which pieces are there then, but still which files
  // are bitstate's own — recorded, and unchanged since (same size and mtime): only those may be
  // cut to their torrent length (store-files.ts). A file replaced or grown since is someone's.
  const read = await readResumeFile(torrent, resumePathFor(torrent, root));
  const store = await PieceStore.open(torrent, root, {
    selected,
    ...(read.ok ? { recorded: [...read.state.files, read.state.parts.stamp] } : {}),
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
    stored.forEach((isStored, i) => {
      if (!isStored) return;
      const range = pieceRangeOf(torrent, i);
      const found = store.foundAtOpen(i);
      if (found === 'absent') markRange(range, 2);
      else if (trusted === undefined || found !== 'asRecorded') markRange(range, 1);
    });
    // The parts file (selective download only), after the torrent's files.
    const parts = layout.sharedPieces.length > 0 ? store.foundAtOpen(torrent.files.length) : 'absent';
    const sameParts =
      trusted !== undefined &&
      parts === 'asRecorded' &&
      trusted.parts.sharedPieces.join() === layout.sharedPieces.join();
    for (const p of layout.sharedPieces)
      mark[p] = Math.max(mark[p]!, parts === 'absent' ? 2 : sameParts ? 0 : 1);
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
 * far, check no file vanished or shrank and stamp the files (one look each, only at the files
 * changed since their last look unless `everyFile`: PieceStore.stampFiles), then replace the resume
 * file atomically. So every piece the file claims was on disk before the file was renamed into
 * place. One save at a time.
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

  /**
   * Saves now (after a save already running); resolves with the number of pieces claimed.
   * `everyFile`: look at every file on disk for removal, not only those changed since their last
   * look (the last save of a run).
   */
  async save(opts: { readonly everyFile?: boolean } = {}): Promise<number> {
    while (this.#running !== undefined) await this.#running.catch(() => {});
    this.#running = this.#save(opts.everyFile === true);
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  async #save(everyFile: boolean): Promise<number> {
    const live = this.#have();
    const have = new Bitfield(live.size, live.bytes);
    const store = this.#store;
    const stateDir = dirname(this.#path);
    await makeDirectories(dirname(stateDir), [STATE_DIR]);
    await store.flush();
    // A file not created yet has no stamp (null, as a missing file): its pieces are not claimed —
    // every piece claimed was written, or found on disk — and a restart skips them unhashed.
    const stamps = await store.stampFiles({ everyFile });
    const n = store.torrent.files.length;
    const files = stamps.slice(0, n);
    const parts = { stamp: stamps[n] ?? null, sharedPieces: store.layout?.sharedPieces ?? [] };
    await writeResumeFile(store.torrent, this.#path, { have, files, parts });
    this.saved = have.count;
    return have.count;
  }
}
