/**
 * Several torrents in one process, as transmission-daemon, qBittorrent, rtorrent and aria2 run them:
 * the host that seedMany (seed-many.ts) and downloadMany (download-many.ts) share. One TCP listening
 * port and one UDP socket (uTP and the DHT) for all: each accepted connection, TCP or uTP, goes to
 * the torrent its handshake names (src/net/torrent-router.ts); one DHT node; one LSD service (BEP 14,
 * every torrent's info-hashes announced from one socket); one upload bucket and
 * one download bucket (`--max-up`, `--max-down`: the client's limits); `maxPeersGlobal` caps the
 * connections open through the port. Each torrent runs its own session (its machines, trackers,
 * store) with these lent: they are the host's, closed once, after the last torrent has stopped.
 * Every event a session reports carries its torrent's `infoHash` (hex).
 *
 * What the host runs is a `Hosted`: a torrent, or (downloadMany) a magnet link whose torrent is known
 * once its metadata is (its route is the link's info-hashes until then, `TorrentRoute.also`).
 *
 * A torrent that fails after the start stops alone (its session's end closes its connections and
 * takes its route away), a `torrent.failed` event says so, and the others go on; `stopsAll` names
 * the errors that stop every torrent instead (seedMany: bad input found by a torrent's check). The
 * job ends when no torrent is left.
 */

import type { Socket } from 'node:net';
import type { Observable } from 'rxjs';
import { Subject } from 'rxjs/internal/Subject';
import type { Dht } from '../dht/dht.js';
import type { Lsd, LsdSettings } from '../lsd/lsd.js';
import { type Torrent, v2SwarmHash } from '../metainfo/torrent.js';
import { formatPeerAddress } from '../net/address.js';
import { resolveBindAddress } from '../net/bind-address.js';
import type { EncryptionPolicy } from '../net/encryption-policy.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import { makePeerId } from '../net/peer-id.js';
import type { ProxySettings } from '../net/proxy.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import { TokenBucket } from '../net/token-bucket.js';
import { type TorrentRoute, TorrentRouter } from '../net/torrent-router.js';
import { DEFAULT_UTP_MODE, type UtpMode } from '../net/utp-mode.js';
import type { UtpSocket } from '../utp/utp-socket.js';
import { announceTiers } from './announce-tiers.js';
import { BlockedPeers } from './blocked-peers.js';
import type { DhtSettings } from './dht-announces.js';
import { DEFAULT_MAX_PEERS, type DownloadJob, type DownloadResult } from './download.js';
import type { DownloadEvent } from './download-event.js';
import { countUdpTrackers, sayingDialer, udpOffEvent } from './proxy-session.js';
import { openSessionPorts } from './session-ports.js';
import type { SessionUdp } from './session-udp.js';

/**
 * A torrent failed after the start and stopped alone; `left`: the torrents still running (0: the
 * job ends).
 */
export interface TorrentFailedEvent {
  readonly type: 'torrent.failed';
  readonly infoHash: string;
  readonly message: string;
  readonly left: number;
}

/** A torrent's event, with its info-hash (hex); the shared DHT node's `dht.ready` has none. */
export type ManyTorrentsEvent = (DownloadEvent & { readonly infoHash?: string }) | TorrentFailedEvent;

export interface ManyTorrentsJob {
  readonly events$: Observable<ManyTorrentsEvent>;
  readonly done: Promise<DownloadResult>;
  stop(reason?: string): Promise<DownloadResult>;
}

