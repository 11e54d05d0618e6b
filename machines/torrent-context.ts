/**
 * The torrent machine's context (machines/torrent.machine.ts): what the supervisor knows of the
 * torrent, its peers and their addresses, its starting values, and the effects an action may have.
 * Maps, Sets and the PiecePicker are held by reference and changed in named actions only.
 */
import type { PieceLayerTrees } from '../src/metainfo/merkle-proof.js';
import { PiecePicker } from '../src/picker/piece-picker.js';
import { mulberry32 } from '../src/picker/prng.js';
import { FailedBlocks } from './failed-blocks.js';
import {
  DEFAULT_PEER_LIMITS,
  type PeerCommand,
  type PeerKey,
  type PeerLimits,
  type PeerTimeouts,
} from './peer.types.js';
import { SuperSeedReveals } from './super-seed-reveals.js';
import { SuspectPieces } from './suspect-pieces.js';
import {
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_ROTATE_MS,
  type StorageCommand,
  type TorrentEmitted,
  type TorrentInput,
} from './torrent.types.js';
import { type AddressRecord, DEFAULT_MAX_ADDRESSES } from './torrent-address-book.js';
import type { PeerEntry, PeerRef } from './torrent-peers.js';
import { type LayerFetchState, startLayerFetch } from './torrent-piece-layers.js';
import { initialWebSeeds, WEB_SEED_RETRY_MS, type WebSeedRecord } from './torrent-web-seeds.js';

export type { AddressRecord } from './torrent-address-book.js';

/** Mixed into the input's seed for super-seeding's tie draws (BEP 16), a stream apart from the picker's. */
const SUPER_SEED_STREAM = 0x5eed0016;

export interface TorrentContext {
  readonly infoHash: Uint8Array;
  /** A hybrid's v2 swarm's hash (TorrentInput.otherInfoHash); undefined for a v1 or v2 torrent. */
  readonly otherInfoHash: Uint8Array | undefined;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  /** Connections at once, not counting incoming ones before their handshake (`halfOpen`). */
  readonly maxPeers: number;
  /** Incoming connections waiting for their handshake, at most (machines/torrent-slots.ts). */
  readonly maxHalfOpen: number;
  /** Records in `addresses` at most (machines/torrent-address-book.ts). */
  readonly maxAddresses: number;
  readonly maxReconnects: number;
  readonly peerTimeouts: Partial<PeerTimeouts>;
  readonly peerLimits: Partial<PeerLimits>;
  /** The cap of outstanding requests per peer (peerLimits.maxPipeline). */
  readonly maxPipeline: number;
  readonly picker: PiecePicker;
  /** Announce URLs in BEP 12 tiers; none means the `trackers` actor is never started. */
  readonly trackerTiers: readonly (readonly string[])[];
  /** Port we announce to trackers. */
  readonly port: number;
  /** Port we accept peers on, sent to them as BEP 10 `p`; undefined when we do not listen. */
  readonly listenPort: number | undefined;
  /** The info dictionary's bytes we serve (BEP 9), by reference; never copied into a peer's context. */
  readonly metadata: Uint8Array | undefined;
  /**
   * A v2 torrent's trees above its piece layers (BEP 52 hash requests), by reference; undefined: v1,
   * or a hybrid without its layers (yet: a hybrid fetched by magnet gets them, pieceLayers.trees).
   */
  pieceLayerTrees: PieceLayerTrees | undefined;
  /** A hybrid fetched by magnet fetching its piece layers (machines/torrent-piece-layers.ts). */
  readonly layerFetch: LayerFetchState | undefined;
  /** BEP 11 peer exchange is on (TorrentInput.pex): we announce ut_pex, send it and take it. */
  readonly pex: boolean;
  /** Addresses queued because a peer's ut_pex message named them (new to the address book). */
  pexLearned: number;
  /** Addresses that are our own listener (TorrentInput.selfAddresses): never queued. */
  readonly selfAddresses: ReadonlySet<string>;
  readonly seed: number;
  /** Live connections by key (= address). Changed only in named actions. */
  readonly peers: Map<PeerKey, PeerEntry>;
  /** Addresses waiting for a free slot, and everything known about each address. */
  readonly queue: string[];
  readonly addresses: Map<string, AddressRecord>;
  /**
   * Hosts a ban covers for incoming connections, by ban key (src/net/ban-key.ts: an IPv4 address,
   * an IPv6 /64), oldest first, at most MAX_BANNED_HOSTS.
   */
  readonly bannedHosts: Set<string>;
  /** Incoming connections not handshaken yet, oldest first: they hold no slot of `maxPeers`. */
  readonly halfOpen: Set<PeerKey>;
  /** Connections told to close to make room (or refused a slot) and not closed yet: no slot either. */
  readonly leaving: Set<PeerKey>;
  /** The `ticker`'s time: ms since the torrent started, in SLOT_TICK_MS steps. */
  nowMs: number;
  /**
   * Where live incoming peers listen (their BEP 10 `p`), to the key of their connection: such an
   * address is not dialled while the connection holds it, and is queued if a network error closes
   * that connection.
   */
  readonly listenAddresses: Map<string, PeerKey>;
  /**
   * Where peers that have left listened (BEP 10 `p`), by their connection's key, oldest first, at
   * most maxAddresses: a verdict of the smart ban can come after its culprit left (banPeer).
   */
  readonly departedListen: Map<PeerKey, string>;
  /** Who sent each block of the pieces that failed, and its hash, until they pass (the ban rule). */
  readonly failedBlocks: FailedBlocks;
  /**
   * Pieces that failed with several contributors: each is fetched again from ONE peer (its owner),
   * so the next result names the culprit or clears the owner (suspect-pieces.ts).
   */
  readonly suspects: SuspectPieces;
  /** Every this many ms, useless peers make room for queued addresses (see dropUselessPeers). */
  readonly rotateMs: number;
  /** The highest `peer#n` actor id given so far, and the numbers closed connections gave back. */
  serial: number;
  readonly freeIds: number[];
  storageError: string | undefined;
  /** The trackers let finishing's grace pass without a word: `stopped` gets a short wait. */
  trackersSilent: boolean;
  /** Keep serving once complete (state `seeding`). */
  readonly seedWhenComplete: boolean;
  readonly unchokeSlots: number | undefined;
  readonly rechokeMs: number | undefined;
  /** BEP 19 web seeds by URL (machines/torrent-web-seeds.ts); a live one is also in `peers`. */
  readonly webSeeds: Map<string, WebSeedRecord>;
  /** The first back-off of a failed web seed. */
  readonly webSeedRetryMs: number;
  /**
   * BEP 16 (TorrentInput.superSeed): which pieces are revealed to how many super-seeded
   * connections (machines/torrent-super-seed.ts); undefined: we do not super-seed.
   */
  readonly superSeed: SuperSeedReveals | undefined;
}

