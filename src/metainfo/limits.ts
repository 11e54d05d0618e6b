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
/** Most files in one torrent (padding files included). */
export const MAX_FILES = 262_144;
/** Most path components of one file (the torrent's own folder not counted). */
export const MAX_PATH_DEPTH = 64;
/** Longest path component, in UTF-8 bytes: NAME_MAX of ext4, NTFS, APFS. */
export const MAX_PATH_COMPONENT_BYTES = 255;
/** Longest path of one file, in UTF-8 bytes, components joined by `/` (PATH_MAX on Linux). */
export const MAX_PATH_BYTES = 4096;

/**
 * Most bencoded values (integers, strings, lists, dictionaries, dictionary keys; a closing `e` is
 * not one) in one .torrent, counted before any is built (libtorrent: `max_decode_tokens`
 * 3,000,000, which counts each closing `e` too).
 *
 * Derived from the limits above so that every torrent they allow still decodes: no part of a
 * torrent we read packs more values per byte than a file entry whose path has MAX_PATH_DEPTH
 * one-byte components, `d6:lengthi0e4:pathl1:a…1:aee`: 5 + 64 values in 21 + 3 × 64 bytes (a
 * shallower path has fewer per byte, and a tracker URL or a hash one per many bytes). A file of
 * MAX_TORRENT_FILE_BYTES of those is the most a torrent can need: 3,396,797 values, plus a margin
 * for the root's keys. test/unit/metainfo/torrent-limits.test.ts builds that torrent. Past it, the
 * values are not the torrent's: 10 MB of `de` is 5 million of them.
 */
export const MAX_TORRENT_TOKENS =
  Math.ceil((MAX_TORRENT_FILE_BYTES * (5 + MAX_PATH_DEPTH)) / (21 + 3 * MAX_PATH_DEPTH)) + 1024;
