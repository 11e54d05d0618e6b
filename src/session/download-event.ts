/**
 * What a running download reports, for the library API (`download().events$`), the terminal progress
 * display and `--json` (one event per NDJSON line). Never carries block bytes.
 */
import type { PeerBlockedSource } from '../../machines/torrent.types.js';

/**
 * Every figure of bytes here is the data's: padding (BEP 47 padding files, a v2 torrent's implicit
 * padding) is never stored nor moved and is counted in none (src/metainfo/piece-data-length.ts,
 * DataBytes), as libtorrent's total_wanted leaves pad files out. Piece counts and `pieceLength` are
 * the torrent's, padding included.
 */
export interface Progress {
  readonly verifiedPieces: number;
  /** The pieces wanted (all, or those of a selective download's files). */
  readonly pieceCount: number;
  /** Bytes of data in the verified pieces. */
  readonly verifiedBytes: number;
  /** Bytes of data in the wanted pieces: 100 % is verifiedBytes = totalLength. */
  readonly totalLength: number;
  /** Payload bytes received / sent over the last second(s), smoothed. */
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly downloaded: number;
  readonly uploaded: number;
  readonly peersConnected: number;
  readonly peersKnown: number;
  /** Addresses learnt from peers' BEP 11 ut_pex messages (new to us when named), since the start. */
  readonly peersFromPex: number;
  /** BEP 19 web seeds connected now (counted in peersConnected too); absent when the torrent has none. */
  readonly webSeedsConnected?: number;
  /** Seconds to completion at the current rate, or undefined when unknown. */
  readonly etaSeconds: number | undefined;
  readonly elapsedMs: number;
}

export interface PeerSummary {
  readonly address: string;
  readonly client: string;
  readonly state: string;
  readonly downloadRate: number;
  readonly outstanding: number;
  /** MSE with the RC4 stream, MSE then plaintext, or none (docs/encryption.md). */
  readonly encryption: 'rc4' | 'plaintext' | 'none';
  /** TCP or uTP (docs/utp.md); a web seed's is 'tcp'. */
  readonly transport: 'tcp' | 'utp';
  /** A BEP 19 web seed (its address is its URL). */
  readonly webSeed?: true;
}

export type DownloadEvent =
  | MetadataFetchEvent
  | HookEvent
  | DhtEvent
  | LsdEvent
  | ProxyEvent
  | UdpEvent
  | {
      readonly type: 'metadata';
      readonly name: string;
      readonly infoHash: string;
      /** The torrent's data: its files' bytes, padding left out (what `bitstate info` says). */
      readonly totalLength: number;
      readonly pieceCount: number;
      readonly pieceLength: number;
      readonly files: number;
      readonly out: string;
      /**
       * Tracker URLs the torrent lists past the first MAX_TRACKERS distinct ones, left out
       * (src/metainfo/limits.ts); absent when none.
       */
      readonly ignoredTrackers?: number;
    }
  | { readonly type: 'listening'; readonly port: number }
  /** Seeding: the data is hash-checked first (`checked` of `total` pieces so far). */
  | { readonly type: 'checking'; readonly checked: number; readonly total: number }
  | { readonly type: 'checked'; readonly have: number; readonly pieceCount: number }
  /**
   * A download found what is already on disk (docs/resume.md): `source` says how (`resumeFile`,
   * `recheck` when forced, `missing` / `corrupt` resume file), `trusted` pieces taken from the resume
   * file, `checked` pieces hashed, `have` of the `wanted` pieces verified.
   */
  | {
      readonly type: 'resume.loaded';
      readonly source: 'resumeFile' | 'recheck' | 'missing' | 'corrupt';
      readonly detail?: string;
      readonly trusted: number;
      readonly checked: number;
      readonly have: number;
      readonly wanted: number;
    }
  /**
   * What became of reserving the new files' disk space (src/storage/preallocate.ts): `skipped` when
   * the file system lacks `needBytes` plus headroom (`freeBytes` free), `failed` when fallocate
   * failed (`detail`: its complaint): the files then stay sparse and the download goes on.
   */
  | {
      readonly type: 'preallocation';
      readonly outcome: 'allocated' | 'skipped' | 'failed' | 'unavailable';
      readonly files: number;
      readonly needBytes: number;
      readonly freeBytes?: number;
      readonly detail?: string;
    }
  /** The resume file now claims these `have` pieces (all durably on disk). */
  | { readonly type: 'resume.saved'; readonly have: number }
  /**
   * Every piece verified and the session keeps serving; `superSeed` when it super-seeds (BEP 16,
   * `superSeed` option: each peer that connects from now on is shown a piece or two at a time).
   */
  | { readonly type: 'seeding'; readonly superSeed?: true }
  | {
      readonly type: 'peer.connected';
      readonly address: string;
      readonly client: string;
      /** The Fast Extension (BEP 6) is on for this connection: both handshakes set its bit. */
      readonly fast: boolean;
      /** MSE with the RC4 stream, MSE then plaintext, or none (docs/encryption.md). */
      readonly encryption: 'rc4' | 'plaintext' | 'none';
      /** TCP, or uTP (BEP 29; docs/utp.md). */
      readonly transport: 'tcp' | 'utp';
    }
  | { readonly type: 'peer.closed'; readonly address: string; readonly reason: string }
  | { readonly type: 'peer.banned'; readonly address: string }

  /**
   * A BEP 19 web seed's connection ended for a failure (an HTTP error, a timeout, a wrong length):
   * `failures` in all so far, and in how long it is tried again.
   */
  | {
      readonly type: 'webSeed.failed';
      readonly url: string;
      readonly reason: string;
      readonly message?: string;
      readonly failures: number;
      readonly retryInMs?: number;
    }
  /** An incoming peer (connected from `address`) listens at `listenAddress` (its BEP 10 `p`). */
  | { readonly type: 'peer.listening'; readonly address: string; readonly listenAddress: string }
  /** A peer's ut_pex message (BEP 11) named `added` peers, `learned` of them new to us (queued). */
  | {
      readonly type: 'peer.exchanged';
      readonly address: string;
      readonly added: number;
      readonly learned: number;
    }
  | { readonly type: 'piece.verified'; readonly index: number }
  | { readonly type: 'piece.failed'; readonly index: number }
  | {
      readonly type: 'tracker.announce';
      readonly url: string;
      readonly ok: boolean;
      readonly peers?: number;
      readonly interval?: number;
      readonly error?: string;
      /**
       * A hybrid's v2 swarm's answer (BEP 52): each swarm's answer is its own event, its `peers`
       * that swarm's; absent: the torrent's (v1) swarm.
       */
      readonly swarm?: 'v2';
    }
  | ({ readonly type: 'progress'; readonly peers?: readonly PeerSummary[] } & Progress)
  | {
      readonly type: 'done';
      /** From the start to the end: the data synced, the trackers told (or their wait given up). */
      readonly elapsedMs: number;
      /** From the start to the last piece verified: the transfer, without the wait for trackers. */
      readonly transferMs: number;
      /** The data of the wanted pieces (all, or a selective download's): the last progress's totalLength. */
      readonly totalLength: number;
      /** totalLength over transferMs, in bytes per second. */
      readonly averageRate: number;
    }
  | { readonly type: 'stopped'; readonly reason: string };