/** What the host shares: the port, its UDP socket, the DHT, the limits. */
export interface HostOptions {
  readonly port?: number;
  /** The IP filter (docs/blocklist.md): a blocked peer's connection closed before the router reads it. */
  readonly blocklist?: IpRangeSet;
  readonly encryption?: EncryptionPolicy;
  readonly utp?: UtpMode;
  readonly dht?: DhtSettings;
  /** Local Service Discovery (BEP 14): one service, every torrent's info-hashes announced from it. */
  readonly lsd?: LsdSettings;
  /**
   * Under a proxy no UDP socket, DHT node or LSD service is opened; every torrent's connections go
   * through one dialer, and `proxy.udpOff` and each kind of `proxy.failed` are said once, by the
   * host, for no torrent (proxy-session.ts).
   */
  readonly proxy?: ProxySettings;
  /** `false`: no tracker asked (what `proxy.udpOff` names: udp trackers only when there are). */
  readonly trackers?: boolean;
  readonly maxPeers?: number;
  /** Connections open through the shared port at once, every torrent's together (default maxPeersGlobalOf). */
  readonly maxPeersGlobal?: number;
  readonly maxUploadRate?: number;
  readonly maxDownloadRate?: number;
  readonly peerId?: Uint8Array;
  /**
   * The address the port, the UDP socket and every torrent's dials and announces are bound to
   * (`--bind`: src/net/bind-address.ts), resolved once for all.
   */
  readonly bind?: string;
}

/** What a torrent's session is lent (DownloadOptions' internal fields). */
export interface Lent {
  readonly peerId: Uint8Array;
  readonly listener: TorrentRoute;
  readonly udp?: SessionUdp;
  readonly dhtNode?: Dht;
  readonly lsdService?: Lsd;
  readonly uploadLimit?: TokenBucket;
  readonly downloadLimit?: TokenBucket;
  /** `bind` as the host resolved it: its address. */
  readonly bind?: string;
  /** The host's dialer through the proxy (connecting from `bind`), whose failures it says. */
  readonly proxyDialer?: ProxyDialer;
}

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

/** The info-hashes a torrent (or a magnet link's `xt`s) answers to: its own, and a hybrid's v2 one (BEP 52). */
export function swarmHashes(t: Pick<Torrent, 'infoHash' | 'version' | 'infoHashV2'>): Uint8Array[] {
  const other = v2SwarmHash(t);
  return other === undefined ? [t.infoHash] : [t.infoHash, other];
}

/** What the host needs of each torrent it runs before its session starts. */
export interface Hosted {
  /** Its events' `infoHash` (hex). */
  readonly infoHashHex: string;
  /** The info-hashes its route answers to from the start (swarmHashes; a magnet link's `xt`). */
  readonly hashes: readonly Uint8Array[];
  /** BEP 27: lent no DHT node (a magnet link's torrent is not known to be before its metadata). */
  readonly private: boolean;
  /** The udp:// trackers it would announce to (what a proxy turns off, said in `proxy.udpOff`). */
  readonly udpTrackers: number;
  /** How a failure names it (a magnet link's name may become known as it runs). */
  name(): string;
}

/** A torrent as the host runs it (`extraTrackers`: `--tracker`'s, announce-tiers.ts). */
export function hostedTorrent(
  t: Torrent,
  extraTrackers?: readonly string[],
): Hosted & { readonly torrent: Torrent } {
  return {
    torrent: t,
    infoHashHex: t.infoHashHex,
    hashes: swarmHashes(t),
    private: t.private,
    udpTrackers: countUdpTrackers(announceTiers(t, extraTrackers)),
    name: () => t.name,
  };
}

/** Two torrents with an info-hash in common (they would share one swarm and one route): the first such pair. */
export function sameTorrents(
  torrents: readonly Pick<Hosted, 'hashes' | 'name'>[],
): { a: string; b: string; hash: string } | undefined {
  const seen = new Map<string, string>();
  for (const t of torrents)
    for (const h of t.hashes) {
      const key = Buffer.from(h).toString('hex');
      const before = seen.get(key);
      if (before !== undefined) return { a: t.name(), b: before, hash: key };
      seen.set(key, t.name());
    }
  return undefined;
}

export interface ManyTorrentsHooks<T extends Hosted> {
  /** Everything checked before the port opens (all or nothing): throws to start nothing. */
  check(): Promise<void>;
  /** Torrent `t`'s session, with what the host lends it. */
  start(t: T, lent: Lent): DownloadJob;
  /** An error a session ends with that stops every torrent (done rejects with it); default none. */
  stopsAll?(err: unknown): boolean;
  /** The job's result when no torrent failed, from each torrent's. */
  result(results: readonly DownloadResult[]): DownloadResult;
}

