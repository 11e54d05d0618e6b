/**
 * `downloadMany(torrents, options)`: download several torrents from one process, as aria2 takes
 * several .torrent files and magnet links on one command line, each into `out/<its name>`. The host many-torrents.ts
 * keeps (seedMany's too): one listening port for all, each accepted connection going to the torrent
 * its handshake names (a plain info-hash, MSE's SKEY); one UDP socket (uTP, the DHT) and one DHT
 * node; `maxUploadRate` and `maxDownloadRate` one bucket each for every torrent (the client's
 * limits); `maxPeers` per torrent, `maxPeersGlobal` for the connections through the shared port.
 * Each torrent is download()'s session with these lent, and its events carry its `infoHash` (hex).
 * A magnet link is downloadMagnet()'s (BEP 9: its metadata fetched while the others download, then
 * its download), its events carrying the link's info-hash from the first; with `keepSeeding`, each
 * torrent seeds once complete (`seedRatio`, `seedTimeMs` each its own) until stop().
 *
 * All or nothing before the start: no torrent, two torrents with an info-hash in common, or two
 * that would write the same `out/<name>` are refused (DownloadManyError, badInput) before anything
 * opens. A magnet link's torrent is checked the same way once its metadata is known: with the
 * name (or an info-hash) of a torrent before it, it fails alone, no file of it touched. After it, a torrent that fails (a disk error, bad input found as its files open, the stall
 * timeout, a magnet link's metadata that never came: `metadataTimeoutMs`) stops alone: a `torrent.failed` event, the others go on. `done` resolves once every
 * torrent has ended: `complete` when all completed, `failed` (each failed torrent named) when any
 * failed, else `stopped` (stop(): each torrent stopped cleanly, resume files saved).
 *
 *   const job = downloadMany([a, b], { out: 'downloads' });
 *   job.events$.subscribe((e) => console.log(e.infoHash, e.type));
 *   const result = await job.done;
 */
import type { Magnet } from '../metainfo/magnet.js';
import type { Torrent } from '../metainfo/torrent.js';
import { download } from './download.js';
import { downloadMagnet, type MagnetOptions } from './download-magnet.js';
import type { DownloadOptions } from './download-options.js';
import {
  type Hosted,
  type HostOptions,
  hostedTorrent,
  type ManyTorrentsEvent,
  type ManyTorrentsJob,
  runManyTorrents,
  sameTorrents,
  swarmHashes,
} from './many-torrents.js';

export type DownloadManyEvent = ManyTorrentsEvent;
export type DownloadManyJob = ManyTorrentsJob;

export type DownloadManyOptions = Omit<
  DownloadOptions,
  | 'listen'
  | 'listener'
  | 'udp'
  | 'dhtNode'
  | 'lsdService'
  | 'uploadLimit'
  | 'downloadLimit'
  | 'inspect'
  | 'selected'
  | 'dialled'
  | 'peerDetail'
> &
  Pick<HostOptions, 'maxPeersGlobal'> &
  Pick<MagnetOptions, 'metadataTimeoutMs'>;

/** What downloadMany takes: a torrent, or a magnet link (its torrent fetched from its peers). */
export type DownloadSource = Torrent | Magnet;

function isMagnet(s: DownloadSource): s is Magnet {
  return !('pieceCount' in s);
}

/** A source as the host runs it; a magnet link's name is its torrent's once known, its `dn` until then. */
interface Source extends Hosted {
  readonly source: DownloadSource;
  known?: string;
}

function sourceOf(s: DownloadSource, extraTrackers: readonly string[] = []): Source {
  if (!isMagnet(s)) return { ...hostedTorrent(s, extraTrackers), source: s };
  const item: Source = {
    source: s,
    infoHashHex: s.infoHashHex,
    hashes: swarmHashes(s),
    private: false,
    // As downloadMagnet counts them (its torrent's own are not known yet).
    udpTrackers: [...s.trackers, ...extraTrackers].filter((url) => /^udp:/i.test(url)).length,
    name: () => item.known ?? s.name ?? s.infoHashHex,
  };
  return item;
}

const hexOf = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.length).toString('hex');

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

/**
 * The paths the run writes and the swarms it is in: each torrent's `out/<name>`, case folded (on a
 * case-insensitive file system, macOS and Windows, `A` and `a` are one path), and its info-hashes
 * (hex). A magnet link's are claimed once its metadata is known.
 */
class Claims {
  readonly #names = new Map<string, string>();
  readonly #hashes = new Map<string, string>();

  /** Why `t` cannot be downloaded beside the torrents claimed so far, or undefined (and it is claimed). */
  claim(t: Torrent): { code: 'duplicateTorrent' | 'sameName'; message: string } | undefined {
    for (const h of swarmHashes(t)) {
      const before = this.#hashes.get(hexOf(h));
      if (before !== undefined)
        return {
          code: 'duplicateTorrent',
          message: `${t.name} and ${before} are the same torrent (info-hash ${hexOf(h)})`,
        };
    }
    const key = t.name.toLowerCase();
    const before = this.#names.get(key);
    if (before !== undefined)
      return {
        code: 'sameName',
        message: `two torrents are named ${t.name}${before === t.name ? '' : ` and ${before}`}: both would be saved in the same place`,
      };
    this.#names.set(key, t.name);
    for (const h of swarmHashes(t)) this.#hashes.set(hexOf(h), t.name);
    return undefined;
  }
}

/** Refused before anything starts: nothing to do, one swarm twice, two torrents writing one path. */
function check(sources: readonly Source[], claims: Claims): void {
  if (sources.length === 0) throw new DownloadManyError('noTorrent', 'no torrent to download');
  const same = sameTorrents(sources);
  if (same !== undefined)
    throw new DownloadManyError(
      'duplicateTorrent',
      `${same.a} and ${same.b} are the same torrent (info-hash ${same.hash})`,
    );
  for (const { source } of sources) {
    if (isMagnet(source)) continue; // its name is known once its metadata is (admit, below)
    const refused = claims.claim(source);
    if (refused !== undefined) throw new DownloadManyError(refused.code, refused.message);
  }
}

export function downloadMany(
  torrents: readonly DownloadSource[],
  options: DownloadManyOptions,
): DownloadManyJob {
  const sources = torrents.map((s) => sourceOf(s, options.extraTrackers));
  const claims = new Claims();
  const { metadataTimeoutMs, ...each } = options;
  return runManyTorrents(sources, options, {
    check: async () => check(sources, claims),
    start: (item, lent) => {
      const s = item.source;
      if (!isMagnet(s)) return download(s, { ...each, ...lent });
      return downloadMagnet(s, {
        ...each,
        ...lent,
        ...(metadataTimeoutMs === undefined ? {} : { metadataTimeoutMs }),
        // Its torrent known: the same checks as the .torrent files had before the start, now.
        admit: (torrent) => {
          const refused = claims.claim(torrent);
          if (refused !== undefined) return refused.message;
          item.known = torrent.name;
          // A link's torrent that is a hybrid (BEP 52) answers to its second info-hash too.
          lent.listener.also(swarmHashes(torrent));
          return undefined;
        },
      });
    },
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
