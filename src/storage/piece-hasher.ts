/**
 * The hash of one piece read back from disk (SHA-1, or v2's merkle root: src/metainfo/piece-hash.ts), in bounded chunks (HASH_CHUNK_BYTES), never the whole
 * piece in memory: a 16 MiB piece costs the same 1 MiB buffer as a 256 KiB one. Padding files
 * (BEP 47) hash as zeros. Used by the hash workers (synchronous reads, on their own thread) and by
 * the in-thread fallback (`hashWorkers: 0`, asynchronous reads).
 */
import { createPieceHash, type PieceHash, type PieceHashSpec } from '../metainfo/piece-hash.js';
import { pieceHashLength, pieceLengthAt } from '../metainfo/torrent.js';
import type { FileMap, FileSegment } from './file-map.js';
import { type PartsLayout, redirectSegments } from './parts-layout.js';

/** What a hash worker posts once, when it has loaded and listens (hash-pool.ts waits for it). */
export const WORKER_READY = 'ready';

/** Bytes read per step while hashing. */
export const HASH_CHUNK_BYTES = 1 << 20;

/** What a hash worker needs to find and check any piece on its own (sent once, as workerData). */
export interface HashJobSpec extends PieceHashSpec {
  /**
   * Absolute path of each file; null for padding (and unselected) files. With a `layout`, one more
   * entry at index `files.length`: the parts file (parts-layout.ts).
   */
  readonly paths: readonly (string | null)[];
  /**
   * Per path, 1 once the file is on disk (store-files.ts: a SharedArrayBuffer the store updates as it
   * creates files); a file not on disk reads as zeros. Absent: every file is on disk.
   */
  readonly onDisk?: Uint8Array;
  /** Selective download: where unselected files' bytes of shared pieces are kept. */
  readonly layout?: PartsLayout;
  readonly files: readonly { readonly length: number; readonly offset: number; readonly padding: boolean }[];
  readonly totalLength: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Concatenated expected hashes (Torrent.pieces). */
  readonly pieces: Uint8Array;
}

export function pieceSegments(spec: HashJobSpec, map: FileMap, index: number): FileSegment[] {
  const segments = map.segments(index * spec.pieceLength, pieceLengthAt(spec, index));
  return spec.layout === undefined ? segments : redirectSegments(spec, spec.layout, segments);
}

export function hashMatches(spec: HashJobSpec, index: number, digest: Uint8Array): boolean {
  const n = pieceHashLength(spec);
  const expected = spec.pieces.subarray(index * n, index * n + n);
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).equals(expected);
}

/** Feeds `length` zero bytes to the hash, `zeros` at a time. */
function updateZeros(hash: PieceHash, zeros: Uint8Array, length: number): void {
  for (let left = length; left > 0; left -= zeros.length)
    hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
}

export type ReadSync = (fileIndex: number, buf: Uint8Array, length: number, position: number) => number;
export type ReadAsync = (
  fileIndex: number,
  buf: Uint8Array,
  length: number,
  position: number,
) => Promise<number>;

/** Returns the piece's hash, or undefined when a file is shorter than the torrent says. */
export function hashPieceSync(
  spec: PieceHashSpec,
  index: number,
  segments: readonly FileSegment[],
  read: ReadSync,
  chunk: Uint8Array,
  zeros: Uint8Array,
): Uint8Array | undefined {
  const hash = createPieceHash(spec, index);
  for (const s of segments) {
    if (s.padding) {
      updateZeros(hash, zeros, s.length);
      continue;
    }
    for (let done = 0; done < s.length; ) {
      const want = Math.min(chunk.length, s.length - done);
      const n = read(s.fileIndex, chunk, want, s.fileOffset + done);
      if (n <= 0) return undefined;
      hash.update(chunk.subarray(0, n));
      done += n;
    }
  }
  return hash.digest();
}

export async function hashPieceAsync(
  spec: PieceHashSpec,
  index: number,
  segments: readonly FileSegment[],
  read: ReadAsync,
  chunk: Uint8Array,
  zeros: Uint8Array,
): Promise<Uint8Array | undefined> {
  const hash = createPieceHash(spec, index);
  for (const s of segments) {
    if (s.padding) {
      updateZeros(hash, zeros, s.length);
      continue;
    }
    for (let done = 0; done < s.length; ) {
      const want = Math.min(chunk.length, s.length - done);
      const n = await read(s.fileIndex, chunk, want, s.fileOffset + done);
      if (n <= 0) return undefined;
      hash.update(chunk.subarray(0, n));
      done += n;
    }
  }
  return hash.digest();
}
