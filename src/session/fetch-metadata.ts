/**
 * `fetchMetadata(magnet, options)`: the world around the metadata machine
 * (machines/metadata.machine.ts). It dials the magnet's peers (`x.pe`), the caller's (`--peer`)
 * and those the magnet's trackers give (announced with the info-hash and, the size being unknown,
 * `left` = UNKNOWN_LEFT), keeps at most `maxConnections` open (src/net/metadata-connection.ts),
 * turns their ut_metadata messages into the machine's events and carries out its requests and
 * drops. Resolves with the info dictionary's bytes once their SHA-1 is the info-hash (and their
 * SHA-256 the `urn:btmh:` one when the magnet has it); rejects with MetadataFetchError when the time
 * limit passes first, or when stopped.
 *
 * With a Local Service Discovery service (BEP 14, `lsd`: the magnet download's own, or the
 * many-torrents host's), the info-hash is announced on the local network and the peers announcing
 * it there are dialled too, as libtorrent finds a magnet's peers before it has the metadata; the
 * announce is removed when the fetch ends, and the download that follows, on the same service, is
 * not announced again within the interval (lsd-schedule.ts).
 *
 * It also gives how each peer's dial came up (MSE or plain, TCP or uTP): the download that follows
 * dials those peers first, the way that worked (docs/encryption.md).
 *
 * A v2 magnet (`urn:btmh:` alone, BEP 52): the swarm is the v2 info-hash's first 20 bytes, the
 * connections carry BEP 52's reserved bit, the info dictionary is taken when its SHA-256 is the
 * v2 info-hash, and then, over the same connections and within the same time limit, the piece
 * layers of its files longer than a piece are fetched with hash requests (`fetchMetadataAndLayers`).
 */

import { createHash } from 'node:crypto';
import { createActor, fromPromise } from 'xstate';
import { type FetchedLayer, type MetadataOutput, metadataMachine } from '../../machines/metadata.machine.js';
import type { PieceLayerPlan } from '../../machines/piece-layer-fetch.js';
import type { DialOutcome } from '../../machines/torrent-address-book.js';
import type { Dht } from '../dht/dht.js';
import type { Lsd } from '../lsd/lsd.js';
import type { Magnet } from '../metainfo/magnet.js';
import { formatPeerAddress, type PeerAddress, parsePeerAddress } from '../net/address.js';
import type { EncryptionPolicy } from '../net/encryption-policy.js';
import { BLOCKED_CODE } from '../net/filtered-lookup.js';
import type { IpRangeSet } from '../net/ip-range-set.js';
import { type MetadataConnection, openMetadataConnection } from '../net/metadata-connection.js';
import type { ProxyDialer } from '../net/proxy-dialer.js';
import type { UtpMode } from '../net/utp-mode.js';
import type { UtpSocketManager } from '../utp/utp-socket-manager.js';
import type { HashRange } from '../wire/messages.js';
import { withExtraTrackers } from './announce-tiers.js';
import { BlockedPeers } from './blocked-peers.js';
import type { DhtAnnounces, DhtSettings } from './dht-announces.js';
import type { DhtEvent, MetadataFetchEvent } from './download-event.js';
import { type PieceLayerProver, pieceLayerFetchOf } from './hybrid-piece-layers.js';

/** Connections open at once while fetching. */
export const METADATA_MAX_CONNECTIONS = 30;
/** Addresses remembered while fetching (x.pe, --peer, trackers): more are not taken. */
export const METADATA_MAX_ADDRESSES = 1000;
/** Default time limit of a fetch (`--metadata-timeout`). */
export const DEFAULT_METADATA_TIMEOUT_MS = 120_000;
/** A request unanswered this long goes to another peer (ticks of one second). */
export const METADATA_REQUEST_TIMEOUT_TICKS = 10;
/** A peer that rejected or timed out is left alone this long (libtorrent: a minute). */
export const METADATA_BACKOFF_TICKS = 60;
/** Requests out per peer (libtorrent's 2). */
export const METADATA_REQUESTS_PER_PEER = 2;
/** Trackers are asked again this often while fetching, and peers that left dialled again. */
export const METADATA_REANNOUNCE_MS = 30_000;
/**
 * `left` in announces before the size is known. Trackers count a peer with left > 0 as a leecher;
 * any value serves, and a large one cannot make us look like a seed.
 */
