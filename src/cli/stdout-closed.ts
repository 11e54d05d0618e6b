/**
 * The program reading our output went away (`bitstate seed --json | head`): the next write to
 * stdout fails with EPIPE. Unhandled, that is an 'error' event Node turns into a stack trace and
 * exit 1 in the middle of whatever the command was doing. Here it becomes what SIGPIPE is to a C
 * program, but clean: a long command (download, seed) stops as on Ctrl-C — trackers told, files
 * flushed, resume saved — through onStopSignal; any other command exits at once with
 * ExitCode.outputClosed (128 + SIGPIPE, what a shell reports for `yes | head`). Every later write
 * error is swallowed: there is no one left to read it.
 */
import { ExitCode } from './exit-code.js';

const listeners = new Set<() => void>();
let closed = false;

/** Installs the stdout error handler (once, at the CLI's start). */
export function watchStdout(): void {
  process.stdout.on('error', () => {
    if (closed) return;
    closed = true;
    if (listeners.size === 0) process.exit(ExitCode.outputClosed);
    for (const l of [...listeners]) l();
  });
}

/** `cb` when stdout's reader goes away; answers the function that stops listening. */
export function onStdoutClosed(cb: () => void): () => void {
  listeners.add(cb);
  return () => listeners.delete(cb);
}
