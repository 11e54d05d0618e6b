/**
 * Preallocation: the disk space of a file about to be downloaded, reserved at once with
 * fallocate(2), as aria2 (`--file-allocation=falloc`) and Transmission (`preallocation`) do.
 *
 * Why (issue #8, docs/storage.md "Preallocation"):
 * - ext4 then maps each write to an extent it already has. A sparse file makes it reserve space
 *   and record a delayed extent for every 4 KiB page written, then allocate blocks in the
 *   writeback, under the lock the next writes wait for: ~0.1 CPU s of a 1 GiB download here.
 * - The file lies in few extents on disk, whatever order its pieces arrive in.
 * - A full disk shows at the first writes, not after gigabytes.
 *
 * Node has no fallocate binding, so this runs util-linux's `fallocate` on our own descriptor
 * (`/dev/fd/3`), never on the path: a symlink put at the path after our O_NOFOLLOW open cannot
 * redirect it. `--keep-size` makes it allocate only, never change the file's length, and mode 0
 * never changes a byte already written. Best effort: without the tool (macOS, a minimal image) or
 * the file system's support, the file stays sparse and the download goes on.
 *
 * Never fills the disk (docs/storage.md): only when the file system's free space (statfs) holds
 * every file to preallocate with PREALLOCATE_HEADROOM_BYTES to spare (`planPreallocation`); else
 * the files stay sparse, as libtorrent leaves them by default, and the caller says so. A fallocate
 * that fails part way (ENOSPC in a race, a quota statfs cannot see) keeps the blocks it got: they
 * are given back (`releaseAllocation`) while nothing was written to the file.
 */
import { spawn } from 'node:child_process';
import { ftruncateSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { inLanes } from './in-lanes.js';

/** What became of one file's preallocation. */
export type PreallocateResult =
  /** Every byte of the file has its disk space. */
  | 'allocated'
  /** No `fallocate` tool here (or not Linux): the file stays sparse. */
  | 'unavailable'
  /** The tool refused (the file system does not support it, or the disk is full). */
  | 'failed';

/**
 * Files smaller than this are left sparse. A `fallocate` process costs ~2 ms of CPU and saves ~0.1
 * ms per MiB written (~0.1 s per GiB): it pays from ~20 MiB, and a torrent of thousands of small
 * files must not start thousands of processes.
 */
export const PREALLOCATE_MIN_BYTES = 16 * 1024 * 1024;

/** How many `fallocate` processes a store runs at once. */
export const PREALLOCATE_CONCURRENCY = 4;

/** The tool, found on PATH: util-linux's `fallocate` (Debian, Fedora, Alpine with util-linux). */
export const FALLOCATE_TOOL = 'fallocate';

/**
 * Free space a preallocation must leave on its file system: room for the resume and parts files
 * and for every other program. Below it the files stay sparse (a download that does not fit fails
 * at its writes with `noSpace`, naming the file, as with `--no-preallocate`).
 */
export const PREALLOCATE_HEADROOM_BYTES = 64 * 1024 * 1024;

/** Whether to preallocate, and the figures that decided it. */
export interface PreallocationPlan {
  readonly allocate: boolean;
  /** Bytes the files to preallocate need. */
  readonly needBytes: number;
  /** Bytes free for this process on their file system (undefined: statfs could not tell). */
  readonly freeBytes: number | undefined;
}

/**
 * Preallocate `needBytes` only if the file system has them plus `headroom` free. Unknown free space
 * means no: a sparse file is always safe, a preallocation that fills the disk is not.
 */
export function planPreallocation(
  needBytes: number,
  freeBytes: number | undefined,
  headroom = PREALLOCATE_HEADROOM_BYTES,
): PreallocationPlan {
  const allocate = needBytes > 0 && freeBytes !== undefined && needBytes + headroom <= freeBytes;
  return { allocate, needBytes, freeBytes };
}

/** Bytes an unprivileged process may still write on the file system of `path` (f_bavail). */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const st = await statfs(path);
    return st.bavail * st.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Gives back every block of the open file `fd` (which must hold no data: a file created empty now
 * and never written) and leaves it sparse at `length`. Synchronous on purpose: the caller checks
 * that no write has started on the file and releases in the same turn of the event loop, so no
 * write can slip in between.
 */
export function releaseAllocation(fd: number, length: number): void {
  ftruncateSync(fd, 0);
  ftruncateSync(fd, length);
}

/**
 * Allocates bytes [0, length) of the open file `fd`. The child inherits a duplicate of `fd` as
 * its descriptor 3 while `spawn` returns (libuv waits for the exec), so the caller may close `fd`
 * at once; the promise settles when the tool exits. Never rejects.
 */
export function preallocate(
  fd: number,
  length: number,
  tool = FALLOCATE_TOOL,
  onError: (message: string) => void = () => {},
): Promise<PreallocateResult> {
  if (process.platform !== 'linux') return Promise.resolve('unavailable');
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(tool, ['--keep-size', '--length', String(length), '/dev/fd/3'], {
        stdio: ['ignore', 'ignore', 'pipe', fd],
      });
    } catch {
      resolve('unavailable');
      return;
    }
    // What the tool says ("fallocate: fallocate failed: No space left on device"), bounded.
    let said = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (said.length < 512) said += chunk.toString('utf8', 0, 512 - said.length);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      onError(err.message);
      resolve(err.code === 'ENOENT' || err.code === 'EACCES' ? 'unavailable' : 'failed');
    });
    child.once('close', (code) => {
      if (code !== 0 && code !== null) onError(said.trim().split('\n')[0] || `exit code ${code}`);
      if (code !== null) resolve(code === 0 ? 'allocated' : 'failed');
    });
    child.once('exit', (code, signal) => {
      if (code === null) {
        onError(`killed by ${String(signal)}`);
        resolve('failed');
      }
    });
  });
}

