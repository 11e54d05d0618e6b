/**
 * The vocabulary of the peer machine (machines/peer.machine.ts): its input, the events the
 * `connection` actor sends it, the commands the torrent machine sends it, the reports it sends the
 * torrent machine, and the typed reason it closes with. Pure types and constants: no I/O.
 */

import type { PieceLayerTrees } from '../src/metainfo/merkle-proof.js';
import type { ProxyErrorCode } from '../src/net/proxy-error.js';
import type { Bitfield } from '../src/picker/bitfield.js';
import type { BlockRef, PeerKey } from '../src/picker/blocks.js';
import type { HashRange, WireItem } from '../src/wire/messages.js';
import type { PexPeer } from '../src/wire/ut-pex.js';

export type { BlockRef, PeerKey };

/** Timeouts in milliseconds, all driven by the actor system's clock (SimulatedClock in tests). */
export interface PeerTimeouts {
  /** From spawn to `socket.connected`. */
  readonly connect: number;
  /** From `socket.connected` to the remote handshake. */
  readonly handshake: number;
  /** We send a keep-alive this often (BEP 3: peers drop a connection silent for about 2 minutes). */
  readonly keepAlive: number;
  /** Nothing at all received for this long closes the connection (`keepAliveTimeout`). */
  readonly idle: number;
  /** Requests outstanding and no block for this long: the peer is snubbing us (`requestTimeout`). */
  readonly request: number;
  /** Rate-measurement period; idle and request timeouts are checked on this tick. */
  readonly tick: number;
  /**
   * We are interested and the peer sent no block for this long: it is snubbing us, and the choker
   * takes its regular unchoke slot away (anti-snubbing, as libtorrent and Azureus do).
   */
  readonly snub: number;
}

export const DEFAULT_PEER_TIMEOUTS: PeerTimeouts = {
  connect: 15_000,
  handshake: 20_000,
  keepAlive: 120_000,
  idle: 240_000,
  request: 60_000,
  tick: 1_000,
  snub: 60_000,
};

