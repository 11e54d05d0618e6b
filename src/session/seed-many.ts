/**
 * `seedMany(torrents, options)`: seed several torrents from one process on one port, as
 * transmission-daemon, qBittorrent and rtorrent seed a library. One TCP listener and one UDP socket
 * (uTP and the DHT) for all: each accepted connection, TCP or uTP, goes to the torrent its
 * handshake names — a plain handshake's info-hash, MSE's SKEY (src/net/torrent-router.ts); one that
 * names none of them is closed. One DHT node announces every torrent's info-hash(es) (a hybrid's
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
import type { Observable } from 'rxjs';
import { Subject } from 'rxjs/internal/Subject';
import type { Dht } from '../dht/dht.js';
import { type Torrent, v2SwarmHash } from '../metainfo/torrent.js';
import { listenForPeers } from '../net/listen.js';
import { makePeerId } from '../net/peer-id.js';
import { TokenBucket } from '../net/token-bucket.js';
import { TorrentRouter } from '../net/torrent-router.js';
import { DEFAULT_UTP_MODE } from '../net/utp-mode.js';
import { asLaidOut } from './as-laid-out.js';
import { DEFAULT_MAX_PEERS, type DownloadJob, type DownloadResult } from './download.js';
import type { DownloadEvent } from './download-event.js';
import { checkDataFiles, SeedError, type SeedOptions, seed } from './seed.js';
import { openSessionUdp, type SessionUdp } from './session-udp.js';

/**
 * A torrent failed after the start (a disk error) and stopped alone; `seeding`: the torrents still
 * seeding (0: the job ends).
 */
export interface TorrentFailedEvent {
  readonly type: 'torrent.failed';
  readonly infoHash: string;
  readonly message: string;
  readonly seeding: number;
}

/** A torrent's event, with its info-hash (hex); the shared DHT node's `dht.ready` has none. */
export type SeedManyEvent = (DownloadEvent & { readonly infoHash?: string }) | TorrentFailedEvent;

export type SeedManyOptions = Omit<
  SeedOptions,
  'listen' | 'listener' | 'udp' | 'dhtNode' | 'uploadLimit' | 'inspect'
> & {
  /** Connections open through the shared port at once, every torrent's together (default maxPeersGlobalOf). */
  readonly maxPeersGlobal?: number;
};

/** Transmission's `peer-limit-global` and libtorrent's `connections_limit` default. */
export const DEFAULT_MAX_PEERS_GLOBAL = 200;

/**
 * The overall cap when none is given: 200, or twice the per-torrent cap when that is more (a torrent
 * may hold `maxPeers` connections and as many again awaiting their handshake), so that one
 * torrent's `--max-peers` is never cut short by the default.
 */
export function maxPeersGlobalOf(options: {
  readonly maxPeers?: number;
  readonly maxPeersGlobal?: number;
}): number {
  return (
    options.maxPeersGlobal ?? Math.max(DEFAULT_MAX_PEERS_GLOBAL, 2 * (options.maxPeers ?? DEFAULT_MAX_PEERS))
  );
}

export interface SeedManyJob {
  readonly events$: Observable<SeedManyEvent>;
  /**
   * Once no torrent is left (stop(), or the last one failed): `failed` naming every torrent that
   * failed, if any did; else `stopped` / `complete` as they ended. Rejects with a torrent's
   * bad-input error (no piece matches), which stopped them all.
   */
  readonly done: Promise<DownloadResult>;
  stop(reason?: string): Promise<DownloadResult>;
}

/** The user's fault (SeedError, a StorageError marked so): what stops every torrent, as at the start. */
function isBadInput(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { badInput?: unknown }).badInput === true;
}

/** The info-hashes a torrent answers to: its own, and a hybrid's v2 one (BEP 52). */
function swarmHashes(t: Torrent): Uint8Array[] {
  const other = v2SwarmHash(t);
  return other === undefined ? [t.infoHash] : [t.infoHash, other];
}

/** Two torrents with an info-hash in common would share one swarm and one route: refused. */
function checkDistinct(torrents: readonly Torrent[]): void {
  const seen = new Map<string, string>();
  for (const t of torrents)
    for (const h of swarmHashes(t)) {
      const key = Buffer.from(h).toString('hex');
      const before = seen.get(key);
      if (before !== undefined)
        throw new SeedError(
          'duplicateTorrent',
          `${t.name} and ${before} are the same torrent (info-hash ${key})`,
        );
      seen.set(key, t.name);
    }
}

