/**
 * The one error class of the metainfo domain: bencode syntax, .torrent validation, magnet URIs and
 * torrent creation from user input. `code` is the discriminant; `field` names the offending key
 * (e.g. `info.files[3].path`), `offset` the byte where the bencode decoder stopped. Every instance
 * is the user's input at fault, so `badInput` is always true (the CLI exits 2).
 */

export type MetainfoErrorCode =
  /** Not bencode at `offset` (a bad byte, a truncated value, `i-0e`, a leading zero…). */
  | 'bencode-syntax'
  /** Lists/dicts nested deeper than MAX_BENCODE_DEPTH. */
  | 'bencode-depth'
  /** More values than the caller's `maxTokens` (a .torrent: MAX_TORRENT_TOKENS; a peer's message). */
  | 'bencode-tokens'
  /** Bytes left after the root value (a peer's or a tracker's message; a .torrent may have them). */
  | 'bencode-trailing'
  /** An integer outside int64 (a .torrent takes 20 digits; its fields check their own ranges). */
  | 'bencode-integer-range'
  /** The same key twice in one dictionary. */
  | 'bencode-duplicate-key'
  /** The input is over a named size limit (file size, piece count, file count, path depth…). */
  | 'limit-exceeded'
  /** A required key is absent. */
  | 'missing-field'
  /** A key holds the wrong bencode type (a string where an integer belongs…). */
  | 'wrong-type'
  /** A key's value is out of its domain (a negative length, a piece length of 0…). */
  | 'invalid-value'
  /** A path component that could escape the download folder or that no file system accepts. */
  | 'unsafe-path'
  /** Two files with one path, or a file that is also another file's folder. */
  | 'duplicate-path'
  /** `pieces` does not hold ceil(total length / piece length) SHA-1 hashes. */
  | 'piece-count-mismatch'
  /** A magnet URI that is not one we can use. */
  | 'bad-magnet'
  /** `createTorrent` given something it cannot make a torrent of (no files, an empty payload…), or a path it cannot read. */
  | 'bad-source'
  /**
   * A well-formed torrent of a kind bitstate does not handle: BEP 52 `meta version` other than 2, or
   * a v2 torrent whose `piece layers` would have to be fetched from peers (BEP 52 hash requests).
   */
  | 'unsupported';

export interface MetainfoErrorDetails {
  readonly field?: string;
  readonly offset?: number;
  readonly limit?: number;
  readonly actual?: number;
  readonly cause?: unknown;
}

export class MetainfoError extends Error {
  override readonly name = 'MetainfoError';
  readonly badInput = true as const;
  readonly code: MetainfoErrorCode;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  readonly limit: number | undefined;
  readonly actual: number | undefined;

  constructor(code: MetainfoErrorCode, message: string, details: MetainfoErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.field = details.field;
    this.offset = details.offset;
    this.limit = details.limit;
    this.actual = details.actual;
  }
}
