/** What a caller of `download()` / `seed()` may set; every field is optional except `out`. */
import type { InspectionEvent } from 'xstate';
import type { FetchedLayer } from '../../machines/metadata.machine.js';
import type { Dht } from '../dht/dht.js';
import type { Lsd, LsdSettings } from '../lsd/lsd.js';
import type { PeerAddress } from '../net/address.js';
import type { EncryptionPolicy } from '../net/encryption-policy.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import type { Listener } from '../net/listen.js';
import type { ProxySettings } from '../net/proxy.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import type { TokenBucket } from '../net/token-bucket.js';
import type { UtpMode } from '../net/utp-mode.js';
import type { WriteModeSetting } from '../storage/write-mode.js';
import type { DhtSettings } from './dht-announces.js';
import type { DialledPeer } from './fetch-metadata.js';
import type { OnCompleteHook } from './on-complete-hook.js';
import type { SessionUdp } from './session-udp.js';

export interface DownloadOptions {
  /** The folder the torrent's `<name>` is saved under. */
  readonly out: string;
  /** Peers to dial besides those the trackers give. */
  readonly peers?: readonly PeerAddress[];
  /** Announce to the torrent's HTTP trackers (default true). */
  readonly trackers?: boolean;
  /**
   * Trackers (http, https, udp URLs) announced to besides the torrent's own, each in a tier of its
   * own after the torrent's tiers (`--tracker`, as aria2's --bt-tracker); one the torrent has
   * already is not added twice. Never for a private torrent (BEP 27), nor with `trackers: false`.
   * A magnet link's fetch asks them too.
   */
  readonly extraTrackers?: readonly string[];
  /**
   * The IPv4 address, or the name of the interface whose IPv4 address, every socket is bound to
   * (`--bind`, src/net/bind-address.ts): the listening socket and the UDP socket (uTP, the DHT) on
   * it, peer dials, tracker announces and web seed GETs from it, never from another. Checked at the
   * start (a BindError, bad input, before anything is opened or written); default: every interface.
   */
  readonly bind?: string;
  /**
   * Find peers and announce through the DHT (BEP 5) from these routers; off when absent (the CLI
   * turns it on). Never for a private torrent (BEP 27). See docs/dht.md.
   */
  readonly dht?: DhtSettings;
  /**
   * A DHT node already running to use with `dht` instead of opening one (downloadMagnet hands over
   * its metadata fetch's); the caller closes it, and reports its `dht.ready` (not said here).
   */
  readonly dhtNode?: Dht;
  /**
   * Local Service Discovery (BEP 14, docs/lsd.md): announce the torrent by multicast on the local
   * network and take the peers that announce it there; off when absent (the CLI turns it on, on
   * every IPv4 interface but loopback). Needs a listening socket. Never for a private torrent
   * (BEP 27), whatever this says.
   */
  readonly lsd?: LsdSettings;
  /**
   * Internal: an LSD service already running, used with `lsd` instead of starting one (the
   * many-torrents host's, one socket for every torrent); the caller closes it and reports its
   * `lsd.ready`.
   */
  readonly lsdService?: Lsd;
  /**
   * An IP filter (docs/blocklist.md; `readBlocklist(path).ranges` reads one): no peer whose address
   * is in it is dialled, whoever named it (trackers, the DHT, LSD, PEX, `peers`), and an incoming
   * connection from one is closed as it is accepted, before a byte is read. Each is a `peer.blocked`
   * event. Trackers and web seeds at a blocked address (or a name resolving only to blocked ones)
   * are not contacted (libtorrent's apply_ip_filter_to_trackers, and its web seeds' filter). IPv4
   * (an IPv6 peer is never blocked).
   */
  readonly blocklist?: IpRangeSet;
  /**
   * Port for incoming peers (default 6881 or the next free one; 0 = any), TCP and UDP (uTP, the
   * DHT) at one number: one whose UDP port another program holds is passed over, unless named here
   * (not 0): then kept, the UDP socket elsewhere, said once (`udp.portTaken`).
   */
  readonly port?: number;
  /** Internal (tests): the ports tried, in order, when `port` is not given (instead of 6881…6930). */
  readonly portCandidates?: readonly number[];
  /**
   * BEP 11 peer exchange (default true): tell peers of each other and dial the peers they tell of.
   * Never for a private torrent (BEP 27), whatever this says.
   */
  readonly pex?: boolean;
  /**
   * Message Stream Encryption (docs/encryption.md): 'plaintext', 'allowed' (default: plain first,
   * MSE once when a peer closes a plain handshake unanswered), 'preferred' (MSE first, RC4 selected
   * when offered) or 'required' (MSE with RC4 only, both ways). The magnet fetch follows it too.
   */
  readonly encryption?: EncryptionPolicy;
  /**
   * uTP (BEP 29, docs/utp.md) on the UDP port of the listening port's number, shared with the DHT:
   * 'on' (default: accepted; dials over TCP, then uTP when TCP fails), 'prefer' (dials over uTP
   * first) or 'off'. Without a listening socket (`listen: false`) uTP dials go from any UDP port.
   */
  readonly utp?: UtpMode;
  /**
   * Every connection we make through this proxy (docs/proxy.md): peers (MSE inside the tunnel),
   * http(s) trackers, web seeds, a magnet's metadata peers. uTP, the DHT, LSD and udp:// trackers
   * are off under it (no proxy here carries UDP): said once, `proxy.udpOff`. Incoming peers still taken.
   */
  readonly proxy?: ProxySettings;
  /**
   * Internal: the dialer a magnet link's fetch used, or the host's of several torrents
   * (many-torrents.ts): its failures, and `proxy.udpOff`, are said there.
   */
  readonly proxyDialer?: ProxyDialer;
  /**
   * Internal: the peers a magnet link's metadata fetch reached (fetch-metadata.ts), with how each
   * dial came up. Dialled first, each address book record marked as the download's own dial would
   * mark it (`mseFirst`, `utpFirst`: docs/encryption.md), so a peer that needed MSE is dialled with
   * MSE first and not refused once more.
   */
  readonly dialled?: readonly DialledPeer[];
  /**
   * Internal: `peers` and `dialled` are a hybrid's v2 swarm's (BEP 52): those of a `urn:btmh:`-only
   * magnet link, which may know the torrent by no other hash. Dialled with its v2 hash, as the
   * fetch dialled them, so that they answer its piece-layer requests (torrent-piece-layers.ts).
   */
  readonly peersSwarm?: 'v2';
  /**
   * Internal: a hybrid fetched by magnet link without its piece layers (BEP 52): they are fetched
   * from the download's peers alongside it (src/session/hybrid-piece-layers.ts), or hashed from the
   * data once it is complete (src/session/computed-piece-layers.ts), and handed here, every file's,
   * to be saved (in the .torrent under DIR/.bitstate/). A save that fails is a warning
   * (`metadata.layersNotSaved`): the layers are served all the same.
   */
  readonly onPieceLayers?: (layers: readonly FetchedLayer[]) => Promise<void>;
  /**
   * Internal: the UDP socket (and its uTP) a magnet link's fetch ran on, which the download goes on
   * using instead of opening one; its owner closes it.
   */
  readonly udp?: SessionUdp;
  /** Accept incoming peers at all (default true). */
  readonly listen?: boolean;
  /**
   * Internal: a listening port shared with other torrents (seedMany, src/net/torrent-router.ts),
   * instead of opening one: its port is announced, the connections routed to this torrent (TCP and
   * uTP) adopted; closing it stops only the routing to this torrent. Goes with `udp` on its port.
   */
  readonly listener?: Listener;
  /**
   * Connections at once (default 50): our dials from the dial, incoming ones from their handshake
   * (as many again may wait for it); when every slot is taken a useless connection makes room for
   * a newcomer (docs/machines.md, "Connection slots").
   */
  readonly maxPeers?: number;
  /** Give up when no payload byte has arrived for this long. */
  readonly stallTimeoutMs?: number;
  /** Include per-peer detail in progress events. */
  readonly peerDetail?: boolean;
  readonly peerId?: Uint8Array;
  /** Seed of the picker's PRNG (random by default). */
  readonly seed?: number;
  /**
   * Sees every actor event and snapshot of the torrent machine's system (XState inspection API):
   * the hook for Stately's inspector, the local dashboard and traces. Block bytes pass through
   * here: summarise before anything leaves the process.
   */
  readonly inspect?: (event: InspectionEvent) => void;
  /** Keep seeding after completion (until stop(), or seedRatio / seedTimeMs). */
  readonly keepSeeding?: boolean;
  /**
   * Super-seeding (BEP 16, docs/seeding.md): once every piece is verified, each peer that connects
   * is told of no piece but one or two at a time, the next when it announces having one, so that
   * each piece leaves us about once and the peers spread it. For a full seed only: with `download`
   * it needs `keepSeeding`, and not a selection of some files (SuperSeedError, before anything
   * starts); `seed` data of which pieces are missing fetches them first.
   */
  readonly superSeed?: boolean;
  /**
   * A command run once when the download completes (`--on-complete`, docs/on-complete.md): every
   * wanted piece verified and synced to disk, in this session (a torrent complete at the start runs
   * none, as Transmission). With `keepSeeding` at the completion, seeding on meanwhile; else at the
   * end, its files closed. The torrent's facts in its environment only (never in the command); its
   * output on our stderr; `done` waits for it, killed after `timeoutMs` or by stop(). download()
   * only: seed() never completes a download. A blank command, one with a NUL, or a `timeoutMs` not
   * from 1 to 2^31-1 ms is refused before the session opens anything (OnCompleteError).
   */
  readonly onComplete?: OnCompleteHook;
  /** Stop seeding once uploaded ≥ ratio × the torrent's size (counted over the whole session). */
  readonly seedRatio?: number;
  /** Stop seeding after this long in the seeding state. */
  readonly seedTimeMs?: number;
  /** Payload rate limits in bytes per second, shared by every connection (token buckets). */
  readonly maxUploadRate?: number;
  readonly maxDownloadRate?: number;
  /** Internal: the upload limit's bucket shared with other torrents (seedMany's --max-up); else one of its own. */
  readonly uploadLimit?: TokenBucket;
  /** Internal: the download limit's bucket shared with other torrents (downloadMany's --max-down); else one of its own. */
  readonly downloadLimit?: TokenBucket;
  /** Memory for the read cache used to serve blocks (default 32 MiB). */
  readonly readCacheBytes?: number;
  /** Selective download: per file index, fetch it (default: all). See docs/resume.md. */
  readonly selected?: readonly boolean[];
  /** New pieces lowest index first (streaming). */
  readonly sequential?: boolean;
  /** Hash every wanted piece on disk instead of trusting the resume file. */
  readonly recheck?: boolean;
  /**
   * Where received blocks are written (src/storage/write-mode.ts): 'auto' (default) on the main
   * thread while the disk keeps up, else libuv's pool; 'pool' always on the pool (a network file
   * system that may hang); 'sync' always on the main thread.
   */
  readonly writeMode?: WriteModeSetting;
  /**
   * Reserve the disk space of each file this download creates, at once (fallocate, as aria2 and
   * Transmission do; src/storage/preallocate.ts). Default true; false leaves them sparse.
   */
  readonly preallocate?: boolean;
  /**
   * Download from the torrent's BEP 19 web seeds (its `url-list`, http/https only) besides its
   * peers (default true; docs/web-seeds.md).
   */
  readonly webSeeds?: boolean;
  /**
   * Range GETs in flight per web seed, each on a keep-alive connection of its own (default 4, at
   * most 16: DEFAULT_WEB_SEED_CONNECTIONS, MAX_WEB_SEED_CONNECTIONS in web-seed-connection.ts);
   * many servers limit each connection's speed. 1 asks one range at a time.
   */
  readonly webSeedConnections?: number;
  /** A web seed's answer or body silent this long fails it until its back-off (default 20 s). */
  readonly webSeedTimeoutMs?: number;
  /** The first back-off of a failed web seed, doubled per failure in a row (default 60 s). */
  readonly webSeedRetryMs?: number;
  /** How often the resume file is saved while pieces arrive (default RESUME_SAVE_INTERVAL_MS). */
  readonly resumeSaveIntervalMs?: number;
}
