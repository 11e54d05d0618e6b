/**
 * A one-line progress bar on a terminal's stderr, redrawn in place (`\r`, erase to end of line).
 * Silent when the stream is not a TTY, so pipes and logs get only the final result lines.
 * Redraws at most every `minIntervalMs`, except the first and the completing update.
 */

export interface ProgressLine {
  /** `done` of `total` units; `label` follows the bar (e.g. "12.0 MiB of 40.0 MiB"). */
  update(done: number, total: number, label?: string): void;
  /** Erases the line (on a TTY), so what follows starts clean. */
  finish(): void;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): boolean;
}

const BAR_WIDTH = 30;

export function createProgressLine(
  stream: ProgressStream = process.stderr,
  options: { minIntervalMs?: number; now?: () => number } = {},
): ProgressLine {
  if (stream.isTTY !== true) return { update() {}, finish() {} };
  const minInterval = options.minIntervalMs ?? 100;
  const now = options.now ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(done, total, label = '') {
      const t = now();
      if (done < total && t - last < minInterval) return;
      last = t;
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      const percent = `${(fraction * 100).toFixed(1)}%`.padStart(6);
      let line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ${label}`;
      if (stream.columns !== undefined && line.length >= stream.columns)
        line = line.slice(0, stream.columns - 1);
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