/**
 * A magnet link's metadata being fetched (BEP 9, src/session/fetch-metadata.ts), before the
 * `metadata` event: `metadata.fetching` first, `metadata.progress` each second (pieces of the
 * info dictionary in, peers offering it, connections open), a peer dropped for what it sent, and
 * `metadata.fetched` once the info dictionary's SHA-1 is the info-hash. A v2 magnet (BEP 52) then
 * fetches its piece layers: `metadata.layers` each second (piece hashes verified of those needed),
 * and `metadata.fetched` comes once they are all in, with `pieceLayerHashes`.
 */
/**
 * The IP filter (`--blocklist`, docs/blocklist.md) blocked a peer: never dialled, or (`incoming`)
 * its connection closed before a byte was read. `blocked` counts them so far, each address (host)
 * once however often it is named (blocked-peers.ts): a magnet's metadata fetch, then its download,
 * each from 1.
 */
export interface PeerBlockedEvent {
  readonly type: 'peer.blocked';
  readonly address: string;
  readonly source: PeerBlockedSource;
  readonly blocked: number;
}

export type MetadataFetchEvent =
  | PeerBlockedEvent
  | LsdPeerEvent
  | { readonly type: 'metadata.fetching'; readonly infoHash: string; readonly peers: number }
  | {
      readonly type: 'metadata.progress';
      readonly received: number;
      readonly pieces: number;
      readonly peers: number;
      readonly connected: number;
    }
  | { readonly type: 'metadata.peerDropped'; readonly address: string; readonly reason: string }
  | {
      readonly type: 'metadata.layers';
      readonly received: number;
      readonly hashes: number;
      readonly peers: number;
      readonly connected: number;
    }
  | {
      readonly type: 'metadata.fetched';
      readonly size: number;
      readonly elapsedMs: number;
      /** A v2 magnet's piece layer hashes fetched with it. */
      readonly pieceLayerHashes?: number;
    }
  /**
   * A hybrid fetched by magnet (BEP 52): its piece layers, fetched from its peers alongside the v1
   * download, are in (`hashes` piece hashes, each run proved to its file's `pieces root`), saved in
   * its .torrent under DIR/.bitstate/ and served to v2 peers' hash requests from now on.
   */
  | { readonly type: 'metadata.layersFetched'; readonly hashes: number }
  /**
   * A hybrid whose piece layers no peer gave (BEP 52), or whose .torrent lacks them: once complete,
   * the layers of `files` files (`hashes` piece hashes) were hashed from the data on disk, each
   * proved to its file's `pieces root` (src/session/computed-piece-layers.ts), and are served to v2
   * peers' hash requests from now on; `saved` in its .torrent under DIR/.bitstate/ (a hybrid fetched
   * by magnet, when every file's is known). `missing`: files still without one (a selective
   * download's files not stored); their layers are still fetched from peers.
   */
  | {
      readonly type: 'metadata.layersComputed';
      readonly files: number;
      readonly hashes: number;
      readonly saved: boolean;
      readonly missing?: number;
    }
  /**
   * `file` passed its v1 SHA-1s but hashes to another v2 `pieces root` than the info dictionary's:
   * the torrent's v1 and v2 descriptions disagree (libtorrent's torrent_inconsistent_hashes). It is
   * seeded to v1 peers; no piece layer is served for it.
   */
  | { readonly type: 'metadata.layersInconsistent'; readonly file: string }
  /** A hybrid's piece layers (fetched or hashed) could not be saved in its .torrent: served all the same. */
  | { readonly type: 'metadata.layersNotSaved'; readonly message: string }
  /** Hashing a hybrid's piece layers from the data failed (a read error): none served from it. */
  | { readonly type: 'metadata.layersNotComputed'; readonly message: string };

