/**
 * Positional reads and writes on one open file that finish the job: the OS may move fewer bytes
 * than asked (signals, quotas, the end of the file), so each call loops until all is done.
 */
import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { StorageError } from './storage-error.js';
import type { WriteMode } from './write-mode.js';

/**
 * One positional writev of a run of blocks at `position`, looping over short writes: on this
 * thread when `mode` says so (write-mode.ts), else on libuv's thread pool.
 */
export async function writeRunAt(
  h: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
  path: string | undefined,
  mode?: WriteMode,
): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let bytesWritten: number;
  if (mode?.sync === true) {
    const startedAt = mode.start();
    try {
      bytesWritten = writevSync(h.fd, buffers as Uint8Array[], position);
    } catch (e) {
      throw StorageError.fromSystem(e, 'cannot write', path);
    } finally {
      mode.wrote(startedAt);
    }
  } else {
    mode?.pooled();
    ({ bytesWritten } = await h.writev(buffers, position).catch((e) => {
      throw StorageError.fromSystem(e, 'cannot write', path);
    }));
  }
  // A short writev (rare: signals, quotas): write the rest from where it stopped.
  let skip = bytesWritten;
  for (const b of buffers) {
    if (bytesWritten >= total) break;
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    for (let off = skip; off < b.length; ) {
      const r = await h.write(b, off, b.length - off, position + bytesWritten).catch((e) => {
        throw StorageError.fromSystem(e, 'cannot write', path);
      });
      off += r.bytesWritten;
      bytesWritten += r.bytesWritten;
    }
    skip = 0;
  }
}

/**
 * Reads up to `length` bytes into `buf` from file position `position`; returns the bytes read
 * (fewer only at the end of the file).
 */
export async function readAt(
  h: FileHandle,
  buf: Uint8Array,
  length: number,
  position: number,
  path: string | undefined,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await h.read(buf, done, length - done, position + done).catch((e) => {
      throw StorageError.fromSystem(e, 'cannot read', path);
    });
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
