/**
 * Turning any error into the CLI's one line. Domain errors carry `badInput: true` when the fault is
 * in what the user gave us (a malformed torrent, a bad flag); those exit with code 2.
 */
import { printable } from './printable.js';
import { UsageError } from './usage-error.js';

export function isBadInput(err: unknown): boolean {
  if (err instanceof UsageError) return true;
  if (typeof err === 'object' && err !== null && (err as { badInput?: unknown }).badInput === true)
    return true;
  // node:util parseArgs errors (unknown option, missing value)
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * The first line of an error's message (or of a failure message given as a string), made printable:
 * messages quote file names, paths and tracker replies, which must not drive the terminal.
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const first = err.message.split('\n')[0] ?? '';
    return printable(first.length > 0 ? first : err.name);
  }
  return printable(String(err).split('\n')[0] ?? 'unknown error');
}
