/**
 * `sourceError(path, err)`: a file-system error on a path the user gave us (the .torrent to read,
 * the file or folder to make a torrent of) as one line that names the path. A path that is missing
 * or unsuitable (not found, a folder where a file belongs, no permission) is the user's input:
 * MetainfoError `bad-source` (exit 2 at the CLI). Anything else (EIO, EMFILE…) is the machine's:
 * a plain Error, exit 1. Node's own message names the syscall, not always the path the user typed.
 */
import { MetainfoError } from './metainfo-error.js';

const USER_INPUT = new Set([
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'ELOOP',
  'ENAMETOOLONG',
  'ENXIO',
]);

export function sourceError(path: string, err: unknown): Error {
  if (err instanceof MetainfoError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // "ENOENT: no such file or directory, stat '/x'" → "no such file or directory (ENOENT)"
  const reason =
    typeof code === 'string'
      ? `${message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+( '.*)?$/s, '')} (${code})`
      : message;
  const text = `cannot read ${path}: ${reason}`;
  if (typeof code === 'string' && USER_INPUT.has(code))
    return new MetainfoError('bad-source', text, { cause: err });
  return new Error(text, { cause: err });
}

/** A file name's bytes for a message: printable ASCII as it is, anything else as `\xNN`. */
export function escapeName(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes)
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  return out;
}
