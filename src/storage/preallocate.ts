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
 */
import { spawn } from 'node:child_process';

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
 * Allocates bytes [0, length) of the open file `fd`. The child inherits a duplicate of `fd` as
 * its descriptor 3 while `spawn` returns (libuv waits for the exec), so the caller may close `fd`
 * at once; the promise settles when the tool exits. Never rejects.
 */
export function preallocate(fd: number, length: number, tool = FALLOCATE_TOOL): Promise<PreallocateResult> {
  if (process.platform !== 'linux') return Promise.resolve('unavailable');
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(tool, ['--keep-size', '--length', String(length), '/dev/fd/3'], {
        stdio: ['ignore', 'ignore', 'ignore', fd],
      });
    } catch {
      resolve('unavailable');
      return;
    }
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' || err.code === 'EACCES' ? 'unavailable' : 'failed'),
    );
    child.once('exit', (code) => resolve(code === 0 ? 'allocated' : 'failed'));
  });
}