/** Pipelining limits, in blocks (see docs/machines.md, "Pipelining"). */
export interface PeerLimits {
  /** Outstanding requests at start, before the first rate measurement (never starve a fast peer). */
  readonly initialPipeline: number;
  readonly minPipeline: number;
  /** Hard cap of outstanding requests to one peer; the torrent machine never exceeds it either. */
  readonly maxPipeline: number;
  /** The pipeline holds this many seconds of the peer's measured rate. */
  readonly requestQueueSeconds: number;
  /** Block length used by the formula (the picker's). */
  readonly blockLength: number;
  /**
   * Requests a peer may have queued with us (asked, not yet answered). libtorrent's default
   * `max_allowed_in_request_queue` is 500 and it announces `reqq` 250 by default; Transmission drops
   * past 512. Past this, requests are dropped (the peer asks again after its timeout).
   */
  readonly maxPeerRequests: number;
  /**
   * Requests dropped in a row at a full queue before the peer counts as flooding and is closed
   * (`requestFlood`): far past any honest pipeline (libtorrent's `max_allowed_in_request_queue` is 2000).
   */
  readonly floodRequests: number;
  /**
   * Unchokes a peer may send beyond one per tick before it counts as flapping and is closed
   * (`unchokeFlood`). Each unchoke makes us pick blocks and request them, each choke takes them
   * back: a hostile-peer review measured ~0.14 ms of CPU per 10-byte choke/unchoke pair, so a peer
   * flapping at line rate held the event loop for seconds per socket read (an honest download from
   * another peer stalled, SIGINT went unanswered). Chokers rotate every 10 s (libtorrent's
   * `unchoke_interval` 15 s, Transmission's 10 s), so no honest peer unchokes 10 times in 10 s.
   */
  readonly unchokeBurst: number;
  /**
   * The same bucket for the peer becoming interested (`interestFlood`): each time, the choker may
   * unchoke it at once and a not interested chokes it again; interested/not interested pairs from a
   * hostile peer stalled an honest download completely. An honest peer's interest follows the
   * pieces we announce, far below one change a second for long. A BEP 21 upload_only cleared counts
   * too: the choker may unchoke that peer at once as well.
   */
  readonly interestBurst: number;
  /**
   * Requests refused in a row because we choke the peer (discarded, or rejected for a BEP 6 peer)
   * before it counts as flooding and is closed (`requestsWhileChoked`). libtorrent counts the same
   * (`m_choke_rejects`: requests rejected in a row while choked, reset by a request it accepts) and
   * disconnects past `max_rejects` (too_many_requests_when_choked). An honest peer sends only the
   * requests that cross our choke on the wire: one for each block of the read window still written
   * ahead of the choke (readWindow, 128) plus those already in flight (at most its pipeline: our reqq
   * 250, libtorrent keeps up to 500), so this sits well above both. Each refusal of a fast peer
   * is a 17-byte reject we must send (~400 bytes of memory while unread): the limit bounds them.
   */
  readonly maxChokedRequests: number;
  /**
   * Requests of one peer handed to the connection and not yet written (`serve` → `socket.served`).
   * Bounds the bytes pinned per peer to readWindow × 16 KiB whatever the socket does; the rest wait
   * in the peer's queue.
   */
  readonly readWindow: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  initialPipeline: 32,
  minPipeline: 4,
  // bitstate serves maxPeerRequests 250 and asks no more of a peer than its BEP 10 reqq. Debian's
  // libtorrent 2.0.8 announces reqq 2000 and keeps up to 500 of its own requests out
  // (max_out_request_queue). Measured deeper against four local libtorrent seeders (issue #8,
  // ninth pass, 1 GiB, eight interleaved rounds): 500 was a median 0.055 s faster, faster in 5 of 8
  // rounds, at the same CPU (within noise), with peak RSS +7 MiB; 1000 was slower (+0.09 s,
  // +0.16 CPU s, +14 MiB).
  maxPipeline: 250,
  requestQueueSeconds: 3,
  blockLength: 16384,
  maxPeerRequests: 250,
  floodRequests: 2000,
  unchokeBurst: 10,
  interestBurst: 10,
  maxChokedRequests: 1000,
  // 128 × 16 KiB: two 1 MiB chunks per peer, so the next piece is read while this one is written
  // (issue #8: 16 paced aria2c at ~120 MB/s; 128 measured ×1.2 over 64 with aria2c, 1 MiB pieces).
  readWindow: 128,
};

export interface PeerInput {
  readonly key: PeerKey;
  /** The info-hash our handshake carries (a dial's; an incoming connection's unless `otherInfoHash`). */
  readonly infoHash: Uint8Array;
  /**
   * A hybrid torrent's other swarm (BEP 52: v1 and v2 name one payload by two hashes): a handshake
   * carrying it is accepted too, and an incoming connection is answered, once the peer's handshake
   * came, with the hash it used (as libtorrent does). Absent (v1, v2): only `infoHash` is accepted.
   */
  readonly otherInfoHash?: Uint8Array;
  /** Our own peer id: a remote handshake carrying it means we dialled ourselves. */
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  /** An accepted socket for `incoming` connections, handed untouched to the `connection` actor. */
  readonly handle?: unknown;
  /** Our verified pieces, by reference (the torrent machine's picker.have): sent as our bitfield. */
  readonly ourBitfield: Bitfield;
  readonly timeouts?: Partial<PeerTimeouts>;
  readonly limits?: Partial<PeerLimits>;
  /** The port we accept peers on, sent as `p` in our BEP 10 handshake; absent when we do not listen. */
  readonly listenPort?: number;
  /** The info dictionary's bytes (by reference), served through BEP 9 ut_metadata; absent: not offered. */
  readonly metadata?: Uint8Array;
  /**
   * A v2 torrent's merkle trees above its piece layers (by reference, built once per torrent),
   * which answer BEP 52 hash requests; absent (v1, a hybrid without its layers yet): every hash
   * request is rejected. A hybrid fetched by magnet gets them later (cmd.pieceLayerTrees).
   */
  readonly pieceLayerTrees?: PieceLayerTrees;
  /**
   * A hybrid fetching its piece layers (machines/torrent-piece-layers.ts): our handshake sets BEP
   * 52's bit without the trees yet, so that libtorrent takes a connection dialled with the v1 hash
   * as a v2 one (answering with the v2 hash), the only kind it answers hash requests on.
   */
  readonly fetchesLayers?: boolean;
  /**
   * BEP 11 peer exchange: announce ut_pex, pass the peer's messages on, send ours. False for a
   * private torrent (BEP 27) or `--no-pex`; absent: false.
   */
  readonly pex?: boolean;
  /**
   * BEP 21: we will not download from this peer (a seed, or a partial seed with every wanted piece):
   * our extension handshake says `upload_only: 1`. Absent: false (cmd.uploadOnly turns it on later).
   */
  readonly uploadOnly?: boolean;
  /**
   * BEP 16: we super-seed this connection (a full seed asked to): no bitfield (haveNone to a fast
   * peer), only the pieces cmd.reveal shows it, nor `upload_only` (as libtorrent). Absent: false.
   */
  readonly superSeed?: boolean;
  /** A dial to an address last reached over MSE: passed to the connection (ConnectionInput). */
  readonly mseFirst?: boolean;
  /** A dial to an address last reached over uTP: passed to the connection (ConnectionInput). */
  readonly utpFirst?: boolean;
}