export const UNKNOWN_LEFT = 2 ** 40;

export class MetadataFetchError extends Error {
  override readonly name = 'MetadataFetchError';
  readonly code: 'timedOut' | 'stopped';
  readonly badInput = false;
  constructor(code: 'timedOut' | 'stopped', message: string) {
    super(message);
    this.code = code;
  }
}

export interface FetchMetadataOptions {
  readonly peerId: Uint8Array;
  /** Besides the magnet's `x.pe`. */
  readonly peers?: readonly PeerAddress[];
  /** Announce to the magnet's trackers (default true). */
  readonly trackers?: boolean;
  /** Trackers asked besides the magnet's (`--tracker`; announce-tiers.ts: a duplicate is asked once). */
  readonly extraTrackers?: readonly string[];
  /** The address every dial and announce goes from (`--bind`: src/net/bind-address.ts). */
  readonly localAddress?: string;
  /** Ask the DHT too (BEP 5): get_peers every reannounceMs, no announce (we serve nothing yet). */
  readonly dht?: DhtSettings;
  /** A DHT node already running to ask through (with `dht`): neither reported (`dht.ready`) nor closed here. */
  readonly dhtNode?: Dht;
  /**
   * A running LSD service (BEP 14): the info-hash announced on it, its peers dialled (each said
   * once, `lsd.peer`). Neither reported (`lsd.ready`) nor closed here.
   */
  readonly lsd?: Lsd;
  /** Message Stream Encryption for the fetch's dials (default 'allowed', docs/encryption.md). */
  readonly encryption?: EncryptionPolicy;
  /** uTP on the session's UDP socket (docs/utp.md); without it every dial is TCP. */
  readonly utp?: UtpSocketManager;
  /** When the fetch's dials use uTP (default `on`: after TCP fails). */
  readonly utpMode?: UtpMode;
  /** Every dial and http(s) announce through this proxy (docs/proxy.md); udp trackers not asked. */
  readonly proxy?: ProxyDialer;
  /** The port announced (ours for incoming peers later; 0 when we do not listen yet). */
  readonly port?: number;
  readonly timeoutMs?: number;
  /** Connections open at once (default METADATA_MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  /** Seconds a request may go unanswered (default METADATA_REQUEST_TIMEOUT_TICKS). */
  readonly requestTimeoutSeconds?: number;
  /** Trackers asked again this often (default METADATA_REANNOUNCE_MS). */
  readonly reannounceMs?: number;
  readonly signal?: AbortSignal;
  /** The user's IP filter (docs/blocklist.md): a peer in it is never dialled (`peer.blocked`). */
  readonly blocklist?: IpRangeSet;
  readonly emit?: (e: MetadataFetchEvent | DhtEvent) => void;
}

/** The info dictionary's bytes (fetchMetadataAndLayers has a v2 magnet's piece layers too). */
export async function fetchMetadata(magnet: Magnet, options: FetchMetadataOptions): Promise<Uint8Array> {
  return (await fetchMetadataAndLayers(magnet, options)).info;
}

/** What a magnet's fetch gives: the info dictionary, and a v2 magnet's fetched piece layers. */
export interface FetchedMetadata {
  readonly info: Uint8Array;
  /** Each file longer than a piece (v2 magnets only): its `pieces root` and verified piece layer. */
  readonly pieceLayers: readonly FetchedLayer[];
  /** Each peer whose handshake came and that was not dropped (the last dial's outcome), the most recent last. */
  readonly dialled: readonly DialledPeer[];
}

/** A peer the fetch reached, and how its dial came up. */
export interface DialledPeer extends DialOutcome {
  /** host:port (formatPeerAddress). */
  readonly address: string;
}

/** Whether `bytes` are the info dictionary `magnet` names: SHA-1 (btih), SHA-256 (btmh), or both. */
export function isMagnetInfo(
  magnet: Pick<Magnet, 'infoHash' | 'infoHashV2' | 'version'>,
  bytes: Uint8Array,
): boolean {
  if (magnet.version !== 'v2' && !createHash('sha1').update(bytes).digest().equals(magnet.infoHash))
    return false;
  return (
    magnet.infoHashV2 === undefined || createHash('sha256').update(bytes).digest().equals(magnet.infoHashV2)
  );
}

