/**
 * A big payload that costs little disk: a sparse file where every piece starts with a 32-byte stamp
 * (seed, piece index) so no two pieces are equal — a piece written at the wrong place fails its
 * hash — and one pseudo-random 16 KiB block every 64 MiB; the rest is holes, read back as zeros.
 * An 8 GiB payload takes ~40 MiB on disk (a page per piece) and is made in a second or two.
 */

import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xorshiftBytes } from '../../test/interop/harness/payload.js';

const RANDOM_EVERY = 64 * 2 ** 20;
const RANDOM_BLOCK = 16 * 1024;

function randomBlock(seed: number): Buffer {
  return xorshiftBytes(RANDOM_BLOCK, seed ^ 0x5bd1e995);
}

/** Writes dir/name (sparse) unless the same one is already there; returns its path. */
export async function sparsePayload(opts: {
  readonly dir: string;
  readonly name: string;
  readonly size: number;
  readonly pieceLength: number;
  readonly seed: number;
}): Promise<string> {
  const path = join(opts.dir, opts.name);
  const marker = `${path}.complete`;
  const stamp = JSON.stringify({
    size: opts.size,
    pieceLength: opts.pieceLength,
    seed: opts.seed,
    format: 1,
  });
  if (existsSync(marker) && existsSync(path) && (await readFile(marker, 'utf8')) === stamp) return path;
  await mkdir(opts.dir, { recursive: true });
  await rm(path, { force: true });
  const fh = await open(path, 'w');
  try {
    await fh.truncate(opts.size);
    const header = Buffer.alloc(32);
    for (let at = 0, index = 0; at < opts.size; at += opts.pieceLength, index++) {
      header.fill(0);
      header.write('bitstate-sparse', 0, 'latin1');
      header.writeUInt32LE(opts.seed >>> 0, 16);
      header.writeDoubleLE(index, 20);
      await fh.write(header, 0, Math.min(header.length, opts.size - at), at);
    }
    for (let at = RANDOM_EVERY / 2, n = 0; at + RANDOM_BLOCK <= opts.size; at += RANDOM_EVERY, n++) {
      await fh.write(randomBlock(opts.seed + n), 0, RANDOM_BLOCK, at);
    }
  } finally {
    await fh.close();
  }
  await writeFile(marker, stamp);
  return path;
}