/**
 * What carries a connection (docs/encryption.md): MSE with the RC4 stream, MSE then plaintext, or no
 * MSE at all (a plain BitTorrent handshake; also every simulated connection and web seed).
 */
export type PeerEncryption = 'rc4' | 'plaintext' | 'none';

/** Which transport carries a connection (docs/utp.md): TCP, or BEP 29's uTP over UDP. */
export type PeerTransport = 'tcp' | 'utp';

/** What the `connection` actor is invoked with. */
export interface ConnectionInput {
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly handle: unknown;
  /** For the BEP 6 allowed fast set, which the connection computes from the remote IP (SHA-1). */
  readonly infoHash: Uint8Array;
  /**
   * A hybrid's other swarm's hash (PeerInput.otherInfoHash): an accepted socket's MSE may name either
   * (its SKEY), and its allowed fast set is computed over the hash its handshake carries, sent with
   * `wire.handshake` rather than `socket.connected`. Absent: `infoHash` only.
   */
  readonly otherInfoHash?: Uint8Array;
  readonly pieceCount: number;
  /**
   * A dial to an address last reached over MSE (the address book's `mseFirst`): the connection
   * starts with MSE where its policy would try plain first (docs/encryption.md). Absent: false.
   */
  readonly mseFirst?: boolean;
  /**
   * A dial to an address last reached over uTP (the address book's `utpFirst`): the connection
   * tries uTP first where its mode would try TCP first (docs/utp.md). Absent: false.
   */
  readonly utpFirst?: boolean;
}

/**
 * Pieces a fast peer may allow us that we remember (BEP 6 allowed fast; more are ignored) and
 * suggestions we keep (the newest): a peer cannot grow the context by repeating these messages.
 */
export const MAX_ALLOWED_FAST = 64;
export const MAX_SUGGESTED = 16;

/** A block as it came off the wire: the bytes are a view into the socket's chunk (write, never keep). */
export interface ReceivedBlock {
  readonly index: number;
  readonly begin: number;
  readonly block: Uint8Array;
}

/**
 * Peer machine → connection actor. Stopping the connection actor must also destroy its socket.
 * `serve`: send these blocks (validated requests for verified pieces) after everything sent before,
 * their bytes read by the connection (the machines never carry served bytes); answered, once a
 * tick, by `socket.served` with how many were written, in this order.
 */
export type ConnectionCommand =
  | { type: 'send'; message: WireItem }
  /** Request messages for these blocks, in order: one command per batch, not one `send` each. */
  | { type: 'request'; blocks: readonly BlockRef[] }
  | { type: 'serve'; blocks: readonly BlockRef[] }
  | { type: 'close' };

