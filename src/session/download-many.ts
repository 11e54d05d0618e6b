/**
 * `downloadMany(torrents, options)`: download several torrents from one process, as aria2 takes
 * several .torrent files on one command line, each into `out/<its name>`. The host many-torrents.ts
 * keeps (seedMany's too): one listening port for all, each accepted connection going to the torrent
 * its handshake names (a plain info-hash, MSE's SKEY); one UDP socket (uTP, the DHT) and one DHT
 * node; `maxUploadRate` and `maxDownloadRate` one bucket each for every torrent (the client's
 * limits); `maxPeers` per torrent, `maxPeersGlobal` for the connections through the shared port.
 * Each torrent is download()'s session with these lent, and its events carry its `infoHash` (hex).
 *
 * All or nothing before the start: no torrent, two torrents with an info-hash in common, or two
 * that would write the same `out/<name>` are refused (DownloadManyError, badInput) before anything
 * opens. After it, a torrent that fails (a disk error, bad input found as its files open, the stall
 * timeout) stops alone: a `torrent.failed` event, the others go on. `done` resolves once every
 * torrent has ended: `complete` when all completed, `failed` (each failed torrent named) when any
 * failed, else `stopped` (stop(): each torrent stopped cleanly, resume files saved).
 *
 *   const job = downloadMany([a, b], { out: 'downloads' });
 *   job.events$.subscribe((e) => console.log(e.infoHash, e.type));
 *   const result = await job.done;
 */
import type { Torrent } from '../metainfo/torrent.js';
import { download } from './download.js';
import type { DownloadOptions } from './download-options.js';
import {
  type HostOptions,
  type ManyTorrentsEvent,
  type ManyTorrentsJob,
  runManyTorrents,
  sameTorrents,
} from './many-torrents.js';

export type DownloadManyEvent = ManyTorrentsEvent;
export type DownloadManyJob = ManyTorrentsJob;

export type DownloadManyOptions = Omit<
  DownloadOptions,
  | 'listen'
  | 'listener'
  | 'udp'
  | 'dhtNode'
  | 'uploadLimit'
  | 'downloadLimit'
  | 'inspect'
  | 'selected'
  | 'dialled'
  | 'peerDetail'
> &
  Pick<HostOptions, 'maxPeersGlobal'>;

export class DownloadManyError extends Error {
  override readonly name = 'DownloadManyError';
  readonly badInput = true;
  constructor(
    readonly code: 'noTorrent' | 'duplicateTorrent' | 'sameName',
    message: string,
  ) {
    super(message);
  }
}

/** Refused before anything starts: nothing to do, one swarm twice, two torrents writing one path. */
function check(torrents: readonly Torrent[]): void {
  if (torrents.length === 0) throw new DownloadManyError('noTorrent', 'no torrent to download');
  const same = sameTorrents(torrents);
  if (same !== undefined)
    throw new DownloadManyError(
      'duplicateTorrent',
      `${same.a} and ${same.b} are the same torrent (info-hash ${same.hash})`,
    );
  // Case folded: on a case-insensitive file system (macOS, Windows) `A` and `a` are one path.
  const names = new Map<string, string>();
  for (const t of torrents) {
    const key = t.name.toLowerCase();
    const before = names.get(key);
    if (before !== undefined)
      throw new DownloadManyError(
        'sameName',
        `two torrents are named ${t.name}${before === t.name ? '' : ` and ${before}`}: both would be saved in the same place`,
      );
    names.set(key, t.name);
  }
}

export function downloadMany(torrents: readonly Torrent[], options: DownloadManyOptions): DownloadManyJob {
  return runManyTorrents(torrents, options, {
    check: async () => check(torrents),
    start: (t, lent) => download(t, { ...options, ...lent }),
    result: (results) => {
      let elapsedMs = 0;
      for (const r of results) {
        if (r.result !== 'complete') return r; // stopped (a failure was reported by the host)
        elapsedMs = Math.max(elapsedMs, r.elapsedMs);
      }
      return { result: 'complete', elapsedMs };
    },
  });
}
