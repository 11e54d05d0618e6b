/**
 * The named limits a .torrent is checked against before anything is allocated from it. Each is
 * explained in docs/metainfo.md; the figures follow libtorrent's `load_torrent_limits` where it has
 * one, and what a file system can hold where it does not.
 */

/** Largest .torrent file read: 10 MiB (libtorrent's `max_buffer_size` is 10,000,000 bytes). */
export const MAX_TORRENT_FILE_BYTES = 10 * 1024 * 1024;
/**
 * Largest .torrent `createTorrent` writes: libtorrent's `max_buffer_size`, so that what we make
 * loads there too (and in bitstate, whose read limit is a little higher).
 */
export const MAX_CREATED_TORRENT_BYTES = 10_000_000;
/** Most pieces (libtorrent: `max_pieces` 0x200000). */
export const MAX_PIECES = 0x200000;
/** Largest piece length: a piece may have to be held whole for verification. */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024;
/**
 * Longest file of a v2 torrent (BEP 52): libtorrent numbers a file's 16 KiB merkle leaves with an
 * `int` and refuses a file of 2^30 - 1 blocks or more ("invalid length"), so one past this is a
 * torrent no libtorrent client (qBittorrent, Deluge) can load or seed. About 16 TiB.
 */
export const MAX_V2_FILE_LENGTH = (2 ** 30 - 1) * 16 * 1024 - 1;
/**
 * Most bytes of a v2 torrent's paths spelled out: each file's path in UTF-8, components joined by
 * `/`, summed over its files. A `file tree` (BEP 52) names a folder once for all the files in it, so
 * 70 KB of tree can spell 10 MiB of paths and 6 MB of it 1 GB — which every path check, the
 * case-collision check, the storage layout and `bitstate info` then go through file by file (a
 * 6 MB torrent took 17 s to parse, and `info --json` ran out of string length). A v1 `files` list
 * spells every path, so no v1 or hybrid torrent under MAX_TORRENT_FILE_BYTES holds more than this:
 * the same payload as a hybrid would be too large for libtorrent (and bitstate) to load.
 */
export const MAX_V2_PATHS_BYTES = MAX_TORRENT_FILE_BYTES;
/** Most files in one torrent (padding files included, a v2 torrent's implicit ones too). */
export const MAX_FILES = 262_144;
/** Most path components of one file (the torrent's own folder not counted). */
export const MAX_PATH_DEPTH = 64;
/** Longest path component, in UTF-8 bytes: NAME_MAX of ext4, NTFS, APFS. */
export const MAX_PATH_COMPONENT_BYTES = 255;
/** Longest path of one file, in UTF-8 bytes, components joined by `/` (PATH_MAX on Linux). */
export const MAX_PATH_BYTES = 4096;
/**
 * Most distinct tracker URLs kept from an announce-list (BEP 12), across its tiers, the first ones
 * in order; the rest are counted and left out (`Torrent.ignoredTrackers`). The longest public
 * tracker lists people paste into torrents held 90–153 trackers (ngosang/trackerslist 2020–21);
 * libtorrent keeps a tracker's tier in 8 bits (256 tiers). libtorrent and Transmission keep every
 * URL: 300,000 tiers cost bitstate 231 MB to parse and 270 MB to start downloading before this.
 */
export const MAX_TRACKERS = 256;
/** Most distinct web seeds (BEP 19 `url-list`) kept, the first ones; the rest are counted, not kept. */
export const MAX_WEB_SEEDS = 256;

/**
 * Most bencoded values (integers, strings, lists, dictionaries, dictionary keys; a closing `e` is
 * not one) in one .torrent, counted before any is built (libtorrent: `max_decode_tokens`
 * 3,000,000, which counts each closing `e` too).
 *
 * Derived from the limits above so that every torrent they allow still decodes. No part of a
 * torrent we read packs more values per byte than its files at MAX_PATH_DEPTH one-byte components
 * (a shallower path has fewer per byte; a tracker URL or a piece hash one per many bytes), and the
 * densest of those is a v2-only torrent (BEP 52) of empty files whose `file tree` shares no folder;
 * a hybrid, which lists each file twice, is a little less dense:
 *
 *   v2 `file tree`    1:a d 1:a d … 1:a d0:d6:lengthi0eee e…e   2D + 4 values in 5D + 15 bytes
 *   v1 `files` entry  d6:lengthi0e4:pathl1:a…1:aee              5 + D values in 21 + 3D bytes
 *
 * So MAX_TORRENT_FILE_BYTES of v2 entries (132 values per 335 bytes at D = 64; a hybrid's: 201 per
 * 548) is the most a torrent we accept can need: 4,131,703, plus a margin for the root's keys.
 * torrent-limits.test.ts builds both. Past it, the values are not a torrent's: 10 MB of `de` is 5
 * million of them. (Empty folders in a `file tree`, `1:a d … e`, 2 values in 5 bytes, are skipped
 * as libtorrent skips them: they hold nothing, like a key nobody reads.)
 */
const V2_FILE_VALUES = 2 * MAX_PATH_DEPTH + 4;
const V2_FILE_BYTES = 5 * MAX_PATH_DEPTH + 15;
const HYBRID_FILE_VALUES = 5 + MAX_PATH_DEPTH + V2_FILE_VALUES;
const HYBRID_FILE_BYTES = 21 + 3 * MAX_PATH_DEPTH + V2_FILE_BYTES;
const DENSEST_VALUES_PER_BYTE = Math.max(
  V2_FILE_VALUES / V2_FILE_BYTES,
  HYBRID_FILE_VALUES / HYBRID_FILE_BYTES,
);
export const MAX_TORRENT_TOKENS = Math.ceil(MAX_TORRENT_FILE_BYTES * DENSEST_VALUES_PER_BYTE) + 1024;