/** Connection actor → peer machine: socket life and every decoded wire item, fields flattened. */
export type ConnectionEvent =
  /**
   * `allowedFast`: the BEP 6 allowed fast set we grant this peer, computed by the world from its
   * IPv4 address and the info-hash (machines do no SHA-1); absent: we grant none.
   */
  | { type: 'socket.connected'; allowedFast?: readonly number[] }
  /**
   * `retryAfterMs`: a web seed's server asked us to wait (HTTP 503 Retry-After, BEP 19). `proxy`:
   * our dial through a proxy failed there (docs/proxy.md), `error` the proxy's words.
   */
  | { type: 'socket.closed'; error?: string; retryAfterMs?: number; proxy?: ProxyErrorCode }
  /** The socket's unsent bytes passed the high-water mark (or the upload rate limit is spent). */
  | { type: 'socket.congested' }
  /** The socket drained below the mark: pieces may be sent again. */
  | { type: 'socket.drained' }
  /** The first `count` blocks handed over by `serve` (in order) were written to the socket. */
  | { type: 'socket.served'; count: number }
  /**
   * `encryption`: what the connection settled on before the handshake came (absent: 'none');
   * `transport`: what carries it (absent: 'tcp').
   */
  | {
      type: 'wire.handshake';
      infoHash: Uint8Array;
      peerId: Uint8Array;
      reserved: Uint8Array;
      encryption?: PeerEncryption;
      transport?: PeerTransport;
      /**
       * The BEP 6 allowed fast set we grant, over this handshake's info-hash: an accepted connection
       * of a hybrid, whose hash is known only now (ConnectionInput.otherInfoHash); absent otherwise.
       */
      allowedFast?: readonly number[];
    }
  | { type: 'wire.keepAlive' }
  | { type: 'wire.choke' }
  | { type: 'wire.unchoke' }
  | { type: 'wire.interested' }
  | { type: 'wire.notInterested' }
  | { type: 'wire.have'; index: number }
  /**
   * The haves of one socket read, in wire order (a connection sends these instead of one wire.have
   * each): a flood of haves costs one macrostep per read, not one per 9-byte message. Never empty.
   */
  | { type: 'wire.haves'; indices: readonly number[] }
  | { type: 'wire.bitfield'; bitfield: Uint8Array }
  | { type: 'wire.request'; index: number; begin: number; length: number }
  /**
   * The requests of one socket read, in wire order (a connection may send these instead of one
   * wire.request each: aria2 sends ~100 per read, and each event costs a macrostep). Judged and
   * queued as they would be one by one, served in one `serve`. Never empty.
   */
  | { type: 'wire.requests'; requests: readonly BlockRef[] }
  | { type: 'wire.piece'; index: number; begin: number; block: Uint8Array }
  /**
   * The pieces one socket read completed, in wire order (a connection may send these instead of one
   * wire.piece each: one machine event per read, not per 16 KiB block). Never empty.
   */
  | { type: 'wire.pieces'; blocks: readonly ReceivedBlock[] }
  | { type: 'wire.cancel'; index: number; begin: number; length: number }
  | { type: 'wire.port'; port: number }
  | { type: 'wire.suggest'; index: number }
  | { type: 'wire.haveAll' }
  | { type: 'wire.haveNone' }
  | { type: 'wire.reject'; index: number; begin: number; length: number }
  | { type: 'wire.allowedFast'; index: number }
  | { type: 'wire.extended'; extendedId: number; payload: Uint8Array }
  /**
   * BEP 10: the peer's extension handshake (extended id 0), decoded by the connection (bencode is
   * the world's job). `reqq`: the peer's request queue size, absent when missing or malformed.
   */
  | {
      type: 'wire.extendedHandshake';
      reqq?: number;
      listenPort?: number;
      /** BEP 9: the id the peer takes ut_metadata messages under (1–255). */
      utMetadata?: number;
      /** BEP 9: the size of its info dictionary, when it has one. */
      metadataSize?: number;
      /** BEP 11: the id the peer takes ut_pex messages under (1–255); 0: it takes them no more. */
      utPex?: number;
      /** BEP 21: the peer said `upload_only` (not 0): it will not download from us. */
      uploadOnly?: true;
      /** BEP 21: the id the peer takes libtorrent's upload_only message under (1–255); 0: none. */
      uploadOnlyId?: number;
    }
  /** BEP 21: libtorrent's upload_only message sent to us: the peer will (not) download any more. */
  | { type: 'wire.uploadOnly'; uploadOnly: boolean }
  /** BEP 11: a ut_pex message sent to us, decoded (and bounded) by the connection. */
  | { type: 'wire.pex'; added: readonly PexPeer[]; dropped: readonly string[] }
  /** BEP 9: the peer asks for piece `piece` of the metadata (decoded by the connection). */
  | { type: 'wire.metadataRequest'; piece: number }
  /** BEP 52: the peer asks for hashes of a file's merkle tree (`piecesRoot` is a view: never keep it). */
  | ({ type: 'wire.hashRequest' } & HashRange)
  /**
   * BEP 52: answers to our hash requests (a hybrid fetched by magnet asks for its piece layers:
   * machines/torrent-piece-layers.ts). `proved`: the run of piece-layer hashes, when the connection
   * found that the answer proves itself up to its file's `pieces root` (src/metainfo/verify-hashes.ts;
   * SHA-256, so not in a machine); absent when it does not, or when we fetch no layers.
   */
  | ({ type: 'wire.hashes'; hashes: Uint8Array; proved?: Uint8Array } & HashRange)
  | ({ type: 'wire.hashReject' } & HashRange)
  | { type: 'wire.unknown'; id: number; payload: Uint8Array }
  | { type: 'wire.error'; code: string; message: string };

