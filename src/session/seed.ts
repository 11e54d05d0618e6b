/**
 * `seed(torrent, options)`: serve a torrent's data that is already on disk. The data is hash-checked
 * first (`checking` / `checked` events); pieces that match are served, the rest are not (as
 * libtorrent does: seed what matches; pieces that do not are fetched from peers that have them,
 * like a resumed download, and the session seeds on). Every file must be there at its torrent
 * size, or seed() refuses with one line (SeedError, badInput) before opening anything — so no
 * file is ever created or truncated; it refuses too when no piece matches. Then it is the
 * download session in its `seeding` state: announce (left=0), accept peers, dial `peers`, serve
 * until stop().
 *
 *   const job = seed(torrent, { data: 'downloads', peers: [{ host: '127.0.0.1', port: 51413 }] });
 *   await job.stop(); // peers closed, trackers told `stopped`
 *
 * Several torrents on one port: seedMany (seed-many.ts), each of them this session with the port,
 * the UDP socket, the DHT node and the upload limit lent.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Torrent } from '../metainfo/torrent.js';
import type { PeerAddress } from '../net/address.js';
import { fileLocations } from '../storage/layout.js';
import { PieceStore } from '../storage/piece-store.js';
import { asLaidOut } from './as-laid-out.js';
import { type DownloadJob, startSession } from './download.js';
import type { DownloadOptions } from './download-options.js';

export class SeedError extends Error {
  override readonly name = 'SeedError';
  readonly badInput = true;
  constructor(
    readonly code: 'missingFile' | 'wrongSize' | 'nothingMatches' | 'duplicateTorrent' | 'noTorrent',
    message: string,
    readonly details: { path?: string; expected?: number; actual?: number } = {},
  ) {
    super(message);
  }
}

export interface SeedOptions
  extends Omit<DownloadOptions, 'out' | 'keepSeeding' | 'seedRatio' | 'seedTimeMs' | 'stallTimeoutMs'> {
  /** The folder that holds the torrent's `<name>` (what `download --out` was given). */
  readonly data: string;
  /** Leechers to dial (for clients that take no loopback peers from trackers, e.g. Transmission). */
  readonly peers?: readonly PeerAddress[];
}

/** Every file present at its torrent size, or a SeedError naming the first that is not. */
export async function checkDataFiles(torrent: Torrent, data: string): Promise<void> {
  const locations = fileLocations(torrent, resolve(data));
  for (const [i, loc] of locations.entries()) {
    const f = torrent.files[i]!;
    if (f.padding) continue;
    const st = await stat(loc.path).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      // Renamed (src/metainfo/case-collisions.ts): data another tool wrote keeps the torrent's name.
      const renamed =
        f.renamedFrom === undefined
          ? ''
          : ` (the torrent's ${f.renamedFrom.join('/')}, renamed: another file has its name but for case)`;
      throw new SeedError('missingFile', `no data to seed: ${loc.path} is missing${renamed}`, {
        path: loc.path,
      });
    }
    if (st.size !== f.length)
      throw new SeedError(
        'wrongSize',
        `${loc.path} is ${st.size} bytes, the torrent says ${f.length}: not this torrent's data`,
        { path: loc.path, expected: f.length, actual: st.size },
      );
  }
}

export function seed(torrent: Torrent, options: SeedOptions): DownloadJob {
  const { data, ...rest } = options;
  return startSession(torrent, { ...rest, out: data, keepSeeding: true }, async (emit) => {
    const laidOut = await asLaidOut(torrent, data);
    await checkDataFiles(laidOut, data);
    const store = await PieceStore.open(laidOut, data);
    try {
      let lastReport = 0;
      const have = await store.checkPieces((checked, total) => {
        const now = performance.now();
        if (checked === total || now - lastReport >= 200) {
          lastReport = now;
          emit({ type: 'checking', checked, total });
        }
      });
      emit({ type: 'checked', have: have.count, pieceCount: torrent.pieceCount });
      if (have.count === 0)
        throw new SeedError('nothingMatches', `no piece of ${torrent.name} in ${data} matches the torrent`);
      return { store, have };
    } catch (err) {
      await store.close();
      throw err;
    }
  });
}