export async function fetchMetadataAndLayers(
  magnet: Magnet,
  options: FetchMetadataOptions,
): Promise<FetchedMetadata> {
  const started = performance.now();
  const emit = options.emit ?? (() => {});
  const timeoutMs = options.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? METADATA_MAX_CONNECTIONS;
  const actor = createActor(
    metadataMachine.provide({
      actors: {
        verifyMetadata: fromPromise<Uint8Array | undefined, { bytes: Uint8Array }>(async ({ input }) =>
          isMagnetInfo(magnet, input.bytes) ? input.bytes : undefined,
        ),
        // Only a v2 magnet's torrent is used through its piece layers (a hybrid's v1 swarm is not).
        planPieceLayers: fromPromise<PieceLayerPlan | undefined, { info: Uint8Array }>(async ({ input }) => {
          if (magnet.version !== 'v2') return undefined;
          layerFetch = pieceLayerFetchOf(input.info);
          return layerFetch?.plan;
        }),
      },
    }),
    {
      input: {
        fetchTimeoutMs: timeoutMs,
        tickMs: 1000,
        limits: {
          maxPerPeer: METADATA_REQUESTS_PER_PEER,
          requestTimeoutTicks: options.requestTimeoutSeconds ?? METADATA_REQUEST_TIMEOUT_TICKS,
          backoffTicks: METADATA_BACKOFF_TICKS,
        },
      },
    },
  );
  /** A v2 magnet's piece layers: what is fetched, and the check of each `hashes` answer. */
  let layerFetch: PieceLayerProver | undefined;
  /** The run a `hashes` message proves up to its file's `pieces root`, or undefined. */
  const proved = (range: HashRange, hashes: Uint8Array): Uint8Array | undefined =>
    layerFetch?.prove(range, hashes);
  const connections = new Map<string, MetadataConnection>();
  /** Every address heard of, in order; dropped ones are never dialled again. */
  const known = new Set<string>();
  const dropped = new Set<string>();
  /** How each address's last dial came up (at most the known addresses, METADATA_MAX_ADDRESSES). */
  const dialled = new Map<string, DialOutcome>();
  let finished = false;

  const dialMore = () => {
    for (const address of known) {
      if (finished || connections.size >= maxConnections) return;
      if (tried.has(address) || connections.has(address) || dropped.has(address)) continue;
      dial(address);
    }
  };
  /** Dialled addresses not to dial again before the next reannounce. */
  const tried = new Set<string>();
  /** Whether an address waits to be dialled (heard of, not tried this round, not dropped). */
  const waiting = () => {
    for (const address of known)
      if (!tried.has(address) && !connections.has(address) && !dropped.has(address)) return true;
    return false;
  };
  const dial = (address: string) => {
    if (tried.has(address)) return;
    tried.add(address);
    const connection = openMetadataConnection(
      parsePeerAddress(address),
      {
        infoHash: magnet.infoHash,
        peerId: options.peerId,
        ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
        ...(options.utp === undefined ? {} : { utp: options.utp }),
        ...(options.utpMode === undefined ? {} : { utpMode: options.utpMode }),
        ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(options.blocklist === undefined ? {} : { blocklist: options.blocklist }),
        v2: magnet.version === 'v2',
      },
      {
        ready: (metadataSize) => {
          // A peer without the metadata (BEP 9: no metadata_size) holds a connection slot for
          // nothing: closed, and dialled again at the next round, when it may have it.
          if (metadataSize === undefined) return connections.get(address)?.close('no metadata to give');
          actor.send({ type: 'peer.ready', peer: address, metadataSize });
        },
        message: (m) =>
          actor.send(
            m.msgType === 'data'
              ? { type: 'peer.data', peer: address, piece: m.piece, totalSize: m.totalSize, data: m.data }
              : { type: 'peer.reject', peer: address, piece: m.piece },
          ),
        hashes: (m) => {
          const range = {
            piecesRoot: m.piecesRoot,
            baseLayer: m.baseLayer,
            index: m.index,
            length: m.length,
            proofLayers: m.proofLayers,
          };
          actor.send(
            m.type === 'hashes'
              ? { type: 'peer.hashes', peer: address, range, proved: proved(range, m.hashes) }
              : { type: 'peer.hashReject', peer: address, range },
          );
        },
        dialled: (outcome) => {
          dialled.delete(address); // the most recent last
          dialled.set(address, outcome);
        },
        closed: (reason) => {
          connections.delete(address);
          // A name whose dial found every address of it blocked (filtered-lookup.ts): reported as
          // any blocked peer, from the user (`--peer`, `x.pe`) or else a tracker's dictionary peer.
          if (reason === BLOCKED_CODE)
            options.emit?.({
              type: 'peer.blocked',
              address,
              source: userPeers.has(address) ? 'peer' : 'tracker',
              blocked: blocked.add(address),
            });
          if (finished) return;
          actor.send({ type: 'peer.gone', peer: address });
          dialMore();
        },
      },
    );
    connections.set(address, connection);
  };
  const blocked = new BlockedPeers();
  /** The addresses the user gave (`x.pe`, `--peer`): the only names but a tracker's dictionary peers. */
  const userPeers = new Set([...magnet.peers, ...(options.peers ?? [])].map(formatPeerAddress));
  const addPeers = (peers: readonly PeerAddress[], source: 'peer' | 'tracker' | 'dht' | 'lsd') => {
    for (const p of peers) {
      const address = formatPeerAddress(p);
      if (options.blocklist?.hasAddress(address) === true) {
        options.emit?.({ type: 'peer.blocked', address, source, blocked: blocked.add(address) });
        continue;
      }
      if (known.size < METADATA_MAX_ADDRESSES) known.add(address);
    }
    dialMore();
  };

  actor.on('metadata.request', (e) => connections.get(e.peer)?.request(e.piece));
  actor.on('metadata.hashRequest', (e) => connections.get(e.peer)?.hashRequest(e.range));
  actor.on('metadata.drop', (e) => {
    dropped.add(e.peer);
    // Not handed to the download to dial first: it sent what the metadata machine refuses.
    dialled.delete(e.peer);
    emit({ type: 'metadata.peerDropped', address: e.peer, reason: e.reason });
    connections.get(e.peer)?.close(e.reason);
  });
  // A peer that let a request time out or rejected one keeps its slot only while nobody else
  // waits for it: otherwise it is closed (not dropped: it may be dialled at the next round), so a
  // few silent peers cannot hold every slot while an honest one is never dialled.
  actor.on('metadata.snubbed', (e) => {
    if (waiting()) connections.get(e.peer)?.close(e.reason === 'timedOut' ? 'request timed out' : 'rejected');
  });
  actor.on('metadata.progress', (e) => emit({ ...e, connected: connections.size }));
  actor.on('metadata.layersProgress', (e) =>
    emit({
      type: 'metadata.layers',
      received: e.received,
      hashes: e.hashes,
      peers: e.peers,
      connected: connections.size,
    }),
  );

  const output = new Promise<MetadataOutput>((resolve) =>
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!) }),
  );
  let onAbort = () => {};
  const stopped = new Promise<'stopped'>((resolve) => {
    onAbort = () => resolve('stopped');
    if (options.signal?.aborted === true) resolve('stopped');
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  /** Aborted when the fetch ends, however: no announce outlives it. */
  const announcing = new AbortController();
  actor.start();
  // parseMagnet keeps at most MAX_TRACKERS distinct URLs.
  const trackerUrls =
    options.trackers === false
      ? []
      : withExtraTrackers([magnet.trackers], options.extraTrackers ?? [])
          .flat()
          .filter((url) => options.proxy === undefined || !/^udp:/i.test(url));
  /** BEP 3: `started` with the first announce to the trackers, then none (a regular announce). */
  let event: 'started' | 'regular' = 'started';
  const announce = async () => {
    if (trackerUrls.length === 0) return;
    const { announceAny } = await import('../tracker/announce-any.js');
    const thisEvent = event;
    event = 'regular';
    await Promise.all(
      trackerUrls.map((url) =>
        announceAny(
          url,
          {
            infoHash: magnet.infoHash,
            peerId: options.peerId,
            port: options.port ?? 0,
            uploaded: 0,
            downloaded: 0,
            left: UNKNOWN_LEFT,
            event: thisEvent,
            numwant: 50,
          },
          {
            timeoutMs: 15_000,
            signal: announcing.signal,
            ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
            ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
            ...(options.blocklist === undefined ? {} : { blocklist: options.blocklist }),
          },
        ).then(
          (r) => addPeers(r.peers, 'tracker'),
          () => {},
        ),
      ),
    );
  };
  emit({
    type: 'metadata.fetching',
    infoHash: magnet.infoHashHex,
    peers: magnet.peers.length + (options.peers?.length ?? 0),
  });
  addPeers([...magnet.peers, ...(options.peers ?? [])], 'peer');
  void announce();
  const dhtSettings = options.dht;
  const dht: Promise<DhtAnnounces> | undefined =
    dhtSettings === undefined
      ? undefined
      : import('./dht-announces.js').then(({ startDhtAnnounces }) =>
          startDhtAnnounces(dhtSettings, {
            port: options.port ?? 0,
            infoHash: magnet.infoHash,
            onPeers: (peers) => {
              if (!finished) addPeers(peers, 'dht');
            },
            emit: (e) => {
              if (!finished) emit(e);
            },
            reannounceMs: options.reannounceMs ?? METADATA_REANNOUNCE_MS,
            ...(options.dhtNode === undefined ? {} : { dht: options.dhtNode }),
          }),
        );
  dht?.catch(() => {}); // the other peer sources work without it
  // BEP 14: announced on the local network, its peers dialled (each said once).
  const lsdReported = new Set<string>();
  const removeLsd = options.lsd?.add({
    infoHashes: [magnet.infoHash],
    onPeer: (peer) => {
      if (finished) return;
      addPeers([peer], 'lsd');
      const address = formatPeerAddress(peer);
      if (lsdReported.has(address) || lsdReported.size >= METADATA_MAX_ADDRESSES) return;
      lsdReported.add(address);
      emit({ type: 'lsd.peer', address });
    },
  });
  const reannounce = setInterval(() => {
    tried.clear();
    dialMore();
    void announce();
  }, options.reannounceMs ?? METADATA_REANNOUNCE_MS);
  try {
    const result = await Promise.race([output, stopped]);
    if (result === 'stopped') throw new MetadataFetchError('stopped', 'stopped while fetching the metadata');
    if (result.result === 'timedOut') {
      const layers = result.layers;
      const got =
        layers !== undefined
          ? `the info dictionary in, ${layers.received} of ${layers.hashes} piece layer hashes${layers.badAnswers > 0 ? `, ${layers.badAnswers} answer${layers.badAnswers === 1 ? '' : 's'} failed its pieces root` : ''}`
          : result.pieces === 0
            ? `no peer offered it (${known.size} tried)`
            : `${result.received} of ${result.pieces} pieces in${result.hashFailures > 0 ? `, ${result.hashFailures} copies failed the info-hash` : ''}`;
      throw new MetadataFetchError(
        'timedOut',
        `no metadata for ${magnet.infoHashHex} within ${Math.round(timeoutMs / 1000)} s: ${got}`,
      );
    }
    const hashes = result.pieceLayers.reduce((n, l) => n + l.layer.length / 32, 0);
    emit({
      type: 'metadata.fetched',
      size: result.info.length,
      elapsedMs: performance.now() - started,
      ...(result.pieceLayers.length === 0 ? {} : { pieceLayerHashes: hashes }),
    });
    return {
      info: result.info,
      pieceLayers: result.pieceLayers,
      dialled: [...dialled].map(([address, outcome]) => ({ address, ...outcome })),
    };
  } finally {
    finished = true;
    removeLsd?.();
    clearInterval(reannounce);
    announcing.abort();
    options.signal?.removeEventListener('abort', onAbort);
    actor.stop();
    for (const c of [...connections.values()]) c.close('metadata fetched');
    await dht?.then(
      (d) => d.close(),
      () => {},
    );
  }
}