export function seedMany(torrents: readonly Torrent[], options: SeedManyOptions): SeedManyJob {
  const events = new Subject<SeedManyEvent>();
  let jobs: DownloadJob[] | undefined;
  /** Asked to stop before the sessions started. */
  let pendingStop: string | undefined;
  /** A torrent's bad input (no piece matches its data): it stopped them all. */
  let badInput: { error: unknown } | undefined;
  /** Torrents that failed after the start, each alone, in the order they failed. */
  const failures: { name: string; message: string }[] = [];
  let ended = false;
  const stopAll = (reason: string) => {
    if (jobs === undefined) pendingStop ??= reason;
    else for (const job of jobs) void job.stop(reason);
  };

  const run = async (): Promise<DownloadResult> => {
    await Promise.resolve(); // let the caller subscribe first
    if (torrents.length === 0) throw new SeedError('noTorrent', 'no torrent to seed');
    checkDistinct(torrents);
    for (const t of torrents) await checkDataFiles(await asLaidOut(t, options.data), options.data);
    if (pendingStop !== undefined) return { result: 'stopped', message: pendingStop };

    const listener = await listenForPeers(options.port === undefined ? {} : { port: options.port });
    const router = new TorrentRouter({
      port: listener.port,
      host: listener.host,
      maxConnections: maxPeersGlobalOf(options),
      ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
    });
    const accepted = listener.connections$.subscribe((s) => router.route(s));
    const utpMode = options.utp ?? DEFAULT_UTP_MODE;
    let udp: SessionUdp | undefined;
    let dhtNode: Dht | undefined;
    try {
      // uTP and the DHT on the listening port's number (docs/utp.md), one socket for every torrent.
      const wantDht = options.dht !== undefined && torrents.some((t) => !t.private);
      if (utpMode !== 'off' || wantDht) udp = await openSessionUdp(listener.port, { utp: utpMode !== 'off' });
      udp?.utp?.onConnection((s) => router.route(s));
      if (wantDht && options.dht !== undefined) {
        const dht = await import('./dht-announces.js');
        dhtNode = await dht.openSessionDht(options.dht, listener.port, udp?.endpoint).catch(() => undefined);
        const own = dhtNode;
        // Its dht.ready is ours to say, once (each torrent's session is only lent the node).
        void own?.ready.then((r) => {
          if (!ended) events.next(dht.dhtReadyEvent(own, r));
        });
      }
      const uploadLimit =
        options.maxUploadRate === undefined ? undefined : new TokenBucket(options.maxUploadRate);
      const peerId = options.peerId ?? makePeerId();
      jobs = torrents.map((t) =>
        seed(t, {
          ...options,
          peerId,
          listener: router.add(swarmHashes(t)),
          ...(udp === undefined ? {} : { udp }),
          // BEP 27: a private torrent is never announced in the DHT.
          ...(dhtNode === undefined || t.private ? {} : { dhtNode }),
          ...(uploadLimit === undefined ? {} : { uploadLimit }),
        }),
      );
      const subs = jobs.map((job, i) =>
        job.events$.subscribe((e) => events.next({ ...e, infoHash: torrents[i]!.infoHashHex })),
      );
      if (pendingStop !== undefined) stopAll(pendingStop);
      let seeding = torrents.length;
      /** Torrent `i` failed on its own: it is gone, the others seed on. */
      const failed = (i: number, message: string) => {
        const t = torrents[i]!;
        failures.push({ name: t.name, message });
        seeding--;
        events.next({ type: 'torrent.failed', infoHash: t.infoHashHex, message, seeding });
      };
      const results = await Promise.allSettled(
        jobs.map((job, i) =>
          job.done.then(
            (result) => {
              if (result.result === 'failed') failed(i, result.message);
              return result;
            },
            (error: unknown) => {
              if (isBadInput(error)) {
                // Found by its check: the command line named data that is not the torrent's.
                if (badInput === undefined) {
                  badInput = { error };
                  stopAll('stopped');
                }
              } else failed(i, error instanceof Error ? error.message : String(error));
              throw error;
            },
          ),
        ),
      );
      for (const s of subs) s.unsubscribe();
      if (badInput !== undefined) throw badInput.error;
      if (failures.length > 0)
        return { result: 'failed', message: failures.map((f) => `${f.name}: ${f.message}`).join('; ') };
      const first = results[0];
      return first?.status === 'fulfilled' ? first.value : { result: 'stopped', message: 'stopped' };
    } finally {
      ended = true;
      accepted.unsubscribe();
      router.close();
      // The one uTP manager is ours, not any torrent's (a torrent that fails must not close it for
      // the others): closed once, when the last torrent has stopped, before the DHT's last save.
      udp?.utp?.close();
      await dhtNode?.close();
      await udp?.close();
      await listener.close();
    }
  };

  const done = run().finally(() => {
    ended = true;
    events.complete();
  });
  return {
    events$: events.asObservable(),
    done,
    stop(reason = 'stopped') {
      stopAll(reason);
      return done;
    },
  };
}
