/**
 * When a session stops itself: the seeding limits (ratio, time) and the stall timeout. The world
 * tells the machine (`cmd.stop`) with the reason these return; a seeding stop ends `complete`.
 */
import type { DownloadOptions } from './download-options.js';

/** Why seeding should stop now (`seedRatio` checked before `seedTimeMs`), or undefined. */
export function seedStopReason(
  options: Pick<DownloadOptions, 'seedRatio' | 'seedTimeMs'>,
  uploaded: number,
  /** The data the session holds: its wanted pieces' bytes, padding left out (DataBytes.wanted). */
  dataLength: number,
  seedingMs: number,
): string | undefined {
  // The ratio counts the whole session's upload against the size of its data. Padding is never
  // served, so counting it would stretch the ratio: a v2 torrent of small files in 1 MiB pieces
  // could be mostly padding and never reach it.
  if (options.seedRatio !== undefined && uploaded >= options.seedRatio * dataLength)
    return `seed ratio ${options.seedRatio} reached`;
  if (options.seedTimeMs !== undefined && seedingMs >= options.seedTimeMs)
    return `seed time ${Math.round(options.seedTimeMs / 1000)} s reached`;
  return undefined;
}

/** Why a download that is not yet seeding should give up (no payload byte for too long), or undefined. */
export function stallStopReason(
  options: Pick<DownloadOptions, 'stallTimeoutMs'>,
  msSinceLastByte: () => number,
): string | undefined {
  if (options.stallTimeoutMs !== undefined && msSinceLastByte() > options.stallTimeoutMs)
    return `no data from any peer for ${Math.round(options.stallTimeoutMs / 1000)} s`;
  return undefined;
}
