/**
 * A hash worker (worker_threads): it opens the torrent's files read-only itself and answers
 * `{ id, index }` with `{ id, ok }` — the main thread never touches piece bytes for verification,
 * so hashing at full speed leaves its event loop free for sockets. Reads go through the page
 * cache, where the main thread's pwrite just put them.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { FileMap } from './file-map.js';
import {
  HASH_CHUNK_BYTES,
  type HashJobSpec,
  hashMatches,
  hashPieceSync,
  pieceSegments,
  WORKER_READY,
} from './piece-hasher.js';

/** Files a worker keeps open at once. */
const WORKER_MAX_OPEN_FILES = 64;

export interface HashRequest {
  readonly id: number;
  readonly index: number;
}
export type HashReply =
  | { readonly id: number; readonly ok: boolean }
  | {
      readonly id: number;
      readonly error: { readonly message: string; readonly errno?: string; readonly path?: string };
    };

const spec = workerData as HashJobSpec;
const map = new FileMap(spec.files, spec.totalLength);
const chunk = new Uint8Array(HASH_CHUNK_BYTES);
const zeros = new Uint8Array(64 * 1024);
const fds = new Map<number, number>();
const onDisk = spec.onDisk;

function fdOf(fileIndex: number): number {
  const cached = fds.get(fileIndex);
  if (cached !== undefined) {
    fds.delete(fileIndex);
    fds.set(fileIndex, cached);
    return cached;
  }
  const path = spec.paths[fileIndex];
  if (path === null || path === undefined) throw new Error(`file ${fileIndex} has no path`);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  fds.set(fileIndex, fd);
  if (fds.size > WORKER_MAX_OPEN_FILES) {
    const [oldest, oldFd] = fds.entries().next().value as [number, number];
    fds.delete(oldest);
    closeSync(oldFd);
  }
  return fd;
}

parentPort?.on('message', (req: HashRequest) => {
  let reply: HashReply;
  try {
    const digest = hashPieceSync(
      spec,
      req.index,
      pieceSegments(spec, map, req.index),
      (fileIndex, buf, length, position) => {
        // A file the store has not created yet holds no data: zeros, as in PieceStore's own reads.
        if (onDisk !== undefined && Atomics.load(onDisk, fileIndex) === 0) {
          buf.fill(0, 0, length);
          return length;
        }
        return readSync(fdOf(fileIndex), buf, 0, length, position);
      },
      chunk,
      zeros,
    );
    reply = { id: req.id, ok: digest !== undefined && hashMatches(spec, req.index, digest) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    reply = {
      id: req.id,
      error: {
        message: err.message,
        ...(err.code ? { errno: err.code } : {}),
        ...(err.path ? { path: err.path } : {}),
      },
    };
  }
  parentPort?.postMessage(reply);
});

// Loaded and listening: the pool may send work here from now on without waiting (hash-pool.ts).
parentPort?.postMessage(WORKER_READY);
