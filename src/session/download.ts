/**
 * `download(torrent, options)`: the library API and what `bitstate download` runs. It puts the
 * world around the machines: the torrent machine (supervisor) with real TCP `connection` actors,
 * a PieceStore as its `storage` actor, the listening socket, the trackers; and it turns the
 * machines' notifications into `DownloadEvent`s.
 *
 *   const job = download(torrent, { out: 'downloads', peers: [{ host: '127.0.0.1', port: 6881 }] });
 *   job.events$.subscribe((e) => console.log(e.type));
 *   const result = await job.done; // { result: 'complete' } | { result: 'failed' | 'stopped', message }
 */

import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
// Subject alone, not the package's index: rxjs's CommonJS index (what Node resolves `rxjs` to)
// requires its ~220 modules, ~100 ms of start-up (docs/performance.md §6). Same module instances.
import { Subject } from 'rxjs/internal/Subject';
import { createActor } from 'xstate';
import type { FetchedLayer } from '../../machines/metadata.machine.js';
import type { PeerBlockedSource, TorrentOutput } from '../../machines/torrent.types.js';
import { DataBytes, pieceDataLengths } from '../metainfo/piece-data-length.js';
import { layerTrees, pieceLayerTrees } from '../metainfo/piece-layer-trees.js';
import { type Torrent, v2SwarmHash } from '../metainfo/torrent.js';
import { formatPeerAddress, type PeerAddress, selfPeerAddresses } from '../net/address.js';
import { resolveBindAddress } from '../net/bind-address.js';
import { BlockPool } from '../net/block-pool.js';
import type { AcceptedPeer, Listener } from '../net/listen.js';
import { makePeerId } from '../net/peer-id.js';
import { DEFAULT_UTP_MODE } from '../net/utp-mode.js';
import { isWebSeedUrl } from '../net/web-seed-url.js';
import type { Bitfield } from '../picker/bitfield.js';
import type { PieceStore } from '../storage/piece-store.js';
import { StorageError } from '../storage/storage-error.js';
import { WriteBacklog } from '../storage/write-backlog.js';
import { announceTiers } from './announce-tiers.js';
import { BlockedPeers } from './blocked-peers.js';
import { computePieceLayers, layersOnFiles } from './computed-piece-layers.js';
import type { DhtAnnounces } from './dht-announces.js';
import type { DownloadEvent } from './download-event.js';
import { forwardNotifications } from './download-notifications.js';
import type { DownloadOptions } from './download-options.js';
import { hybridLayerFetch } from './hybrid-piece-layers.js';
import type { LsdAnnounces } from './lsd-announces.js';
import { CompletionHook, checkOnComplete, completionEnvironment } from './on-complete-hook.js';
import { ProgressMeter } from './progress-meter.js';
import { countUdpTrackers, proxiedSession } from './proxy-session.js';
import { openResumed, ResumeSaver, resumePathFor } from './resume.js';
import { RESUME_SAVE_INTERVAL_MS, ResumeSaveLoop } from './resume-save-loop.js';
import { provideSessionActors } from './session-actors.js';
import { openSessionPorts, type SessionPorts } from './session-ports.js';
import { lentForUtp, openSessionUdp, type SessionUdp } from './session-udp.js';
import { seedStopReason, stallStopReason } from './stop-rules.js';
import { checkSuperSeed } from './super-seed-option.js';
import { TransferCounter } from './transfer-counter.js';

export const DEFAULT_MAX_PEERS = 50;
/** How often a `progress` event is emitted. */
export const PROGRESS_INTERVAL_MS = 1000;

/** What seed() hands the shared session: the store it opened and the pieces already verified. */
export interface PreparedStore {
  readonly store: PieceStore;
  readonly have: Bitfield;
  /** Selective download: the pieces of the selected files. */
  readonly wanted?: Bitfield;
}

export type DownloadResult =
  | { readonly result: 'complete'; readonly elapsedMs: number }
  | { readonly result: 'failed' | 'stopped'; readonly message: string };

