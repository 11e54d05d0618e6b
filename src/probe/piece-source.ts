/**
 * The data the probe serves from (`bitstate probe --data DIR`): the torrent's files in DIR, laid out
 * as `download --out DIR` leaves them, hash-checked once at the start with bitstate's own storage
 * (PieceStore, as `seed()` does). Only the pieces that match their SHA-1 are announced and served;
 * a file missing or of the wrong size, or no piece matching, is the user's mistake (ProbeError,
 * exit 2). Nothing is ever written to DIR: every file is checked to be there at its size before the
 * store opens, and the probe only reads.
 */
import type { Torrent } from '../metainfo/torrent.js';
import { asLaidOut } from '../session/as-laid-out.js';
import { checkDataFiles, SeedError } from '../session/seed.js';
import { PieceStore } from '../storage/piece-store.js';
import { ProbeError } from './probe-error.js';

export interface PieceSource {
  readonly torrent: Torrent;
  /** The pieces whose data in DIR matches their SHA-1, ascending (never empty). */
  readonly pieces: readonly number[];
  /** The bytes of block (index, begin, length) of a piece in `pieces`. */
  readBlock(index: number, begin: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openPieceSource(torrent: Torrent, dir: string): Promise<PieceSource> {
  const laidOut = await asLaidOut(torrent, dir);
  try {
    await checkDataFiles(laidOut, dir);
  } catch (e) {
    if (e instanceof SeedError) throw new ProbeError('noData', e.message.replace(/^no data to seed: /, ''));
    throw e;
  }
  const store = await PieceStore.open(laidOut, dir);
  try {
    const have = await store.checkPieces();
    const pieces: number[] = [];
    for (let i = 0; i < torrent.pieceCount; i++) if (have.has(i)) pieces.push(i);
    if (pieces.length === 0)
      throw new ProbeError('badData', `no piece of ${torrent.name} in ${dir} matches the torrent`);
    return {
      torrent,
      pieces,
      readBlock: (index, begin, length) => store.readBlock(index, begin, length),
      close: () => store.close(),
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