/** What became of a store's preallocation (a download reports it: `preallocation` event). */
export interface PreallocationReport {
  /**
   * `allocated`: every file; `skipped`: not tried, the free space is short (or unknown);
   * `failed`: some file's fallocate failed (its blocks given back unless written meanwhile);
   * `unavailable`: no tool here.
   */
  readonly outcome: 'allocated' | 'skipped' | 'failed' | 'unavailable';
  readonly files: number;
  readonly needBytes: number;
  readonly freeBytes: number | undefined;
  /** The tool's complaint, for `failed`. */
  readonly detail?: string;
}

/** What `preallocateFiles` needs of the store: its handles and whether a file was written. */
export interface PreallocationHost {
  /** Runs `fn` with the store's own open descriptor of `target` (never closed under it). */
  withFd<T>(target: number, fn: (fd: number) => Promise<T>): Promise<T>;
  /** True once any write to `target` has started. */
  written(target: number): boolean;
  /** True once the store is closing: no more files are started (past each worker's first). */
  closed(): boolean;
}

/**
 * Preallocates the files created empty now (of PREALLOCATE_MIN_BYTES or more) in `folder`'s file
 * system, PREALLOCATE_CONCURRENCY at a time, if `planPreallocation` says they fit. A file whose
 * fallocate fails has its blocks given back unless a write to it has started. Never rejects.
 */
export async function preallocateFiles(
  created: readonly { readonly target: number; readonly length: number }[],
  folder: string,
  host: PreallocationHost,
  tool = FALLOCATE_TOOL,
): Promise<PreallocationReport | undefined> {
  const big = created.filter((f) => f.length >= PREALLOCATE_MIN_BYTES);
  if (big.length === 0) return undefined;
  const plan = planPreallocation(
    big.reduce((n, f) => n + f.length, 0),
    await freeBytes(folder),
  );
  const figures = { files: big.length, needBytes: plan.needBytes, freeBytes: plan.freeBytes };
  if (!plan.allocate) return { outcome: 'skipped', ...figures };
  let failed: string | undefined;
  let unavailable = false;
  // Each lane's first file (indexes below PREALLOCATE_CONCURRENCY: inLanes starts one per lane) is
  // started even if the store is closing meanwhile (as when they were started at open); no more
  // after that.
  await inLanes(big.length, PREALLOCATE_CONCURRENCY, async (i) => {
    if (i >= PREALLOCATE_CONCURRENCY && host.closed()) return;
    const { target, length } = big[i]!;
    const result = await host
      .withFd(target, async (fd) => {
        let said = '';
        const r = await preallocate(fd, length, tool, (m) => {
          said = m;
        });
        if (r === 'failed') {
          failed ??= said;
          // Same turn as the check: no write can start in between (releaseAllocation).
          if (!host.written(target)) releaseAllocation(fd, length);
        }
        return r;
      })
      .catch(() => 'failed' as const);
    if (result === 'unavailable') unavailable = true;
  });
  if (failed !== undefined) return { outcome: 'failed', ...figures, detail: failed };
  return { outcome: unavailable ? 'unavailable' : 'allocated', ...figures };
}