export interface DownloadJob {
  readonly events$: Observable<DownloadEvent>;
  readonly done: Promise<DownloadResult>;
  /** Stops cleanly: peers closed, trackers told, files closed. Resolves when `done` has. */
  stop(reason?: string): Promise<DownloadResult>;
}

export function download(torrent: Torrent, options: DownloadOptions): DownloadJob {
  return startSession(torrent, options);
}

/** The session shared by download() and seed(): `prepare` opens and checks the store (seed). */
export function startSession(
  torrent: Torrent,
  options: DownloadOptions,
  prepare?: (emit: (e: DownloadEvent) => void) => Promise<PreparedStore>,
): DownloadJob {
  const events = new Subject<DownloadEvent>();
  let stopRequest: ((reason: string) => void) | undefined;
  let pendingStop: string | undefined;
  const done = run(
    torrent,
    options,
    prepare,
    (e) => events.next(e),
    (fn) => {
      stopRequest = fn;
      if (pendingStop !== undefined) fn(pendingStop);
    },
  ).finally(() => events.complete());
  return {
    events$: events.asObservable(),
    done,
    stop(reason = 'stopped') {
      if (stopRequest) stopRequest(reason);
      else pendingStop = reason;
      return done;
    },
  };
}

async function run(
  torrent: Torrent,
  given: DownloadOptions,
  prepare: ((emit: (e: DownloadEvent) => void) => Promise<PreparedStore>) | undefined,
  emit: (e: DownloadEvent) => void,
  onStop: (fn: (reason: string) => void) => void,
): Promise<DownloadResult> {
  // Let the caller subscribe to events$ before the first one.
  await Promise.resolve();
  checkSuperSeed(given);
  checkOnComplete(given.onComplete);
  // --bind: the one address every socket uses (bad input before anything opens, src/net/bind-address.ts).
  const bind = given.bind === undefined ? undefined : await resolveBindAddress(given.bind);
  // Under a proxy: our connections through it, what it cannot carry (UDP) off (proxy-session.ts);
  // under --bind too, the connections to the proxy leave from the bound address.
  const proxied = proxiedSession(
    given,
    emit,
    countUdpTrackers(announceTiers(torrent, given.extraTrackers)),
    bind,
  );
  const options = proxied.options;
  const proxy = proxied.dialer;
  const started = performance.now();
  const out = options.out;
  // Every figure of bytes a user or a tracker sees leaves padding out (never stored, never moved).
  const data = new DataBytes(torrent);
  // metadata first, before any checking of the data on disk.
  emit({
    type: 'metadata',
    name: torrent.name,
    infoHash: torrent.infoHashHex,
    totalLength: data.all,
    pieceCount: torrent.pieceCount,
    pieceLength: torrent.pieceLength,
    files: torrent.files.length,
    out: join(out, torrent.name),
    ...(torrent.ignoredTrackers === undefined ? {} : { ignoredTrackers: torrent.ignoredTrackers }),
  });
  if (proxied.udpOff !== undefined) emit(proxied.udpOff);
  const tiers =
    options.trackers === false ? [] : proxied.tiers(announceTiers(torrent, options.extraTrackers));
  // The tracker clients load only when there is a tracker to ask (--no-tracker, a trackerless
  // torrent: never), while the store opens.
  const trackersModule = tiers.length === 0 ? undefined : import('../tracker/tracker-tiers-actor.js');
  trackersModule?.catch(() => {}); // awaited below; not unhandled if the store fails to open first
  // BEP 19 web seeds: the torrent's url-list, http(s) only (docs/web-seeds.md). Their HTTP client
  // (node:http, node:https) loads only for a torrent that has one, as the trackers' does.
  const webSeeds = options.webSeeds === false ? [] : torrent.urlList.filter(isWebSeedUrl);
  const webSeedModule = webSeeds.length === 0 ? undefined : import('../net/web-seed-connection.js');
  webSeedModule?.catch(() => {});
  const utpMode = options.utp ?? DEFAULT_UTP_MODE;
  // The listening socket binds while the store opens (neither waits for the other), with the UDP
  // socket of uTP and the DHT at its number (session-ports.ts); a shared one (seedMany: one port
  // for several torrents) is lent, with its socket.
  const ownDht = options.dht !== undefined && !torrent.private && options.dhtNode === undefined;
  const wantUdp = utpMode !== 'off' || (ownDht && options.udp === undefined);
  const listening: Promise<SessionPorts | { listener: Listener }> | undefined =
    options.listener !== undefined
      ? Promise.resolve({ listener: options.listener })
      : options.listen === false
        ? undefined
        : openSessionPorts({
            ...(options.port === undefined ? {} : { port: options.port }),
            ...(options.portCandidates === undefined ? {} : { candidates: options.portCandidates }),
            ...(bind === undefined ? {} : { host: bind }),
            udp: wantUdp ? { utp: utpMode !== 'off' } : undefined,
            ...(options.udp === undefined ? {} : { lent: options.udp }),
          });
  listening?.catch(() => {}); // awaited below, or closed if the store fails to open
  // The disk's backlog: sockets stop reading while more than WRITE_BACKLOG_HIGH waits to be written.
  const backlog = new WriteBacklog();
  // Received blocks live in pooled slabs from the socket to the disk (src/net/block-pool.ts).
  const blockPool = prepare === undefined ? new BlockPool() : undefined;
  let prepared: PreparedStore;
  try {
    prepared =
      prepare === undefined
        ? await openResumed(
            torrent,
            {
              out,
              backlog,
              ...(blockPool === undefined ? {} : { blockPool }),
              ...(options.selected === undefined ? {} : { selected: options.selected }),
              ...(options.recheck === undefined ? {} : { recheck: options.recheck }),
              ...(options.writeMode === undefined ? {} : { writeMode: options.writeMode }),
              preallocate: options.preallocate ?? true,
            },
            emit,
          )
        : await prepare(emit);
  } catch (err) {
    await listening?.then(
      async (l) => {
        if ('udp' in l) await l.udp?.close();
        await l.listener.close();
      },
      () => {},
    );
    throw err;
  }
  const store = prepared.store;
  const wanted = options.selected === undefined ? undefined : prepared.wanted;
  // Resume saving for downloads (seed() checks the data itself each time and writes nothing).
  const saver =
    prepare === undefined
      ? new ResumeSaver(store, resumePathFor(torrent, out), () => actor.getSnapshot().context.picker.have)
      : undefined;
  /** The data of the wanted pieces: progress's totalLength, the seed ratio's size. */
  const wantedLength = data.wanted(wanted);
  // `--on-complete`: due when the download completes in this session, not for data complete at the
  // start (Transmission runs its script on that transition only); never for seed().
  const hook =
    options.onComplete === undefined || prepare !== undefined || hasEveryWanted(prepared.have, wanted)
      ? undefined
      : new CompletionHook(options.onComplete, completionEnvironment(torrent, out, options.selected), emit);
  let listener: Listener | undefined;
  /** Our own UDP socket (a given one, `options.udp`, is its owner's). */
  let udp: SessionUdp | undefined;
  /** The magnet fetch's socket, when its uTP is at the listening port's number (lentForUtp). */
  let lent: SessionUdp | undefined;
  let trackersActor: typeof import('../tracker/tracker-tiers-actor.js').trackerTiersActor | undefined;
  let webSeedConnection: typeof import('../net/web-seed-connection.js').createWebSeedConnection | undefined;
  try {
    const ports = await listening;
    listener = ports?.listener;
    // uTP (docs/utp.md) and the DHT share one UDP socket at the listening port's number: a magnet
    // fetch's (lent) if it is there, or ours.
    if (ports !== undefined && 'udp' in ports) {
      udp = ports.udp;
      lent = ports.lent;
      if (ports.udpPortTaken !== undefined) emit(ports.udpPortTaken);
    } else {
      lent = lentForUtp(options.udp, listener?.port);
      if (lent === undefined && utpMode !== 'off')
        udp = await openSessionUdp(listener?.port ?? options.port ?? 0, {
          utp: true,
          ...(bind === undefined ? {} : { host: bind }),
        });
    }
    trackersActor = (await trackersModule)?.trackerTiersActor;
    webSeedConnection = (await webSeedModule)?.createWebSeedConnection;
  } catch (err) {
    await udp?.close();
    await listener?.close();
    await store.close();
    throw err;
  }
  /** uTP on the session's UDP socket, unless `--utp off`; the DHT runs on that socket too. */
  const utp = utpMode === 'off' ? undefined : (lent ?? udp)?.utp;
  const udpEndpoint = (options.udp ?? udp)?.endpoint;
  const counter = new TransferCounter();
  const stats = () => ({
    uploaded: counter.uploaded,
    downloaded: counter.downloaded,
    // The data of every piece we lack, wanted or not, as libtorrent's tracker `left` (bytes_left:
    // the torrent's size less the pieces passed), padding left out: a partial seed (BEP 21) is no
    // seed to the tracker (left 0 is what trackers count as one), a full seed's is 0.
    left: data.all - data.of(actor.getSnapshot().context.picker.have),
  });
  const trackers = trackersActor?.({
    stats,
    ...(proxy === undefined ? {} : { proxy }),
    ...(bind === undefined ? {} : { localAddress: bind }),
    ...(options.blocklist === undefined ? {} : { blocklist: options.blocklist }),
  });
  // BEP 52: a hybrid fetched by magnet fetches its piece layers alongside the v1 download.
  const layerFetch = options.onPieceLayers === undefined ? undefined : hybridLayerFetch(torrent);
  const actorLogic = provideSessionActors({
    options: bind === undefined ? options : { ...options, bind },
    torrent,
    counter,
    backlog,
    store,
    ...(trackers === undefined ? {} : { trackers }),
    ...(utp === undefined ? {} : { utp }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(webSeedConnection === undefined ? {} : { webSeedConnection }),
    ...(blockPool === undefined ? {} : { blockPool }),
    // A piece we verified cannot be read back to serve it: the disk's fault, as a failed write is.
    onReadError: (err) =>
      actor.send({ type: 'storage.error', message: StorageError.fromSystem(err, 'read').message }),
    ...(layerFetch === undefined ? {} : { proveHashes: layerFetch.prove }),
  });
  const hashTrees = pieceLayerTrees(torrent);
  const otherInfoHash = v2SwarmHash(torrent);
  const dataLengths = pieceDataLengths(torrent);
  const actor = createActor(actorLogic, {
    input: {
      infoHash: torrent.infoHash,
      // A hybrid (BEP 52) is in two swarms: its peers may name either hash, its trackers hear both.
      ...(otherInfoHash === undefined ? {} : { otherInfoHash }),
      peerId: options.peerId ?? makePeerId(),
      pieceCount: torrent.pieceCount,
      pieceLength: torrent.pieceLength,
      totalLength: torrent.totalLength,
      ...(dataLengths.size === 0 ? {} : { pieceDataLengths: dataLengths }),
      maxPeers: options.maxPeers ?? DEFAULT_MAX_PEERS,
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      have: prepared.have,
      ...(wanted === undefined ? {} : { wanted }),
      ...(options.sequential === true ? { sequential: true } : {}),
      seedWhenComplete: options.keepSeeding === true,
      ...(options.superSeed === true ? { superSeed: true } : {}),
      ...(webSeeds.length === 0 ? {} : { webSeeds }),
      ...(options.webSeedRetryMs === undefined ? {} : { webSeedRetryMs: options.webSeedRetryMs }),
      ...(tiers.length === 0 ? {} : { trackers: { tiers, port: listener?.port ?? 0 } }),
      // BEP 9: peers that start from a magnet link fetch the info dictionary from us; not for a
      // private torrent (BEP 27: its peers come from its tracker, which hands out the .torrent).
      ...(torrent.private ? {} : { metadata: torrent.infoBytes }),
      // BEP 52: a v2 torrent's piece layers, for peers that started from a magnet link and ask for
      // them with hash requests (hashed once here: src/metainfo/piece-layer-trees.ts).
      ...(hashTrees === undefined ? {} : { pieceLayerTrees: hashTrees }),
      ...(layerFetch === undefined ? {} : { pieceLayerPlan: layerFetch.plan }),
      // BEP 11 peer exchange, off for a private torrent (BEP 27) as for its metadata.
      pex: !torrent.private && options.pex !== false,
      ...(listener === undefined
        ? {}
        : {
            listenPort: listener.port,
            selfAddresses: selfPeerAddresses(
              listener.host,
              listener.port,
              Object.values(networkInterfaces()).flatMap((list) => list ?? []),
            ),
          }),
    },
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  });
  const meter = new ProgressMeter(
    torrent,
    counter,
    () => actor.getSnapshot().context,
    options.peerDetail === true,
    wanted,
    data,
  );
  let stopReason: string | undefined;
  const finished = new Promise<TorrentOutput>((resolve, reject) => {
    actor.subscribe({
      complete: () => resolve(actor.getSnapshot().output as TorrentOutput),
      error: (err) => reject(err),
    });
  });

  let seedingSince: number | undefined;
  // Complete, the download gets the files no block was written to (zero-length ones): files are
  // created at their first write (src/storage/store-files.ts). Once, before the last resume save.
  let missingFiles: Promise<Error | undefined> | undefined;
  const createMissingFiles = () =>
    (missingFiles ??= store.createMissing().then(
      () => undefined,
      (err: unknown) => StorageError.fromSystem(err, 'create'),
    ));
  // When the last piece was verified: the `done` event's transfer time, which the trackers' wait
  // at the end (up to 6 s for one that hangs) does not stretch.
  let lastVerifiedAt: number | undefined;
  actor.on('torrent.pieceVerified', () => {
    lastVerifiedAt = performance.now();
  });
  // BEP 52: a hybrid without its piece layers gets them from its peers (fetched: torrent.pieceLayers)
  // or, once complete, from its data (hashLayers). Either serves them at once (the trees to the
  // machine), then saves them (the caller's onPieceLayers: a magnet's .torrent); a save that fails
  // is a warning. The work is awaited before the session's last event.
  let layersKnown = torrent.version !== 'hybrid' || hashTrees !== undefined;
  const layerWork = new Set<Promise<unknown>>();
  const layersAbort = new AbortController();
  const track = (work: Promise<unknown>) => {
    layerWork.add(work);
    void work.finally(() => layerWork.delete(work));
  };
  const machineActive = () => actor.getSnapshot().status === 'active';
  /**
   * Files whose data the hashing found not to hash to their `pieces root`: a layer fetched for one
   * later (it proves to that root) is not served either, as none hashed from the data is.
   */
  const inconsistentFiles: number[] = [];
  /** Saves every file's layers when the caller keeps them; false when it does not or the save failed. */
  const saveLayers = async (layers: readonly FetchedLayer[]): Promise<boolean> => {
    if (options.onPieceLayers === undefined) return false;
    try {
      await options.onPieceLayers(layers);
      return true;
    } catch (err) {
      emit({ type: 'metadata.layersNotSaved', message: err instanceof Error ? err.message : String(err) });
      return false;
    }
  };
  actor.on('torrent.pieceLayers', (e) => {
    if (layersKnown || !machineActive()) return;
    layersKnown = true;
    actor.send({
      type: 'pieceLayers.trees',
      trees: layerTrees(layersOnFiles(torrent, e.layers, inconsistentFiles), torrent.pieceLength),
    });
    track(
      saveLayers(e.layers).then(() =>
        emit({
          type: 'metadata.layersFetched',
          hashes: e.layers.reduce((n, l) => n + l.layer.length / 32, 0),
        }),
      ),
    );
  });
  /** Complete: the layers still unknown hashed from the files on disk (computed-piece-layers.ts). */
  const hashLayers = () => {
    if (layersKnown) return;
    const hashing = computePieceLayers(torrent, {
      paths: store.paths,
      have: actor.getSnapshot().context.picker.have,
      ...(options.selected === undefined ? {} : { selected: options.selected }),
      signal: layersAbort.signal,
    }).then(
      async (r) => {
        if (layersKnown || !machineActive()) return;
        inconsistentFiles.push(...r.inconsistent);
        for (const i of r.inconsistent)
          emit({ type: 'metadata.layersInconsistent', file: torrent.files[i]!.path.join('/') });
        if (r.layers.length === 0) return;
        const all = r.inconsistent.length === 0 && r.missing === 0;
        if (all) layersKnown = true;
        actor.send({
          type: 'pieceLayers.trees',
          trees: layerTrees(r.layers, torrent.pieceLength),
          ...(all ? {} : { partial: true }),
        });
        const saved = all && (await saveLayers(r.layers));
        emit({
          type: 'metadata.layersComputed',
          files: r.layers.length,
          hashes: r.layers.reduce((n, l) => n + l.layer.length / 32, 0),
          saved,
          ...(r.missing === 0 ? {} : { missing: r.missing }),
        });
      },
      (err: unknown) => {
        if (!layersAbort.signal.aborted)
          emit({
            type: 'metadata.layersNotComputed',
            message: err instanceof Error ? err.message : String(err),
          });
      },
    );
    track(hashing);
  };
  /** Peers the IP filter blocked so far, each counted once (`peer.blocked`: the display's count). */
  const blockedPeers = new BlockedPeers();
  /**
   * The names the user gave (`peers`: `--peer`, a magnet's `x.pe`): a name found blocked at its dial
   * (no `source`) came from them, or else from a tracker's dictionary peer, the only other source of
   * names (the DHT, LSD and PEX give addresses).
   */
  const userPeers = new Set((options.peers ?? []).map(formatPeerAddress));
  const peerBlocked = (address: string, source?: PeerBlockedSource) =>
    emit({
      type: 'peer.blocked',
      address,
      source: source ?? (userPeers.has(address) ? 'peer' : 'tracker'),
      blocked: blockedPeers.add(address),
    });
  forwardNotifications(
    actor,
    meter,
    emit,
    () => {
      seedingSince = performance.now();
      hashLayers();
      void createMissingFiles().then(async (err) => {
        if (err !== undefined && stopReason === undefined) {
          stopReason = err.message;
          actor.send({ type: 'cmd.stop' });
        }
        // Complete and seeding on: the hook runs once the data is synced (the save flushes it).
        if (err !== undefined || hook === undefined) return;
        await saves.save();
        if (saves.error === undefined && !ended) hook.start();
      });
    },
    peerBlocked,
  );
  actor.start();

  const timers: NodeJS.Timeout[] = [];
  let dht: Promise<DhtAnnounces> | undefined;
  let lsd: Promise<LsdAnnounces> | undefined;
  /** The torrent machine has ended: the DHT reports nothing more. */
  let ended = false;
  /** Peers a DHT lookup or an LSD announce found, for this torrent's swarm or a hybrid's v2 one. */
  const addPeersFrom =
    (source: 'dht' | 'lsd') =>
    (peers: readonly PeerAddress[], swarm?: 'v2'): void => {
      if (ended) return;
      for (const p of peers)
        actor.send({
          type: 'peer.add',
          address: formatPeerAddress(p),
          source,
          ...(swarm === 'v2' ? { swarm } : {}),
        });
    };
  const saves = new ResumeSaveLoop(saver, options.resumeSaveIntervalMs ?? RESUME_SAVE_INTERVAL_MS, emit);
  try {
    if (listener !== undefined) {
      emit({ type: 'listening', port: listener.port });
      const incoming = (socket: AcceptedPeer) => {
        // The machine has ended (the listener closes last): no one would take it. A shared port's
        // router still routes here until then, while its other torrents go on (many-torrents.ts).
        if (actor.getSnapshot().status !== 'active') {
          socket.destroy();
          return;
        }
        const address = formatPeerAddress({
          host: socket.remoteAddress ?? '?',
          port: socket.remotePort ?? 0,
        });
        // The IP filter: closed as accepted, before a byte of it is read (docs/blocklist.md).
        if (options.blocklist?.hasAddress(address) === true) {
          socket.destroy();
          peerBlocked(address, 'incoming');
          return;
        }
        actor.send({ type: 'peer.incoming', address, handle: socket });
      };
      listener.connections$.subscribe(incoming);
      // A lent listener's router takes the uTP connections too, and routes them to their torrent.
      if (options.listener === undefined) utp?.onConnection(incoming);
    }
    // A magnet fetch's peers first, dialled the way its dials there came up.
    for (const p of options.dialled ?? [])
      actor.send({
        type: 'peer.add',
        address: p.address,
        dialled: { encryption: p.encryption, transport: p.transport },
        ...(options.peersSwarm === undefined ? {} : { swarm: options.peersSwarm }),
      });
    for (const p of options.peers ?? [])
      actor.send({
        type: 'peer.add',
        address: formatPeerAddress(p),
        ...(options.peersSwarm === undefined ? {} : { swarm: options.peersSwarm }),
      });
    // BEP 5 on the listening port's number; never for a private torrent (BEP 27).
    if (options.dht !== undefined && !torrent.private) {
      // Its own socket, when it opens one, on the bound address too.
      const settings = bind === undefined ? options.dht : { ...options.dht, host: bind };
      // Loaded only when asked for (start-up time, docs/performance.md §6).
      dht = import('./dht-announces.js').then(({ startDhtAnnounces }) =>
        startDhtAnnounces(settings, {
          port: listener?.port ?? options.port ?? 0,
          infoHash: torrent.infoHash,
          ...(otherInfoHash === undefined ? {} : { otherInfoHash }),
          ...(listener === undefined ? {} : { announcePort: listener.port }),
          ...(options.dhtNode === undefined ? {} : { dht: options.dhtNode }),
          ...(udpEndpoint === undefined ? {} : { endpoint: udpEndpoint }),
          onPeers: addPeersFrom('dht'),
          // Nothing after the session's own last events (`done` / `stopped`).
          emit: (e) => {
            if (!ended) emit(e);
          },
        }),
      );
      dht.catch(() => {}); // a DHT that cannot start leaves the other peer sources working
    }
    // BEP 14 on the local network, for a session that listens; never for a private torrent (BEP 27).
    // A hosted session (its listener lent) uses the host's service only: when the host could not
    // start one (port 6771 refused), it opens none of its own.
    const lsdHere = options.lsdService !== undefined || options.listener === undefined;
    if (options.lsd !== undefined && !torrent.private && listener !== undefined && lsdHere) {
      const settings = options.lsd;
      const at = listener;
      lsd = import('./lsd-announces.js').then(({ startLsdAnnounces }) =>
        startLsdAnnounces(settings, {
          port: at.port,
          listenHost: at.host,
          infoHash: torrent.infoHash,
          ...(otherInfoHash === undefined ? {} : { otherInfoHash }),
          ...(options.lsdService === undefined ? {} : { lsd: options.lsdService }),
          onPeers: addPeersFrom('lsd'),
          emit: (e) => {
            if (!ended) emit(e);
          },
        }),
      );
      // No port 6771 to be had: said once, and the other peer sources work without it.
      lsd.catch((err: unknown) =>
        import('./lsd-announces.js').then(({ lsdOffEvent }) => {
          if (!ended) emit(lsdOffEvent(err));
        }),
      );
    }

    onStop((reason) => {
      stopReason = reason;
      // Ctrl-C (stop()): a hook running is killed, one not started yet never starts.
      hook?.stop();
      actor.send({ type: 'cmd.stop' });
    });
    timers.push(
      setInterval(() => {
        emit(meter.progress(performance.now() - started));
        void saves
          .tick(performance.now(), () => actor.getSnapshot().context.picker.have.count)
          ?.then(() => {
            if (saves.error !== undefined && stopReason === undefined) {
              stopReason = saves.error.message;
              actor.send({ type: 'cmd.stop' });
            }
          });
        if (stopReason === undefined) {
          const reason =
            seedingSince !== undefined
              ? seedStopReason(options, counter.uploaded, wantedLength, performance.now() - seedingSince)
              : stallStopReason(options, () => counter.msSinceLastByte());
          if (reason !== undefined) {
            stopReason = reason;
            actor.send({ type: 'cmd.stop' });
          }
        }
      }, PROGRESS_INTERVAL_MS),
    );
    const output = await finished;
    ended = true;
    // The piece layers' hashing stops between two reads; a save under way ends (written whole).
    layersAbort.abort();
    await Promise.allSettled(layerWork);
    const elapsedMs = performance.now() - started;
    const filesError =
      output.result === 'complete' || seedingSince !== undefined ? await createMissingFiles() : undefined;
    // The last save: every piece verified so far, flushed first, every file on disk looked at. A
    // failure (a file removed or cut short under us, the disk full) turns the result into a
    // failure: the data is not all there.
    await saves.save({ everyFile: true });
    const failure = saves.error ?? filesError;
    // Complete, synced and its files closed: the hook (when it did not start as seeding began), and
    // the session's last event waits for it, bounded by its timeout.
    if (hook !== undefined && failure === undefined && output.result === 'complete') {
      await store.close();
      hook.start();
    }
    await hook?.settled;
    if (failure !== undefined && output.result !== 'storageError') {
      emit({ type: 'stopped', reason: failure.message });
      // A path the torrent's files cannot take (a symlink or a file planted where a folder goes) is
      // bad input, as at open: the typed error, which the CLI answers with exit 2.
      if (failure instanceof StorageError && failure.badInput) throw failure;
      return { result: 'failed', message: failure.message };
    }
    switch (output.result) {
      case 'complete': {
        await store.close();
        emit(meter.progress(elapsedMs));
        const transferMs = lastVerifiedAt === undefined ? elapsedMs : lastVerifiedAt - started;
        emit({
          type: 'done',
          elapsedMs,
          transferMs,
          totalLength: wantedLength,
          averageRate: wantedLength / Math.max(transferMs / 1000, 1e-3),
        });
        return { result: 'complete', elapsedMs };
      }
      case 'stopped': {
        const message = stopReason ?? 'stopped';
        emit({ type: 'stopped', reason: message });
        return {
          result: stopReason === 'interrupted' || stopReason === 'stopped' ? 'stopped' : 'failed',
          message,
        };
      }
      case 'storageError':
        emit({ type: 'stopped', reason: output.message });
        return { result: 'failed', message: output.message };
      default: {
        const never: never = output;
        return never;
      }
    }
  } finally {
    for (const t of timers) clearInterval(t);
    layersAbort.abort();
    // Ended by an error: a hook still running is killed, not left behind.
    hook?.stop();
    await hook?.settled;
    actor.stop();
    // Our own uTP peers told before the DHT's last save and the socket's close. A lent socket's uTP
    // (a magnet fetch's, many-torrents.ts's for every torrent) is its owner's to close: others may still use it.
    udp?.utp?.close();
    await dht?.then(
      (d) => d.close(),
      () => {},
    );
    await lsd?.then(
      (l) => l.close(),
      () => {},
    );
    await udp?.close();
    await listener?.close();
    await store.close().catch(() => {});
  }
}

/** Every wanted piece (all, or a selection's) is in `have`. */
function hasEveryWanted(have: Bitfield, wanted: Bitfield | undefined): boolean {
  if (wanted === undefined) return have.isComplete();
  let every = true;
  wanted.forEachSet((i) => {
    if (!have.has(i)) every = false;
  });
  return every;
}
