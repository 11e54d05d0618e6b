/**
 * The vocabulary of the torrent machine (machines/torrent.machine.ts), the supervisor of one
 * torrent's download: its input, the events it takes (from the world, its peers and its storage),
 * what it emits for the CLI/NDJSON (`actor.on(...)`), and its typed output. Pure types.
 */
import type { PieceLayerTrees } from '../src/metainfo/merkle-proof.js';
import type { Bitfield } from '../src/picker/bitfield.js';
import type { ChokerDecision } from './choker.machine.js';
import type { FetchedLayer } from './metadata.machine.js';
import type {
  CloseReason,
  PeerEncryption,
  PeerKey,
  PeerLimits,
  PeerReport,
  PeerTimeouts,
  PeerTransport,
  ReceivedBlock,
} from './peer.types.js';
import type { PieceLayerPlan } from './piece-layer-fetch.js';
import type { DialOutcome } from './torrent-address-book.js';
import type { TrackerReport } from './tracker.machine.js';

export interface TorrentInput {
  readonly infoHash: Uint8Array;
  /**
   * A hybrid torrent's v2 swarm (BEP 52): the first 20 bytes of its SHA-256 info-hash, `infoHash`
   * being its SHA-1 one. Its peers' handshakes carry either (PeerInput.otherInfoHash); absent (v1, v2):
   * one swarm.
   */
  readonly otherInfoHash?: Uint8Array;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  /** The picker's block length; BLOCK_LENGTH (16 KiB) unless a test shrinks it. */
  readonly blockLength?: number;
  /**
   * Pieces that end in padding (BEP 47, v2's implicit padding) → their bytes before it: the padding
   * is never requested (src/metainfo/piece-data-length.ts).
   */
  readonly pieceDataLengths?: ReadonlyMap<number, number>;
  /**
   * Connections at once (outgoing and incoming), incoming ones counted from their handshake
   * (machines/torrent-slots.ts).
   */
  readonly maxPeers: number;
  /** Incoming connections waiting for their handshake at once (default: maxPeers). */
  readonly maxHalfOpen?: number;
  /** Address records remembered at most (default DEFAULT_MAX_ADDRESSES, 3,000). */
  readonly maxAddresses?: number;
  /** Seed of the picker's PRNG: the same input and the same events give the same run. */
  readonly seed: number;
  /** Pieces already verified on disk (resume); they are never requested. */
  readonly have?: Bitfield;
  /** Selective download: only these pieces are fetched, and the torrent completes when they are in. */
  readonly wanted?: Bitfield;
  /** New pieces lowest index first (streaming), the picker's `sequential` option. */
  readonly sequential?: boolean;
  /** An address whose connection ended for a non-permanent reason is dialled again this many times. */
  readonly maxReconnects?: number;
  /** How often peers with nothing we want are dropped when addresses wait for a slot (ms). */
  readonly rotateMs?: number;
  readonly peerTimeouts?: Partial<PeerTimeouts>;
  readonly peerLimits?: Partial<PeerLimits>;
  /** In endgame a block is requested from at most this many peers (the picker's option). */
  readonly endgameMaxRequesters?: number;
  /**
   * Keep serving once every piece is verified (state `seeding`, left only by cmd.stop: the world
   * stops it at a seed ratio or time). A torrent that starts complete then seeds at once.
   */
  readonly seedWhenComplete?: boolean;
  /**
   * BEP 16, super-seeding: once every piece is verified, each connection made from then on is shown
   * a piece or two at a time (machines/torrent-super-seed.ts). A torrent never complete (a partial
   * seed) never does. Absent: false.
   */
  readonly superSeed?: boolean;
  /** The choker's regular unchoke slots (default 4) and round length (default 10 s). */
  readonly unchokeSlots?: number;
  readonly rechokeMs?: number;
  /** The torrent's trackers (BEP 12 tiers) and the port we announce; absent: no announces. */
  readonly trackers?: { readonly tiers: readonly (readonly string[])[]; readonly port: number };
  /** The port we accept peers on, told to peers as BEP 10 `p`; absent: we do not listen. */
  readonly listenPort?: number;
  /**
   * The info dictionary's raw bytes, served to peers that ask for them (BEP 9 ut_metadata);
   * absent (a private torrent, or a test): we offer no metadata.
   */
  readonly metadata?: Uint8Array;
  /**
   * A v2 torrent's merkle trees above its piece layers (src/metainfo/piece-layer-trees.ts), which
   * answer peers' BEP 52 hash requests; absent (v1, hybrid, a test): every hash request is rejected.
   */
  readonly pieceLayerTrees?: PieceLayerTrees;
  /**
   * A hybrid fetched by magnet (BEP 52): the files whose piece layers its info dictionary lacks,
   * fetched from its peers alongside the v1 download (machines/torrent-piece-layers.ts) and handed
   * to the world (`torrent.pieceLayers`), which answers with the trees (`pieceLayers.trees`).
   */
  readonly pieceLayerPlan?: PieceLayerPlan;
  /**
   * BEP 11 peer exchange (machines/torrent-pex.ts): announce ut_pex, tell peers of each other, queue
   * the peers they tell of. Never for a private torrent (BEP 27); absent: off.
   */
  readonly pex?: boolean;
  /**
   * `host:port` addresses that reach our own listener (each local interface with listenPort): a
   * tracker lists us among its peers, and an address here is never dialled. A self-connection by
   * another address (NAT, an alias) is still caught by the peer ID after the handshake
   * (`connectedToSelf`).
   */
  readonly selfAddresses?: readonly string[];
  /**
   * BEP 19 web seeds (http/https URLs of the torrent's `url-list`): each a peer that has every
   * piece, connected while downloading, tried again after a back-off when it fails
   * (machines/torrent-web-seeds.ts). Absent or empty: none.
   */
  readonly webSeeds?: readonly string[];
  /** The first back-off of a failed web seed (default WEB_SEED_RETRY_MS, 60 s). */
  readonly webSeedRetryMs?: number;
}