/** Torrent machine → peer machine. */
export type PeerCommand =
  | { type: 'cmd.request'; blocks: readonly BlockRef[] }
  | { type: 'cmd.cancel'; blocks: readonly BlockRef[] }
  | { type: 'cmd.have'; index: number }
  /**
   * BEP 16, super-seeding (machines/torrent-super-seed.ts): a `have` for `index`, and `revealed`,
   * the pieces this peer is shown now (index among them, at most MAX_REVEALED_PER_PEER). It may
   * request every piece announced so (PeerContext.announced): a have stands.
   */
  | { type: 'cmd.reveal'; index: number; revealed: readonly number[] }
  | { type: 'cmd.interested' }
  | { type: 'cmd.notInterested' }
  | { type: 'cmd.choke' }
  | { type: 'cmd.unchoke' }
  | { type: 'cmd.close'; reason: CloseReason }
  /** BEP 11: tell the peer these peers were added and dropped since our last ut_pex message to it. */
  | { type: 'cmd.pex'; added: readonly PexPeer[]; dropped: readonly string[] }
  /** BEP 21: we will not download any more (every wanted piece verified, seeding): tell the peer. */
  | { type: 'cmd.uploadOnly' }
  /** BEP 52: ask the peer for a run of a file's piece layer (machines/torrent-piece-layers.ts). */
  | { type: 'cmd.hashRequest'; range: HashRange }
  /** BEP 52: the piece layers are in (fetched after a magnet): hash requests are answered from now on. */
  | { type: 'cmd.pieceLayerTrees'; trees: PieceLayerTrees };

export type PeerEvent = ConnectionEvent | PeerCommand;

