/**
 * The peer machine's context (machines/peer.machine.ts): what one connection knows, its starting
 * values, and the effects an action may have. Maps and Sets are held by reference and changed in
 * named actions only (docs/machines.md, "Small context").
 */
import type { PieceLayerTrees } from '../src/metainfo/merkle-proof.js';
import { Bitfield } from '../src/picker/bitfield.js';
import {
  type BlockRef,
  type CloseReason,
  type ConnectionCommand,
  DEFAULT_PEER_LIMITS,
  DEFAULT_PEER_TIMEOUTS,
  type PeerEncryption,
  type PeerInput,
  type PeerKey,
  type PeerLimits,
  type PeerReport,
  type PeerTimeouts,
  type PeerTransport,
} from './peer.types.js';

export interface PeerContext {
  readonly key: PeerKey;
  readonly infoHash: Uint8Array;
  /** A hybrid's other swarm's info-hash (PeerInput.otherInfoHash), accepted as `infoHash` is. */
  readonly otherInfoHash: Uint8Array | undefined;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly handle: unknown;
  /** Dial with MSE first (PeerInput.mseFirst), told to the connection. */
  readonly mseFirst: boolean;
  /** Dial over uTP first (PeerInput.utpFirst), told to the connection. */
  readonly utpFirst: boolean;
  readonly timeouts: PeerTimeouts;
  readonly limits: PeerLimits;
  /** Our verified pieces, by reference (never copied). */
  readonly ourBitfield: Bitfield;
  /** BEP 16: we super-seed this connection (PeerInput.superSeed). */
  readonly superSeed: boolean;
  /** BEP 16: the pieces it is shown now (cmd.reveal), at most MAX_REVEALED_PER_PEER. */
  revealed: readonly number[];
  /**
   * BEP 16: every piece we sent `have` for on this connection (cmd.reveal), made once when super-
   * seeded: what the peer may request. A have stands: a piece no longer among `revealed` (the peer
   * went not interested, torrent-super-seed.ts) may be asked for by a request that crossed it.
   */
  readonly announced: Bitfield | undefined;
  /** The peer's pieces, by reference; replaced once by its bitfield, then changed by `have`s. */
  peerBitfield: Bitfield;
  remotePeerId: Uint8Array | undefined;
  /** What carries the connection, from the peer's handshake on (docs/encryption.md). */
  encryption: PeerEncryption;
  /** TCP or uTP, from the peer's handshake on (docs/utp.md). */
  transport: PeerTransport;
  /** Requests sent and not yet answered, by blockKey(index, begin); by reference, changed in named actions. */
  readonly outstanding: Map<number, BlockRef>;
  /** Blocks we cancelled that may still arrive (BEP 3: cancel races the piece); bounded. */
  readonly cancelled: Set<number>;
  /** Requests dropped in a row because the peer's queue with us was full (requestFate: `requestFlood`). */
  droppedRequests: number;
  /** Requests refused in a row because we choke the peer (requestFate: `requestsWhileChoked`). */
  chokedRequests: number;
  amInterested: boolean;
  peerChoking: boolean;
  /** Unchokes from the peer, less one per tick (a leaky bucket: see isUnchokeFlood). */
  recentUnchokes: number;
  /** Times the peer became interested (or cleared its BEP 21 upload_only), less one per tick (see isInterestFlood). */
  recentInterest: number;
  peerInterested: boolean;
  /** A have arrived: haveAll, haveNone or (from a peer without BEP 6) a bitfield now is a violation. */
  messageSeen: boolean;
  /** Bytes of accepted blocks since the last tick, and the smoothed rate in bytes per second. */
  bytesThisTick: number;
  rate: number;
  rateMeasured: boolean;
  /** Pipeline size we aim for: outstanding requests = target when the supervisor has blocks. */
  target: number;
  silentMs: number;
  sinceBlockMs: number;
  closeReason: CloseReason | undefined;
  // --- serving (the `upload` region) ---
  /** We choke the peer (BEP 3 am_choking); the upload region's state, kept here for the inspector. */
  amChoking: boolean;
  /** Valid requests from the peer not yet handed to storage, in arrival order; by reference. */
  readonly requestQueue: Map<number, BlockRef>;
  /** Requests handed to the connection (serve), not yet written (socket.served); at most readWindow, in order. */
  readonly reading: Map<number, BlockRef>;
  /** The connection said its unsent bytes passed the high-water mark: hand nothing more to storage. */
  congested: boolean;
  // --- BEP 6, the Fast Extension (docs/machines.md, "Fast Extension") ---
  /** Both ends set the fast bit in their handshakes. */
  fast: boolean;
  /** Pieces we allow this peer while we choke it (from socket.connected), sent after our bitfield. */
  grantedFast: readonly number[];
  /** Bytes of granted pieces queued while we choke: at most grantedFast.length × pieceLength, then reject. */
  grantedBytes: number;
  /** Pieces the peer allows us while it chokes us (bounded by MAX_ALLOWED_FAST). */
  readonly allowedFast: number[];
  /** The peer's suggestions, newest last (bounded by MAX_SUGGESTED): recorded, not yet used by the picker. */
  readonly suggested: number[];
  // --- BEP 10, the Extension Protocol (docs/machines.md, "Extension handshake") ---
  /** Both ends set the BEP 10 bit: we sent our extension handshake. */
  extensions: boolean;
  /** The peer's `reqq` from its extension handshake: our pipeline to it never exceeds it. */
  peerReqq: number | undefined;
  /** The port we accept peers on: our extension handshake's `p` (none when we do not listen). */
  readonly listenPort: number | undefined;
  // --- BEP 9, ut_metadata (machines/peer-metadata.ts) ---
  /** The info dictionary's bytes we serve (the torrent's, by reference); undefined: not offered. */
  readonly metadata: Uint8Array | undefined;
  /** The id the peer takes ut_metadata messages under (its extension handshake's `m`). */
  peerUtMetadata: number | undefined;
  /** ut_metadata requests the peer made on this connection (closed past MAX_METADATA_REQUESTS). */
  metadataRequests: number;
  // --- BEP 52, merkle hashes (machines/peer-hashes.ts) ---
  /** Our torrent's trees above its piece layers (by reference); undefined: v1, or a hybrid without layers. */
  pieceLayerTrees: PieceLayerTrees | undefined;
  /** PeerInput.fetchesLayers: BEP 52's bit in our handshake before the trees are in. */
  readonly fetchesLayers: boolean;
  /** Hash requests the peer made on this connection (closed past hashRequestLimit). */
  hashRequests: number;
  /** Block-layer read slots in use (bit `slot` set while `blockHashes.<slot>` reads: MAX_BLOCK_HASH_READS). */
  blockHashReads: number;
  /** Block-layer reads this connection started (past MAX_BLOCK_HASH_READS_PER_CONNECTION: rejected). */
  blockHashReadCount: number;
  // --- BEP 11, ut_pex (machines/peer-pex.ts) ---
  /** Peer exchange is on for this torrent (not private, not --no-pex). */
  readonly pex: boolean;
  /** The id the peer takes ut_pex messages under (its extension handshake's `m`). */
  peerUtPex: number | undefined;
  // --- BEP 21, upload only (machines/peer-extension.ts) ---
  /** We will not download from the peer: a seed, or a partial seed (PeerInput.uploadOnly, cmd.uploadOnly). */
  uploadOnly: boolean;
  /** What the peer was last told of `uploadOnly` (our extension handshake, then upload_only messages). */
  uploadOnlySent: boolean;
  /** The peer will not download from us (its handshake's `upload_only`, or its upload_only message). */
  peerUploadOnly: boolean;
  /** The id the peer takes libtorrent's upload_only message under (its handshake's `m`); undefined: none. */
  peerUploadOnlyId: number | undefined;
  /** Payload bytes sent since the last tick; smoothed rates (bytes/s) for the choker. */
  bytesSentThisTick: number;
  uploadRate: number;
  downloadRate: number;
  /** Interested and no block for this long (snub clock), and what we last reported. */
  sinceReceivedMs: number;
  lastRateReport: string;
}