/** How long finishing and stopping wait for trackers to hear `completed` / `stopped`. */
export const TRACKER_GRACE_MS = 5_000;
/**
 * How long closing waits for `stopped` when the trackers already let finishing's grace pass without
 * answering `completed`: a tracker that hangs would otherwise hold the exit for two graces (10 s).
 */
export const TRACKER_SILENT_STOP_MS = 1_000;

export const DEFAULT_MAX_RECONNECTS = 2;

export const DEFAULT_ROTATE_MS = 30_000;

/**
 * The ban rule's memory (machines/failed-blocks.ts): at most this many blocks of failed pieces are
 * remembered with their sender and hash, about 150 bytes each (2.4 MB in all); past it the pieces
 * that failed longest ago are forgotten first. 16 pieces of 16 MiB, 256 of 1 MiB.
 */
export const MAX_FAILED_BLOCKS = 16_384;

/** What the `storage` actor is invoked with. */
export interface StorageInput {
  readonly infoHash: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  /** The picker's block length: what a block hash covers (BLOCK_LENGTH when absent). */
  readonly blockLength?: number;
}

/**
 * Torrent machine → storage actor. `storage.write` carries the blocks accepted from one socket read
 * (one event per read, not per block); each block is a view of the socket's chunk.
 */
export type StorageCommand =
  | { type: 'storage.write'; blocks: readonly ReceivedBlock[] }
  | { type: 'storage.verify'; index: number }
  /** A piece that had failed now passed: the hash of each of its blocks, for the ban rule. */
  | { type: 'storage.hashBlocks'; index: number };

/** Storage actor → torrent machine. */
export type StorageEvent =
  | { type: 'piece.verified'; index: number }
  | { type: 'pieces.verified'; indexes: readonly number[] }
  /**
   * `blockHashes`: the SHA-1 of each block (20 bytes each, in block order) as the piece failed,
   * read back before this event was sent, so before any block of a new attempt was written.
   */
  | { type: 'piece.hashFailed'; index: number; blockHashes: Uint8Array }
  /** The answer to `storage.hashBlocks`: each block's SHA-1 as the piece passed. */
  | { type: 'piece.blockHashes'; index: number; hashes: Uint8Array }
  | { type: 'storage.error'; message: string };

/** The world → torrent machine. */
export type TorrentCommand =
  /**
   * A peer address (tracker, DHT, CLI): queued, dialled when a slot is free. `swarm: 'v2'`: learnt in
   * a hybrid's v2 swarm (the DHT's answer for its v2 hash), dialled with that hash (AddressRecord.v2Swarm).
   * `dialled`: how a dial there came up before this machine existed (a magnet's metadata fetch),
   * remembered as its own dial's would be (noteEarlierDial).
   */
  | {
      type: 'peer.add';
      address: string;
      swarm?: 'v2';
      dialled?: DialOutcome;
      /** Where the world heard of it, for torrent.peerBlocked (default `peer`: the user's --peer). */
      source?: 'peer' | 'dht' | 'lsd';
    }
  /** An accepted socket: `handle` goes untouched into the peer's `connection` actor input. */
  | { type: 'peer.incoming'; address: string; handle: unknown }
  /**
   * The trees over a hybrid's piece layers — those `torrent.pieceLayers` handed out, or those the
   * world hashed from the data (src/session/computed-piece-layers.ts): hash requests answered from
   * now on. Every layer unless `partial` (some files' only: a selective download's): then any
   * fetch of them goes on, for the others.
   */
  | { type: 'pieceLayers.trees'; trees: PieceLayerTrees; partial?: boolean }
  | { type: 'cmd.stop' };

