/**
 * Test helper: a Torrent object built straight from a payload and a file list (no bencode), so
 * storage tests can shape files freely — unaligned, tiny, zero-length, BEP 47 padding.
 */
import { createHash } from 'node:crypto';
import type { Torrent, TorrentFile } from '../../../src/metainfo/torrent.js';

export interface FileSpec {
  readonly path: readonly string[];
  readonly length: number;
  readonly padding?: boolean;
}

export function makeTorrent(
  name: string,
  specs: readonly FileSpec[],
  pieceLength: number,
  payload: Uint8Array,
  multiFile = true,
): Torrent {
  let offset = 0;
  const files: TorrentFile[] = specs.map((s) => {
    const f = { path: s.path, length: s.length, offset, padding: s.padding ?? false };
    offset += s.length;
    return f;
  });
  if (offset !== payload.length) throw new Error(`specs add to ${offset}, payload is ${payload.length}`);
  const pieceCount = Math.ceil(payload.length / pieceLength);
  const pieces = new Uint8Array(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++)
    pieces.set(
      createHash('sha1')
        .update(payload.subarray(i * pieceLength, (i + 1) * pieceLength))
        .digest(),
      i * 20,
    );
  const infoHash = new Uint8Array(createHash('sha1').update(name).digest());
  return {
    version: 'v1',
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    name,
    pieceLength,
    pieceCount,
    pieces,
    multiFile,
    files,
    totalLength: payload.length,
    announce: undefined,
    announceList: [],
    private: false,
    urlList: [],
    comment: undefined,
    createdBy: undefined,
    creationDate: undefined,
    infoBytes: new Uint8Array(0),
  };
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing test can be rerun as is. */
export function payloadBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A payload where padding-file ranges hold zeros, as BEP 47 requires. */
export function zeroPadding(payload: Uint8Array, specs: readonly FileSpec[]): Uint8Array {
  let offset = 0;
  for (const s of specs) {
    if (s.padding) payload.fill(0, offset, offset + s.length);
    offset += s.length;
  }
  return payload;
}

/** Fisher–Yates with a seeded generator. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const a = [...items];
  let x = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