/** The context a torrent machine starts with: the picker seeded from the input, no peers yet. */
export function initialTorrentContext(input: TorrentInput): TorrentContext {
  const picker = new PiecePicker({
    pieceCount: input.pieceCount,
    pieceLength: input.pieceLength,
    totalLength: input.totalLength,
    blockLength: input.blockLength,
    random: mulberry32(input.seed),
    endgameMaxRequesters: input.endgameMaxRequesters,
    sequential: input.sequential,
    ...(input.pieceDataLengths === undefined ? {} : { dataLengths: input.pieceDataLengths }),
  });
  if (input.wanted !== undefined)
    for (let i = 0; i < input.pieceCount; i++) if (!input.wanted.has(i)) picker.setWanted(i, false);
  if (input.have !== undefined) for (const i of input.have.indexes()) picker.markHave(i);
  return {
    infoHash: input.infoHash,
    otherInfoHash: input.otherInfoHash,
    peerId: input.peerId,
    pieceCount: input.pieceCount,
    pieceLength: input.pieceLength,
    totalLength: input.totalLength,
    maxPeers: input.maxPeers,
    maxHalfOpen: Math.max(1, input.maxHalfOpen ?? input.maxPeers),
    maxAddresses: Math.max(1, input.maxAddresses ?? DEFAULT_MAX_ADDRESSES),
    maxReconnects: input.maxReconnects ?? DEFAULT_MAX_RECONNECTS,
    peerTimeouts: input.peerTimeouts ?? {},
    peerLimits: { blockLength: input.blockLength ?? DEFAULT_PEER_LIMITS.blockLength, ...input.peerLimits },
    maxPipeline: input.peerLimits?.maxPipeline ?? DEFAULT_PEER_LIMITS.maxPipeline,
    picker,
    trackerTiers: input.trackers?.tiers ?? [],
    port: input.trackers?.port ?? 0,
    listenPort: input.listenPort,
    metadata: input.metadata,
    pieceLayerTrees: input.pieceLayerTrees,
    layerFetch:
      input.pieceLayerPlan === undefined || input.pieceLayerTrees !== undefined
        ? undefined
        : startLayerFetch(input.pieceLayerPlan),
    pex: input.pex === true,
    pexLearned: 0,
    selfAddresses: new Set(input.selfAddresses ?? []),
    seed: input.seed,
    peers: new Map(),
    queue: [],
    addresses: new Map(),
    bannedHosts: new Set(),
    halfOpen: new Set(),
    leaving: new Set(),
    nowMs: 0,
    listenAddresses: new Map(),
    departedListen: new Map(),
    failedBlocks: new FailedBlocks(),
    suspects: new SuspectPieces(),
    rotateMs: input.rotateMs ?? DEFAULT_ROTATE_MS,
    serial: 0,
    freeIds: [],
    storageError: undefined,
    trackersSilent: false,
    seedWhenComplete: input.seedWhenComplete ?? false,
    unchokeSlots: input.unchokeSlots,
    rechokeMs: input.rechokeMs,
    webSeeds: initialWebSeeds(input.webSeeds),
    webSeedRetryMs: input.webSeedRetryMs ?? WEB_SEED_RETRY_MS,
    // Its own PRNG stream (the picker's is not shared), seeded from the same input.
    superSeed:
      input.superSeed === true
        ? new SuperSeedReveals(input.pieceCount, mulberry32((input.seed ^ SUPER_SEED_STREAM) >>> 0))
        : undefined,
  };
}

/**
 * What an action body may do, in the order it does it: the machine binds these to
 * `enqueue.emit(…)`, `enqueue.sendTo(ref, …)` and `enqueue.sendTo('storage', …)`.
 */
export interface TorrentEffects {
  emit(event: TorrentEmitted): void;
  toPeer(ref: PeerRef, command: PeerCommand): void;
  toStorage(command: StorageCommand): void;
}