/**
 * The `trackers` actor's reports; `trackers.idle` when told `completed` while every tracker failed
 * (nothing will be announced before its retry, so nobody need wait for it); `trackers.done`
 * raised when it has finished.
 */
export type TrackersEvent = TrackerReport | { type: 'trackers.idle' } | { type: 'trackers.done' };

/** The `ticker` actor's beat: the torrent machine's sense of time (nowMs). */
export interface ClockTick {
  readonly type: 'clock.tick';
}

export type TorrentEvent =
  | TorrentCommand
  | PeerReport
  | StorageEvent
  | TrackersEvent
  | ChokerDecision
  | ClockTick;

/** Notifications for the world (`actor.on('torrent.pieceVerified', ...)`). No block bytes. */
export type TorrentEmitted =
  /** `fast`: both handshakes set the Fast Extension bit (BEP 6). */
  | {
      type: 'torrent.peerConnected';
      key: PeerKey;
      address: string;
      fast: boolean;
      /** What carries the connection: MSE with RC4, MSE then plaintext, or none (docs/encryption.md). */
      encryption: PeerEncryption;
      /** TCP or uTP (docs/utp.md). */
      transport: PeerTransport;
    }
  /**
   * A peer's ut_pex message (BEP 11) was taken: it named `added` peers, `learned` of them new to us
   * and queued (the rest known already, ours, banned, or past the limits of torrent-pex.ts).
   */
  | { type: 'torrent.peersExchanged'; key: PeerKey; address: string; added: number; learned: number }
  /** An incoming peer (at `address`) said, in BEP 10 `p`, that it accepts connections at `listenAddress`. */
  | { type: 'torrent.peerListening'; key: PeerKey; address: string; listenAddress: string }
  | { type: 'torrent.peerClosed'; key: PeerKey; address: string; reason: CloseReason }
  /**
   * A web seed's connection closed (after its torrent.peerClosed): `failures` in all so far, and
   * in how long it is tried again (absent: never, it is banned).
   */
  | {
      type: 'torrent.webSeedClosed';
      url: string;
      reason: CloseReason;
      failures: number;
      retryInMs?: number;
    }
  /**
   * `soleContributor`: every block of a failed piece was its; `badBlock`: a block it sent to a
   * failed piece differs from the block that passed, or from what it sent before for that block.
   */
  | { type: 'torrent.peerBanned'; address: string; why: 'soleContributor' | 'badBlock'; index: number }
  | { type: 'torrent.pieceVerified'; index: number; have: number; pieceCount: number }
  | { type: 'torrent.pieceFailed'; index: number; contributors: PeerKey[] }
  /** Every piece verified and the torrent keeps serving. */
  /** Every piece verified and we serve on; `superSeed` when we super-seed (BEP 16: torrent-super-seed.ts). */
  | { type: 'torrent.seeding'; superSeed?: true }
  | {
      type: 'torrent.trackerAnnounced';
      url: string;
      peerCount: number;
      interval: number;
      warning?: string;
      /** A hybrid's v2 swarm's answer (each swarm's is reported on its own). */
      swarm?: 'v2';
    }
  | { type: 'torrent.trackerFailed'; url: string; message: string; retryInMs: number }
  /** A hybrid fetched by magnet: every piece layer of TorrentInput.pieceLayerPlan is in, each proved. */
  | { type: 'torrent.pieceLayers'; layers: readonly FetchedLayer[] }
  /** The world must close this accepted socket: a banned host, or a duplicate. */
  | {
      type: 'torrent.incomingRejected';
      address: string;
      handle: unknown;
      /**
       * `closing`: the torrent is finishing or stopping and takes no new peers; `blocked`: the IP
       * filter blocks its address (the guard isBlockedAddress).
       */
      why: 'banned' | 'duplicate' | 'closing' | 'blocked';
    }
  /**
   * The IP filter (`--blocklist`: the guard isBlockedAddress) blocked a peer address as it came: from
   * a tracker, peer exchange, `peer.add` (`peer`: the user's `--peer`; `dht`; `lsd`) or an incoming
   * connection (refused). Not remembered: it is never in the address book.
   */
  | { type: 'torrent.peerBlocked'; address: string; source: PeerBlockedSource };

/** Where a blocked address came from (torrent.peerBlocked). */
export type PeerBlockedSource = 'tracker' | 'pex' | 'peer' | 'dht' | 'lsd' | 'incoming';

export type TorrentOutput =
  | { result: 'complete' }
  | { result: 'stopped' }
  | { result: 'storageError'; message: string };
