/**
 * The torrent machine with the world's actors provided: each peer machine's `connection` is a real
 * TCP socket (counted, rate-limited, paused while the disk is behind, serving blocks from the one
 * ReadCache of the torrent; a BEP 52 block-layer hash request's pieces read back from the store),
 * `storage` is the PieceStore, `trackers` announces over HTTP/UDP
 * (BEP 3, BEP 12, BEP 15) when the torrent has trackers to ask.
 */
import { peerMachine } from '../../machines/peer.machine.js';
import { torrentMachine } from '../../machines/torrent.machine.js';
import type { BlockPool } from '../net/block-pool.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import { type ConnectionHooks, createTcpConnection } from '../net/tcp-connection.js';
import { TokenBucket } from '../net/token-bucket.js';
import { DEFAULT_UTP_MODE } from '../net/utp-mode.js';
import type { createWebSeedConnection, WebSeedConnectionHooks } from '../net/web-seed-connection.js';
import { blockHashesActor } from '../storage/block-layer-hashes.js';
import type { PieceStore } from '../storage/piece-store.js';
import { DEFAULT_READ_CACHE_BYTES, ReadCache } from '../storage/read-cache.js';
import { storageActor } from '../storage/storage-actor.js';
import type { WriteBacklog } from '../storage/write-backlog.js';
import type { trackerTiersActor } from '../tracker/tracker-tiers-actor.js';
import type { UtpSocketManager } from '../utp/utp-socket-manager.js';
import type { DownloadOptions } from './download-options.js';
import type { TransferCounter } from './transfer-counter.js';

export interface SessionActorsDeps {
  readonly options: Pick<
    DownloadOptions,
    | 'maxUploadRate'
    | 'uploadLimit'
    | 'maxDownloadRate'
    | 'downloadLimit'
    | 'readCacheBytes'
    | 'webSeedTimeoutMs'
    | 'webSeedConnections'
    | 'encryption'
    | 'utp'
    | 'blocklist'
    | 'bind'
  >;
  /** The torrent's files, for its web seeds' URLs and ranges (BEP 19). */
  readonly torrent: WebSeedConnectionHooks['torrent'];
  readonly counter: TransferCounter;
  /** Sockets stop reading while more than WRITE_BACKLOG_HIGH waits to be written. */
  readonly backlog: WriteBacklog;
  readonly store: PieceStore;
  /**
   * The announcing trackers actor (tracker-tiers-actor.ts), or none when there is no tracker to ask:
   * the machine's own then runs with no tiers, and the tracker clients (http, https, dgram) are never
   * loaded (start-up time, docs/performance.md §6).
   */
  readonly trackers?: ReturnType<typeof trackerTiersActor>;
  /**
   * The web seeds' connection (web-seed-connection.ts), or none when the torrent has no web seed to
   * ask: the machine then spawns no `webSeed`, and node:http / node:https are never loaded (start-up
   * time, as for the trackers).
   */
  readonly webSeedConnection?: typeof createWebSeedConnection;
  /** Blocks from dialled sockets go into this pool's slabs (src/net/block-pool.ts). */
  readonly blockPool?: BlockPool;
  /** A block to serve could not be read from disk (the session fails the torrent). */
  readonly onReadError?: (err: unknown) => void;
  /** uTP connections on the session's UDP port (docs/utp.md); none: every dial is TCP. */
  readonly utp?: UtpSocketManager;
  /** Every dial and web seed GET through this proxy (src/net/proxy-dialer.ts). */
  readonly proxy?: ProxyDialer;
  /** A hybrid fetching its piece layers: each `hashes` answer proved by its connection (ConnectionHooks.proveHashes). */
  readonly proveHashes?: ConnectionHooks['proveHashes'];
}

export function provideSessionActors(deps: SessionActorsDeps) {
  const {
    options,
    counter,
    backlog,
    store,
    trackers,
    blockPool,
    onReadError,
    torrent,
    webSeedConnection,
    utp,
    proxy,
    proveHashes,
  } = deps;
  const blockSource = new ReadCache(store, options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES);
  // One bucket for every source, peers and web seeds: the limit is the client's.
  const downloadLimit =
    options.downloadLimit ??
    (options.maxDownloadRate === undefined ? undefined : new TokenBucket(options.maxDownloadRate));
  const blocklist = options.blocklist;
  return torrentMachine.provide({
    // The user's IP filter (docs/blocklist.md): addresses in it are never dialled nor adopted.
    ...(blocklist === undefined || blocklist.size === 0
      ? {}
      : { guards: { isBlockedAddress: (_, { address }) => blocklist.hasAddress(address) } }),
    actors: {
      peer: peerMachine.provide({
        actors: {
          connection: createTcpConnection({
            onPayloadReceived: counter.onPayloadReceived,
            onPayloadSent: counter.onPayloadSent,
            readGate: backlog,
            ...(blockPool === undefined ? {} : { blockPool }),
            blockSource,
            ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
            // --bind: resolved to its address by the session (src/net/bind-address.ts).
            ...(options.bind === undefined ? {} : { localAddress: options.bind }),
            ...(utp === undefined ? {} : { utp, utpMode: options.utp ?? DEFAULT_UTP_MODE }),
            ...(proxy === undefined ? {} : { proxy }),
            ...(blocklist === undefined ? {} : { blocklist }),
            ...(onReadError === undefined ? {} : { onReadError }),
            ...(options.uploadLimit !== undefined
              ? { uploadLimit: options.uploadLimit }
              : options.maxUploadRate === undefined
                ? {}
                : { uploadLimit: new TokenBucket(options.maxUploadRate) }),
            ...(downloadLimit === undefined ? {} : { downloadLimit }),
            ...(proveHashes === undefined ? {} : { proveHashes }),
          }),
          // BEP 52: a block-layer hash request's pieces read back from the store and hashed (one
          // per torrent: at most MAX_TORRENT_BLOCK_HASH_READS at once, whatever its peers ask).
          blockHashes: blockHashesActor(store),
        },
      }),
      // BEP 19 web seeds: the same peer machine over HTTP range requests (web-seed-connection.ts).
      // Without a web seed to ask the machine spawns no `webSeed`, and its HTTP client is not loaded.
      webSeed:
        webSeedConnection === undefined
          ? peerMachine
          : peerMachine.provide({
              actors: {
                connection: webSeedConnection({
                  torrent,
                  ...(proxy === undefined ? {} : { proxy }),
                  onPayloadReceived: counter.onPayloadReceived,
                  readGate: backlog,
                  ...(blockPool === undefined ? {} : { blockPool }),
                  ...(downloadLimit === undefined ? {} : { downloadLimit }),
                  ...(options.webSeedTimeoutMs === undefined ? {} : { timeoutMs: options.webSeedTimeoutMs }),
                  ...(options.webSeedConnections === undefined
                    ? {}
                    : { connections: options.webSeedConnections }),
                  ...(options.bind === undefined ? {} : { localAddress: options.bind }),
                  ...(blocklist === undefined ? {} : { blocklist }),
                }),
              },
            }),
      storage: storageActor(store),
      ...(trackers === undefined ? {} : { trackers }),
    },
  });
}
