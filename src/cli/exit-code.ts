/** Process exit codes of the bitstate CLI. */
export const ExitCode = {
  ok: 0,
  /** The operation could not finish (no peers within --timeout, a disk error, a tracker that never answered). */
  failed: 1,
  /** Bad input: a malformed torrent, an unknown flag, a missing argument. */
  badInput: 2,
  /** Stopped by SIGINT (128 + 2), after a clean shutdown. */
  interrupted: 130,
  /** The program reading stdout went away (EPIPE), a command that cannot stop cleanly exits so (128 + SIGPIPE 13). */
  outputClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
