/**
 * Super-seeding (BEP 16) is for a full seed (docs/seeding.md): the `superSeed` option where it
 * could never apply is refused before the session opens anything, as a bad input (CLI exit 2).
 * Where it only waits — `seed()` of data missing some pieces, which it fetches first — it is not.
 */
import type { DownloadOptions } from './download-options.js';

export class SuperSeedError extends Error {
  override readonly name = 'SuperSeedError';
  readonly badInput = true;
  constructor(
    readonly code: 'notSeeding' | 'partialSeed',
    message: string,
  ) {
    super(message);
  }
}

/** A SuperSeedError when `superSeed` is asked where it can never apply; else nothing. */
export function checkSuperSeed(
  options: Pick<DownloadOptions, 'superSeed' | 'keepSeeding' | 'selected'>,
): void {
  if (options.superSeed !== true) return;
  // Without seeding the session ends when the download does: it never serves as a seed.
  if (options.keepSeeding !== true)
    throw new SuperSeedError('notSeeding', 'super-seeding needs seeding: --super-seed goes with --seed');
  // A selection of some files makes a partial seed (BEP 21), which has pieces to hide but not all.
  if (options.selected?.includes(false) === true)
    throw new SuperSeedError(
      'partialSeed',
      "super-seeding is for a full seed: not with --select / --only (or a magnet link's so=)",
    );
}