export function runManyTorrents<T extends Hosted>(
  torrents: readonly T[],
  options: HostOptions,
  hooks: ManyTorrentsHooks<T>,
): ManyTorrentsJob {
  const events = new Subject<ManyTorrentsEvent>();
  let jobs: DownloadJob[] | undefined;
  /** Asked to stop before the sessions started. */
  let pendingStop: string | undefined;
  /** The error that stopped every torrent. */
  let stoppedAll: { error: unknown } | undefined;
  /** Torrents that failed after the start, each alone, in the order they failed. */
  const failures: { name: string; message: string }[] = [];
  let ended = false;
  const stopAll = (reason: string) => {
    if (jobs === undefined) pendingStop ??= reason;
    else for (const job of jobs) void job.stop(reason);
  };

  const run = async (): Promise<DownloadResult> => {
    await Promise.resolve(); // let the caller subscribe first
    // One address for every torrent's sockets, checked before anything opens (bad input).
    const bind = options.bind === undefined ? undefined : await resolveBindAddress(options.bind);
    await hooks.check();
    if (pendingStop !== undefined) return { result: 'stopped', message: pendingStop };

    const at = bind === undefined ? {} : { host: bind };
    // One proxy for the process: one dialer for every torrent, said once here (proxy-session.ts).
    const proxy = options.proxy;
    const proxyDialer = proxy === undefined ? undefined : sayingDialer(proxy, (e) => events.next(e), bind);
    if (proxy !== undefined) {
      const udpOff = udpOffEvent(
        proxy,
        options,
        torrents.reduce((n, t) => n + t.udpTrackers, 0),
      );
      if (udpOff !== undefined) events.next(udpOff);
    }
    const utpMode = options.proxy !== undefined ? 'off' : (options.utp ?? DEFAULT_UTP_MODE);
    const wantDht =
      options.dht !== undefined && options.proxy === undefined && torrents.some((t) => !t.private);
    // uTP and the DHT on the listening port's number (docs/utp.md), one socket for every torrent.
    const ports = await openSessionPorts({
      ...(options.port === undefined ? {} : { port: options.port }),
      ...at,
      udp: utpMode !== 'off' || wantDht ? { utp: utpMode !== 'off' } : undefined,
    });
    const listener = ports.listener;
    if (ports.udpPortTaken !== undefined) events.next(ports.udpPortTaken);
    const router = new TorrentRouter({
      port: listener.port,
      host: listener.host,
      maxConnections: maxPeersGlobalOf(options),
      ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
    });
    // The IP filter: a blocked peer is closed as accepted, before the router reads its handshake;
    // reported once here, for no torrent (each torrent's session filters its own dials).
    const blocked = new BlockedPeers();
    const admitted = (s: Socket | UtpSocket): boolean => {
      const address = formatPeerAddress({ host: s.remoteAddress ?? '?', port: s.remotePort ?? 0 });
      if (options.blocklist?.hasAddress(address) !== true) return true;
      s.destroy();
      events.next({ type: 'peer.blocked', address, source: 'incoming', blocked: blocked.add(address) });
      return false;
    };
    const accepted = listener.connections$.subscribe((s) => {
      if (admitted(s)) router.route(s);
    });
    const udp: SessionUdp | undefined = ports.udp;
    let dhtNode: Dht | undefined;
    let lsd: Lsd | undefined;
    try {
      udp?.utp?.onConnection((s) => {
        if (admitted(s)) router.route(s);
      });
      if (wantDht && options.dht !== undefined) {
        const dht = await import('./dht-announces.js');
        dhtNode = await dht
          .openSessionDht({ ...options.dht, ...at }, listener.port, udp?.endpoint)
          .catch(() => undefined);
        const own = dhtNode;
        // Its dht.ready is ours to say, once (each torrent's session is only lent the node).
        void own?.ready.then((r) => {
          if (!ended) events.next(dht.dhtReadyEvent(own, r));
        });
      }
      // BEP 14: one socket on port 6771 for every torrent (never a private one's: BEP 27).
      if (options.lsd !== undefined && options.proxy === undefined && torrents.some((t) => !t.private)) {
        const settings = options.lsd;
        const { startLsd } = await import('../lsd/lsd.js');
        const { lsdOffEvent, lsdReadyEvent } = await import('./lsd-announces.js');
        // No port 6771 to be had: said once, for no torrent; each goes on without LSD.
        lsd = await startLsd(settings, { port: listener.port, listenHost: listener.host }).catch(
          (err: unknown) => {
            events.next(lsdOffEvent(err));
            return undefined;
          },
        );
        if (lsd !== undefined) events.next(lsdReadyEvent(lsd));
      }
      const uploadLimit =
        options.maxUploadRate === undefined ? undefined : new TokenBucket(options.maxUploadRate);
      const downloadLimit =
        options.maxDownloadRate === undefined ? undefined : new TokenBucket(options.maxDownloadRate);
      const peerId = options.peerId ?? makePeerId();
      const routes = torrents.map((t) => router.add(t.hashes));
      jobs = torrents.map((t, i) =>
        hooks.start(t, {
          peerId,
          listener: routes[i]!,
          ...(bind === undefined ? {} : { bind }),
          ...(proxyDialer === undefined ? {} : { proxyDialer }),
          ...(udp === undefined ? {} : { udp }),
          // BEP 27: a private torrent is never announced in the DHT.
          ...(dhtNode === undefined || t.private ? {} : { dhtNode }),
          ...(lsd === undefined || t.private ? {} : { lsdService: lsd }),
          ...(uploadLimit === undefined ? {} : { uploadLimit }),
          ...(downloadLimit === undefined ? {} : { downloadLimit }),
        }),
      );
      const subs = jobs.map((job, i) =>
        job.events$.subscribe((e) => events.next({ ...e, infoHash: torrents[i]!.infoHashHex })),
      );
      if (pendingStop !== undefined) stopAll(pendingStop);
      let left = torrents.length;
      /** Torrent `i` failed on its own: it is gone, the others go on. */
      const failed = (i: number, message: string) => {
        const t = torrents[i]!;
        failures.push({ name: t.name(), message });
        left--;
        events.next({ type: 'torrent.failed', infoHash: t.infoHashHex, message, left });
      };
      const results = await Promise.allSettled(
        jobs.map((job, i) =>
          job.done
            // A session closes its route as it ends; one that never opened (a magnet link whose
            // metadata never came) leaves it to us: connections waiting there closed, its hashes free.
            .finally(() => routes[i]!.close())
            .then(
              (result) => {
                if (result.result === 'failed') failed(i, result.message);
                else left--;
                return result;
              },
              (error: unknown) => {
                if (hooks.stopsAll?.(error) === true) {
                  if (stoppedAll === undefined) {
                    stoppedAll = { error };
                    stopAll('stopped');
                  }
                } else failed(i, error instanceof Error ? error.message : String(error));
                throw error;
              },
            ),
        ),
      );
      for (const s of subs) s.unsubscribe();
      if (stoppedAll !== undefined) throw stoppedAll.error;
      if (failures.length > 0)
        return { result: 'failed', message: failures.map((f) => `${f.name}: ${f.message}`).join('; ') };
      return hooks.result(results.map((r) => (r.status === 'fulfilled' ? r.value : failedResult(r.reason))));
    } finally {
      ended = true;
      accepted.unsubscribe();
      router.close();
      // The one uTP manager is the host's, not any torrent's (a torrent that fails must not close it
      // for the others): closed once, when the last torrent has stopped, before the DHT's last save.
      udp?.utp?.close();
      await dhtNode?.close();
      await lsd?.close();
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

function failedResult(err: unknown): DownloadResult {
  return { result: 'failed', message: err instanceof Error ? err.message : String(err) };
}
