/**
 * The typed, immutable view of a v1 .torrent file (BEP 3). Produced only by `parseTorrent()`
 * (src/metainfo/parse-torrent.ts), which validates every field; everything else takes this type.
 */

/** One file of the payload, in the order of the info dictionary. */
export interface TorrentFile {
  /**
   * Path components relative to the torrent's root folder (multi-file) or `[name]` (single-file),
   * where the file lands on disk. Each checked safe; no two equal but for case (see `renamedFrom`).
   */
  readonly path: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the concatenated payload. */
  readonly offset: number;
  /** BEP 47 padding file ("attr" contains "p"): not written to disk. */
  readonly padding: boolean;
  /**
   * The path as the torrent names it, when `path` differs: this one would share a file with
   * another on a case-insensitive file system, so `path` is renamed (`readme.1`;
   * src/metainfo/case-collisions.ts). Absent otherwise.
   */
  readonly renamedFrom?: readonly string[];
}

export interface Torrent {
  /** SHA-1 of the info dictionary's raw bytes as they stand in the file. 20 bytes. */
  readonly infoHash: Uint8Array;
  /** `infoHash` as 40 lower-case hex characters. */
  readonly infoHashHex: string;
  readonly name: string;
  readonly pieceLength: number;
  /** Number of pieces: ceil(totalLength / pieceLength). */
  readonly pieceCount: number;
  /** The concatenated 20-byte SHA-1 piece hashes (pieceCount × 20 bytes). Use `pieceHash()` for one. */
  readonly pieces: Uint8Array;
  /** True when the info dictionary has a `files` list (the payload is a folder named `name`). */
  readonly multiFile: boolean;
  readonly files: readonly TorrentFile[];
  readonly totalLength: number;
  readonly announce: string | undefined;
  /**
   * BEP 12 tiers. When the file has no announce-list this is `[[announce]]` (or `[]` without
   * announce). Each URL once (in its first tier), at most MAX_TRACKERS of them (limits.ts).
   */
  readonly announceList: readonly (readonly string[])[];
  /**
   * Distinct URLs of the announce-list past the first MAX_TRACKERS distinct ones, left out (each
   * counted once; past 65,536 of them a repeat may count again); absent when none.
   */
  readonly ignoredTrackers?: number;
  readonly private: boolean;
  /** BEP 19 web seeds (downloaded from: docs/web-seeds.md): each once, at most MAX_WEB_SEEDS (limits.ts). */
  readonly urlList: readonly string[];
  /** Distinct web seeds past the first MAX_WEB_SEEDS distinct ones, left out (as ignoredTrackers); absent when none. */
  readonly ignoredWebSeeds?: number;
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
  /** Seconds since the Unix epoch, as in the file. */
  readonly creationDate: number | undefined;
  /** The info dictionary's raw bytes (for BEP 9 metadata serving later). */
  readonly infoBytes: Uint8Array;
}

/** Length of piece `index` (the last piece may be shorter). */
export function pieceLengthAt(
  t: Pick<Torrent, 'pieceLength' | 'pieceCount' | 'totalLength'>,
  index: number,
): number {
  if (index === t.pieceCount - 1) return t.totalLength - t.pieceLength * (t.pieceCount - 1);
  return t.pieceLength;
}

/** The 20-byte SHA-1 of piece `index`, a view (no copy). */
export function pieceHash(t: Pick<Torrent, 'pieces'>, index: number): Uint8Array {
  return t.pieces.subarray(index * 20, index * 20 + 20);
}