/** A piece index of this torrent: what a peer sends may be any number. */
export function isPieceIndex(c: Pick<PeerContext, 'pieceCount'>, index: number): boolean {
  return Number.isInteger(index) && index >= 0 && index < c.pieceCount;
}

/** The context a peer machine starts with: nothing known of the peer, both sides choked, not interested. */
export function initialPeerContext(input: PeerInput): PeerContext {
  return {
    key: input.key,
    infoHash: input.infoHash,
    otherInfoHash: input.otherInfoHash,
    peerId: input.peerId,
    pieceCount: input.pieceCount,
    pieceLength: input.pieceLength,
    totalLength: input.totalLength,
    address: input.address,
    direction: input.direction,
    handle: input.handle,
    mseFirst: input.mseFirst === true,
    utpFirst: input.utpFirst === true,
    timeouts: { ...DEFAULT_PEER_TIMEOUTS, ...input.timeouts },
    limits: { ...DEFAULT_PEER_LIMITS, ...input.limits },
    ourBitfield: input.ourBitfield,
    superSeed: input.superSeed === true,
    revealed: [],
    announced: input.superSeed === true ? new Bitfield(input.pieceCount) : undefined,
    peerBitfield: new Bitfield(input.pieceCount),
    remotePeerId: undefined,
    outstanding: new Map(),
    cancelled: new Set(),
    droppedRequests: 0,
    chokedRequests: 0,
    amInterested: false,
    peerChoking: true,
    recentUnchokes: 0,
    recentInterest: 0,
    peerInterested: false,
    messageSeen: false,
    bytesThisTick: 0,
    rate: 0,
    rateMeasured: false,
    target: Math.min(
      input.limits?.initialPipeline ?? DEFAULT_PEER_LIMITS.initialPipeline,
      input.limits?.maxPipeline ?? DEFAULT_PEER_LIMITS.maxPipeline,
    ),
    silentMs: 0,
    sinceBlockMs: 0,
    closeReason: undefined,
    amChoking: true,
    requestQueue: new Map(),
    reading: new Map(),
    congested: false,
    fast: false,
    encryption: 'none',
    transport: 'tcp',
    grantedFast: [],
    grantedBytes: 0,
    allowedFast: [],
    suggested: [],
    extensions: false,
    peerReqq: undefined,
    listenPort: input.listenPort,
    metadata: input.metadata,
    peerUtMetadata: undefined,
    metadataRequests: 0,
    pieceLayerTrees: input.pieceLayerTrees,
    fetchesLayers: input.fetchesLayers === true,
    hashRequests: 0,
    blockHashReads: 0,
    blockHashReadCount: 0,
    pex: input.pex === true,
    peerUtPex: undefined,
    uploadOnly: input.uploadOnly === true,
    uploadOnlySent: false,
    peerUploadOnly: false,
    peerUploadOnlyId: undefined,
    bytesSentThisTick: 0,
    uploadRate: 0,
    downloadRate: 0,
    sinceReceivedMs: 0,
    lastRateReport: '0/0/false',
  };
}

/**
 * What an action body may do, in the order it does it: the machine binds these to
 * `enqueue.sendTo('connection', …)`, `enqueue.sendParent(…)` and `enqueue.assign(…)`.
 */
export interface PeerEffects {
  send(command: ConnectionCommand): void;
  report(report: PeerReport): void;
  assign(patch: Partial<PeerContext>): void;
}
