/**
 * `seedMany(torrents, options)`: seed several torrents from one process on one port, as
 * transmission-daemon, qBittorrent and rtorrent seed a library, on the host many-torrents.ts keeps
 * (downloadMany's too). One TCP listener and one UDP socket (uTP and the DHT) for all: each
 * accepted connection, TCP or uTP, goes to the torrent its handshake names — a plain handshake's
 * info-hash, MSE's SKEY (src/net/torrent-router.ts); one that names none of them is closed. One DHT node announces every torrent's info-hash(es) (a hybrid's
 * two); each torrent's trackers are its own, as in seed(). `maxUploadRate` is one token bucket for
 * all; `maxPeers` is per torrent (Transmission's `peer-limit-per-torrent`); `maxPeersGlobal` caps
 * the connections open through the shared port, all torrents together (Transmission's
 * `peer-limit-global`; default maxPeersGlobalOf). Each torrent is seed()'s
 * session over its data in `data/<its name>`, and every event it reports carries its `infoHash`
 * (hex), so a program reading `--json` can tell them apart; the DHT node's `dht.ready` carries none.
 *
 * All or nothing, as one command line: two torrents with an info-hash in common, or a torrent whose
 * files are not all there at their size, are refused (SeedError, badInput) before anything opens;
 * so is, once the port is open, a torrent none of whose pieces match (bad input found by its check:
 * every torrent stops and `done` rejects with its SeedError). A torrent that fails later (a disk
 * error: its data deleted, cut short or unreadable under it) stops alone, as transmission-daemon
 * keeps serving the rest: its session ends (its connections closed, its route gone, so a handshake
 * naming it is closed), a `torrent.failed` event says so with its infoHash, and the others seed on.
 * `done` resolves when no torrent is left — by `stop()`, or when the last one has failed — with
 * `failed` (each failed torrent named) if any failed, else as the torrents ended. `stop()` stops
 * every torrent still seeding (trackers told `stopped`, files closed), then the shared uTP
 * manager, the DHT node, the UDP socket and the listener: these are this job's, lent to the
 * torrents' sessions, and closed once, after the last torrent.
 *
 *   const job = seedMany([a, b], { data: 'library' });
 *   job.events$.subscribe((e) => console.log(e.infoHash, e.type));
 *   await job.stop();
 */
import type { Torrent } from '../metainfo/torrent.js';
import { asLaidOut } from './as-laid-out.js';
import type { DownloadResult } from './download.js';
import {
  type HostOptions,
  hostedTorrent,
  type ManyTorrentsEvent,
  type ManyTorrentsJob,
  runManyTorrents,
  sameTorrents,
} from './many-torrents.js';
import { checkDataFiles, SeedError, type SeedOptions, seed } from './seed.js';

export {
  DEFAULT_MAX_PEERS_GLOBAL,
  maxPeersGlobalOf,
  type TorrentFailedEvent,
} from './many-torrents.js';

/** A torrent's event, with its info-hash (hex); the shared DHT node's `dht.ready` has none. */
export type SeedManyEvent = ManyTorrentsEvent;

export type SeedManyOptions = Omit<
  SeedOptions,
  'listen' | 'listener' | 'udp' | 'dhtNode' | 'lsdService' | 'uploadLimit' | 'downloadLimit' | 'inspect'
> &
  Pick<HostOptions, 'maxPeersGlobal'>;

export interface SeedManyJob extends ManyTorrentsJob {
  /**
   * Once no torrent is left (stop(), or the last one failed): `failed` naming every torrent that
   * failed, if any did; else `stopped` / `complete` as they ended. Rejects with a torrent's
   * bad-input error (no piece matches), which stopped them all.
   */
  readonly done: Promise<DownloadResult>;
}

/** The user's fault (SeedError, a StorageError marked so): what stops every torrent, as at the start. */
function isBadInput(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { badInput?: unknown }).badInput === true;
}

export function seedMany(torrents: readonly Torrent[], options: SeedManyOptions): SeedManyJob {
  const hosted = torrents.map((t) => hostedTorrent(t, options.extraTrackers));
  return runManyTorrents(hosted, options, {
    check: async () => {
      if (torrents.length === 0) throw new SeedError('noTorrent', 'no torrent to seed');
      const same = sameTorrents(hosted);
      if (same !== undefined)
        throw new SeedError(
          'duplicateTorrent',
          `${same.a} and ${same.b} are the same torrent (info-hash ${same.hash})`,
        );
      for (const t of torrents) await checkDataFiles(await asLaidOut(t, options.data), options.data);
    },
    start: ({ torrent }, lent) => seed(torrent, { ...options, ...lent }),
    stopsAll: isBadInput,
    result: (results) => results[0] ?? { result: 'stopped', message: 'stopped' },
  });
}