/** Peer machine → torrent machine (sendParent). Every event carries the peer's key. */
export type PeerReport =
  /** `fast`: both ends set the BEP 6 bit, so the Fast Extension is on for this connection. */
  | {
      type: 'peer.handshaken';
      key: PeerKey;
      peerId: Uint8Array;
      reserved: Uint8Array;
      bitfield: Bitfield;
      fast: boolean;
      encryption: PeerEncryption;
      transport: PeerTransport;
      /**
       * A hybrid's (BEP 52) connection only: the info-hash of the swarm it is in — ours for a dial,
       * the one the peer's handshake named for an accepted connection (peer-handshake.ts). The
       * peers it names through PEX are taken in that swarm (torrent-pex.ts pexSwarm). Absent for a
       * v1 or v2 torrent.
       */
      infoHash?: Uint8Array;
    }
  /** The peer's bitfield (BEP 3 bitfield or BEP 6 haveAll), by reference: it replaces the empty one. */
  | { type: 'peer.bitfield'; key: PeerKey; bitfield: Bitfield }
  /** A `have` for a piece the peer did not have before (its bitfield is already updated). */
  | { type: 'peer.have'; key: PeerKey; index: number }
  | { type: 'peer.unchoked'; key: PeerKey }
  /**
   * Room for `count` more requests (interested, unchoked, pipeline not full). With `allowedFast`
   * the peer chokes us and only blocks of these pieces may be requested (BEP 6 allowed fast, those
   * the peer has); without it the peer has unchoked us.
   */
  | { type: 'peer.wantBlocks'; key: PeerKey; count: number; allowedFast?: readonly number[] }
  /** A requested block, exactly of the requested length. The bytes are a view: write, never keep. */
  | { type: 'peer.block'; key: PeerKey; index: number; begin: number; block: Uint8Array }
  /** Several such blocks, accepted from one wire.pieces, in wire order. */
  | { type: 'peer.blocks'; key: PeerKey; blocks: readonly ReceivedBlock[] }
  /** The peer choked us. `returned` is empty for a fast peer (BEP 6: requests stay outstanding). */
  | { type: 'peer.choked'; key: PeerKey; returned: BlockRef[] }
  /** Requests the peer could not take (choked meanwhile, pipeline full, piece missing, BEP 6 reject). */
  | { type: 'peer.returned'; key: PeerKey; returned: BlockRef[] }
  | { type: 'peer.interest'; key: PeerKey; interested: boolean }
  /**
   * An incoming peer's BEP 10 `p`: the port it accepts connections on. Its connection came from
   * an ephemeral port; this one can be dialled (the torrent machine decides when: onListening).
   */
  | { type: 'peer.listening'; key: PeerKey; port: number }
  /**
   * Once a tick when something changed: smoothed payload rates in bytes/s from the peer (download)
   * and to it (upload), and whether it is snubbing us (we are interested, nothing for timeouts.snub).
   */
  | { type: 'peer.rate'; key: PeerKey; downloadRate: number; uploadRate: number; snubbed: boolean }
  /** BEP 11: the peer's extension handshake gave ut_pex an id (reported once): it may be sent PEX. */
  | { type: 'peer.pexSupported'; key: PeerKey }
  /**
   * BEP 21: whether the peer will download from us, when that changes: its extension handshake's
   * `upload_only`, or libtorrent's upload_only message (machines/peer-extension.ts).
   */
  | { type: 'peer.uploadOnly'; key: PeerKey; uploadOnly: boolean }
  /** BEP 11: the peers a ut_pex message added (at most MAX_PEX_ACCEPTED), for the address book. */
  | { type: 'peer.pex'; key: PeerKey; added: readonly PexPeer[]; dropped: readonly string[] }
  /**
   * BEP 52: the peer's `hashes` (its request's fields, `piecesRoot` copied) and the run they proved
   * (undefined: they did not prove), or its `hash reject`: answers to our cmd.hashRequest.
   */
  | { type: 'peer.hashes'; key: PeerKey; range: HashRange; proved: Uint8Array | undefined }
  | { type: 'peer.hashReject'; key: PeerKey; range: HashRange }
  | { type: 'peer.closed'; key: PeerKey; reason: CloseReason; returned: BlockRef[] };

