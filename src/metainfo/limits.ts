/**
 * The named limits a .torrent is checked against before anything is allocated from it. Each is
 * explained in docs/metainfo.md; the figures follow libtorrent's `load_torrent_limits` where it has
 * one, and what a file system can hold where it does not.
 */

/** Largest .torrent file read (libtorrent: 10 MB `max_buffer_size`). */
export const MAX_TORRENT_FILE_BYTES = 10 * 1024 * 1024;
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
