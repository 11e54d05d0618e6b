/**
 * The one error class of the storage domain. `code` is the discriminant; `errno` keeps the
 * system's code (ENOSPC, EACCES…) when there was one, `path` the file concerned.
 */

export type StorageErrorCode =
  /** The disk (or quota, or the process's file size limit: EFBIG) is full: ENOSPC, EDQUOT, EFBIG. */
  | 'noSpace'
  /** The file system refused: EACCES, EPERM, EROFS. */
  | 'permission'
  /** A path that would land outside the output folder ('..', an absolute path, a symlink out). */
  | 'pathEscape'
  /** A block or piece outside the torrent (index, begin, length not within the piece). */
  | 'badRange'
  /** The store was used after `close()`. */
  | 'closed'
  /** A hash worker died or could not start. */
  | 'worker'
  /** A file we write was deleted under us. */
  | 'fileRemoved'
  /** A file we write was cut shorter than its torrent length under us. */
  | 'fileTruncated'
  /**
   * Something at a file's path that bitstate will not resize: a file longer than the torrent's
   * that no resume file vouches for, or not a regular file (store-files.ts). Bad input.
   */
  | 'foreignFile'
  /** Any other I/O failure. */
  | 'io';

export interface StorageErrorDetails {
  readonly path?: string;
  readonly errno?: string;
  readonly cause?: unknown;
  /** True when the user's input is at fault (a torrent whose paths escape the output folder). */
  readonly badInput?: boolean;
}

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly path: string | undefined;
  readonly errno: string | undefined;
  readonly badInput: boolean;

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
    this.errno = details.errno;
    this.badInput = details.badInput ?? false;
  }

  /** Wraps a Node system error (or anything thrown by fs) as a StorageError, keeping errno and cause. */
  static fromSystem(err: unknown, action: string, path?: string): StorageError {
    if (err instanceof StorageError) return err;
    const errno = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
    const code: StorageErrorCode =
      errno === 'ENOSPC' || errno === 'EDQUOT' || errno === 'EFBIG'
        ? 'noSpace'
        : errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS'
          ? 'permission'
          : errno === 'ELOOP'
            ? 'pathEscape'
            : 'io';
    const reason = err instanceof Error ? err.message : String(err);
    return new StorageError(code, `${action}${path === undefined ? '' : ` ${path}`}: ${reason}`, {
      path,
      errno,
      cause: err,
      // A refused write is the disk's state, not the torrent's fault: exit 1 (issue #9), like ENOSPC.
      badInput: code === 'pathEscape',
    });
  }
}