/** Why a connection ended: the peer machine's output. The torrent machine switches on `reason`. */
export type CloseReason =
  | { reason: 'connectTimeout' }
  | { reason: 'handshakeTimeout' }
  | { reason: 'infoHashMismatch' }
  | { reason: 'connectedToSelf' }
  | { reason: 'bitfieldNotFirst' }
  | { reason: 'badBitfield'; length: number; expected: number }
  | { reason: 'haveOutOfRange'; index: number; pieceCount: number }
  | { reason: 'unrequestedBlock'; index: number; begin: number; length: number }
  | { reason: 'wrongBlockLength'; index: number; begin: number; expected: number; received: number }
  /** A request we cannot have been asked: see RequestProblem. */
  | { reason: 'badRequest'; index: number; begin: number; length: number; why: RequestProblem }
  /** More than limits.maxPeerRequests requests queued with us at once. */
  | { reason: 'requestFlood'; queued: number; limit: number }
  /** More than `limits.unchokeBurst` unchokes beyond one per tick (choke/unchoke flapping). */
  | { reason: 'unchokeFlood'; unchokes: number; limit: number }
  /** More than `limits.interestBurst` times interested beyond one per tick. */
  | { reason: 'interestFlood'; times: number; limit: number }
  /** limits.maxChokedRequests requests in a row refused because we choke the peer. */
  | { reason: 'requestsWhileChoked'; requests: number; limit: number }
  /** More than MAX_METADATA_REQUESTS ut_metadata requests (BEP 9) on one connection. */
  | { reason: 'metadataFlood'; requests: number; limit: number }
  /** More BEP 52 hash requests on one connection than hashRequestLimit (machines/peer-hashes.ts). */
  | { reason: 'hashRequestFlood'; requests: number; limit: number }
  | { reason: 'wireError'; code: string; message: string }
  /** A BEP 6 message (haveAll, haveNone, reject, allowedFast, suggest) without the bit on both ends. */
  | { reason: 'fastNotNegotiated'; message: string }
  /** A BEP 6 reject for a block we never requested (nor cancelled). */
  | { reason: 'unrequestedReject'; index: number; begin: number; length: number }
  | { reason: 'keepAliveTimeout'; silentMs: number }
  | { reason: 'requestTimeout'; waitedMs: number; outstanding: number }
  | { reason: 'socketClosed' }
  | { reason: 'socketError'; message: string; retryAfterMs?: number }
  /**
   * Our dial through a proxy failed at the proxy (`--proxy`, docs/proxy.md): its ProxyError code
   * (`proxyUnreachable`, `proxyAuth`, `proxyRefused`, `proxyTargetUnreachable`, …) and message.
   */
  | { reason: ProxyErrorCode; message: string }
  /** Ours: the torrent machine closed it. */
  | { reason: 'banned' }
  /** BEP 52 hashes that did not prove up to their file's `pieces root` (piece-layer-fetch.ts). */
  | { reason: 'badHashes' }
  | { reason: 'notNeeded' }
  /**
   * BEP 21, as libtorrent's uninteresting_upload_peer: the peer is upload only, we have its
   * bitfield, and it has no piece we want while we download (machines/torrent-upload-only.ts).
   */
  | { reason: 'uninterestingUploadOnly' }
  /** We dialled the peer as it dialled us: one of the two connections goes (see onListening). */
  | { reason: 'duplicateConnection' }
  /**
   * Closed to make room for a newcomer (machines/torrent-slots.ts): `halfOpen`, the oldest incoming
   * connection still waiting for its handshake; `uninterested`, neither side interested for
   * UNINTERESTED_EVICT_MS; `idle`, no payload either way for IDLE_EVICT_MS.
   */
  | { reason: 'evicted'; rule: EvictionRule }
  /** Handshaken while every slot was taken and none held by a useless connection. */
  | { reason: 'tooManyConnections' }
  | { reason: 'stopped' };

export type CloseReasonName = CloseReason['reason'];

/** Which rule of the slot policy closed a connection to make room (machines/torrent-slots.ts). */
export type EvictionRule = 'halfOpen' | 'uninterested' | 'idle';

/**
 * Why a `request` is refused (the connection is closed): a piece that does not exist, one we never
 * announced (a fast peer gets a BEP 6 reject for that one instead), a block running past its piece, or longer than MAX_BLOCK_LENGTH (16 KiB: what
 * libtorrent, aria2 and Transmission request; libtorrent itself refuses larger ones), or empty.
 */
export type RequestProblem = 'indexOutOfRange' | 'notHave' | 'pastPieceEnd' | 'tooLong' | 'empty';

/** Reasons after which the address is never dialled again. */
export function isPermanent(r: CloseReason): boolean {
  switch (r.reason) {
    case 'banned':
    case 'connectedToSelf':
    case 'infoHashMismatch':
      return true;
    default:
      return false;
  }
}

/**
 * index × 2^32 + begin, the key of a block in the pipeline maps: a number, not an `index:begin`
 * string, so the five look-ups per received block allocate nothing (issue #8). Exact for every
 * index below MAX_PIECES (2^21) and any u32 begin; a larger index from a hostile peer gives a key
 * ≥ 2^53, which never equals the key of a block we asked for.
 */
export function blockKey(index: number, begin: number): number {
  return index * 0x1_0000_0000 + begin;
}

/** The wire messages a connection command puts on the wire, in order (for tests and traces). */
export function wireItemsOf(command: ConnectionCommand): WireItem[] {
  if (command.type === 'send') return [command.message];
  if (command.type === 'request')
    return command.blocks.map((b) => ({ type: 'request', index: b.index, begin: b.begin, length: b.length }));
  return [];
}
