/**
 * The typed, immutable view of a .torrent file: v1 (BEP 3), v2 or hybrid (BEP 52). Produced only
 * by `parseTorrent()` (src/metainfo/parse-torrent.ts), which validates every field; everything else
 * takes this type. A v2-only torrent is laid out as libtorrent lays it out: each file starts at a
 * piece boundary, after an implicit BEP 47 padding file, so everything past the metainfo sees one
 * payload cut into pieces, as in v1; only how a piece is hashed differs (`pieceHashLength`,
 * src/metainfo/piece-hash.ts).
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
  /**
   * BEP 47 padding file ("attr" contains "p"), or the implicit padding that aligns a v2 torrent's
   * next file to a piece: not written to disk.
   */
  readonly padding: boolean;
  /**
   * The path as the torrent names it, when `path` differs: this one would share a file with
   * another on a case-insensitive file system, so `path` is renamed (`readme.1`;
   * src/metainfo/case-collisions.ts). Absent otherwise.
   */
  readonly renamedFrom?: readonly string[];
}

/**
 * BEP 52: `v1` (`pieces`, no `meta version`), `v2` (`meta version` 2, a `file tree` and `piece
 * layers`, no `pieces`) or `hybrid` (both; its payload used through its v1 keys, in both its swarms:
 * v2SwarmHash).
 */
export type TorrentVersion = 'v1' | 'v2' | 'hybrid';

export interface Torrent {
  readonly version: TorrentVersion;
  /**
   * The swarm's name, 20 bytes: SHA-1 of the info dictionary's raw bytes as they stand in the file
   * (v1, hybrid), or the first 20 bytes of their SHA-256 (v2, as BEP 52 truncates it for the
   * handshake, trackers and the DHT).
   */
  readonly infoHash: Uint8Array;
  /** SHA-256 of the info dictionary's raw bytes (v2 and hybrid; absent for v1). 32 bytes. */
  readonly infoHashV2?: Uint8Array;
  /** `infoHash` as 40 lower-case hex characters. */
  readonly infoHashHex: string;
  readonly name: string;
  readonly pieceLength: number;
  /** Number of pieces: ceil(totalLength / pieceLength). */
  readonly pieceCount: number;
  /**
   * Each piece's expected hash, concatenated (pieceCount × `pieceHashLength()` bytes; `pieceHash()`
   * for one): v1 and hybrid the 20-byte SHA-1s of `pieces`; v2 the 32-byte merkle roots of its
   * `piece layers`, or a file's `pieces root` for its one piece when it is no longer than a piece.
   */
  readonly pieces: Uint8Array;
  /**
   * A hybrid's `piece layers` (BEP 52) laid on its pieces as a v2 torrent's `pieces` are: one 32-byte
   * hash a piece (a file of one piece or less: its `pieces root`; padding: zeros), each file's checked
   * against its `pieces root`. Not used to check pieces (the v1 SHA-1s are): kept to answer the hash
   * requests of its v2 peers (src/metainfo/piece-layer-trees.ts). Absent for v1 and v2 torrents (a
   * v2 one's `pieces` are these) and for a hybrid whose .torrent has no `piece layers`.
   */
  readonly pieceLayers?: Uint8Array;
  /**
   * True when the payload is a folder named `name`: the info dictionary has a `files` list (v1,
   * hybrid), or its v2 `file tree` is more than one file at its top.
   */
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

/**
 * A hybrid's second swarm (BEP 52): the first 20 bytes of its SHA-256 info-hash, under which it is
 * announced (trackers, DHT) and its peers' handshakes are accepted beside `infoHash` (its SHA-1 one),
 * as libtorrent does. Undefined for a v1 or v2 torrent: one swarm, `infoHash`.
 */
export function v2SwarmHash(t: Pick<Torrent, 'version' | 'infoHashV2'>): Uint8Array | undefined {
  return t.version === 'hybrid' ? t.infoHashV2?.subarray(0, 20) : undefined;
}

/** Bytes of one piece's hash in `pieces`: 20 (SHA-1) or 32 (v2's SHA-256 merkle root). */
export function pieceHashLength(t: Pick<Torrent, 'version'>): number {
  return t.version === 'v2' ? 32 : 20;
}

/** The expected hash of piece `index`, a view (no copy). */
export function pieceHash(t: Pick<Torrent, 'pieces' | 'version'>, index: number): Uint8Array {
  const n = pieceHashLength(t);
  return t.pieces.subarray(index * n, index * n + n);
}
