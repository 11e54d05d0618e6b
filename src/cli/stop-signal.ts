/**
 * Ctrl-C (SIGINT) and SIGTERM for a long command: the first one asks it to stop cleanly (trackers
 * told, files flushed, resume saved); a second one exits at once with 130, for a user who will
 * not wait. The reader of stdout going away (EPIPE: stdout-closed.ts) asks for the same clean stop.
 */
import { ExitCode } from './exit-code.js';
import { onStdoutClosed } from './stdout-closed.js';

export interface StopSignal {
  /** A signal has arrived. */
  readonly received: boolean;
  /** Stop listening (in a `finally`). */
  dispose(): void;
}

export function onStopSignal(stop: () => void): StopSignal {
  let received = false;
  const onSignal = () => {
    if (received) process.exit(ExitCode.interrupted);
    received = true;
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const offStdout = onStdoutClosed(() => {
    if (received) return;
    received = true;
    stop();
  });
  return {
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      offStdout();
    },
  };
}