/**
 * The DHT (BEP 5, src/session/dht-announces.ts): `dht.ready` once per node, when its bootstrap
 * lookup settled (`nodes` in the routing table; `port` the UDP port; `savedNodes` the saved state
 * named and `fromSaved` of them in the table now; `stateError` why a saved state was ignored), then
 * `dht.peers` after each get_peers lookup: distinct `peers` it found, `queries` it sent, nodes
 * that took our `announced` port.
 */
export type DhtEvent =
  | {
      readonly type: 'dht.ready';
      readonly port: number;
      readonly nodes: number;
      readonly savedNodes: number;
      readonly fromSaved: number;
      readonly stateError?: string;
    }
  | {
      readonly type: 'dht.peers';
      readonly peers: number;
      readonly queries: number;
      readonly announced: number;
      readonly nodes: number;
      readonly elapsedMs: number;
    };

/**
 * Local Service Discovery (BEP 14, src/session/lsd-announces.ts): `lsd.ready` once per service,
 * with the `interfaces` (IPv4 addresses) it joined the group on (none: it finds and announces
 * nothing), or `lsd.off` once with the `reason` when the service cannot start (port 6771 held by
 * another program without SO_REUSEADDR: the session goes on without LSD); `lsd.peer` the first time a peer on the local network announces the torrent (a
 * hybrid's v2 hash: `swarm` 'v2'), queued as the DHT's peers are.
 */
export type LsdEvent =
  | { readonly type: 'lsd.ready'; readonly interfaces: readonly string[] }
  | { readonly type: 'lsd.off'; readonly reason: string }
  | LsdPeerEvent;

/** A peer on the local network announced the torrent (a magnet's fetch says it too). */
export type LsdPeerEvent = { readonly type: 'lsd.peer'; readonly address: string; readonly swarm?: 'v2' };

/**
 * The session's UDP socket (uTP and the DHT, docs/utp.md): `udp.portTaken` once at the start when
 * the port named (`--port N`) was kept though another program holds UDP port N: the socket is at
 * `udpPort` instead, where no peer dials uTP and no DHT reply to `port` comes.
 */
export type UdpEvent = { readonly type: 'udp.portTaken'; readonly port: number; readonly udpPort: number };

/**
 * A proxy (`--proxy`, `proxy`; docs/proxy.md): `proxy.udpOff` once at the start, naming what would
 * have used UDP and is off (no proxy we speak carries it); `proxy.failed` the first time each kind
 * of failure (a ProxyError code: the proxy unreachable, our credentials refused, …) is met: every
 * connection it fails counts as failed, the download goes on with whatever still works.
 */
export type ProxyEvent =
  | {
      readonly type: 'proxy.udpOff';
      /** The proxy, its password left out. */
      readonly proxy: string;
      readonly off: readonly ('utp' | 'dht' | 'lsd' | 'udpTrackers')[];
    }
  | { readonly type: 'proxy.failed'; readonly code: string; readonly message: string }
  /**
   * Once, the first time a host name (a tracker's, a web seed's, a peer's) is looked up here by our
   * DNS under `socks5://` (curl's meaning: the proxy is sent the address): the query goes around
   * the proxy; `socks5h://` has the proxy resolve names.
   */
  | { readonly type: 'proxy.localDns'; readonly proxy: string; readonly host: string };

/**
 * `--on-complete CMD` (src/session/on-complete-hook.ts, docs/on-complete.md): `hook.started` when the
 * command starts (its process id), `hook.exited` when it has ended: its exit `code`, or the `signal`
 * that ended it; `killed` when we killed it (it outlived its `timeout`, or the session was
 * `stopped`: Ctrl-C); `error` when it could not be started at all.
 */
export type HookEvent =
  | { readonly type: 'hook.started'; readonly command: string; readonly pid: number }
  | {
      readonly type: 'hook.exited';
      readonly code: number | null;
      readonly signal: string | null;
      readonly elapsedMs: number;
      readonly killed?: 'timeout' | 'stopped';
      readonly error?: string;
    };
