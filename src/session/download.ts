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
import { join } from 'node:path';
import { type Observable, Subject } from 'rxjs';
import { createActor, type InspectionEvent } from 'xstate';
import { peerMachine } from '../../machines/peer.machine.js';
import { torrentMachine } from '../../machines/torrent.machine.js';
import type { TorrentOutput } from '../../machines/torrent.types.js';
import type { Torrent } from '../metainfo/torrent.js';
import { formatPeerAddress, type PeerAddress } from '../net/address.js';
import { type Listener, listenForPeers } from '../net/listen.js';
import { makePeerId } from '../net/peer-id.js';
import { createTcpConnection } from '../net/tcp-connection.js';
import { TokenBucket } from '../net/token-bucket.js';
import type { Bitfield } from '../picker/bitfield.js';
import { verifiedBytes } from '../picker/verified-bytes.js';
import type { PieceStore } from '../storage/piece-store.js';
import { storageActor } from '../storage/storage-actor.js';
import { WriteBacklog } from '../storage/write-backlog.js';
import { trackerTiersActor } from '../tracker/tracker-tiers-actor.js';
import type { DownloadEvent } from './download-event.js';
import { ProgressMeter } from './progress-meter.js';
import { openResumed, ResumeSaver, resumePathFor } from './resume.js';
import { TransferCounter } from './transfer-counter.js';

export const DEFAULT_MAX_PEERS = 50;
/** How often a `progress` event is emitted. */
export const PROGRESS_INTERVAL_MS = 1000;
/** The resume file is saved at most this often while pieces are verified (docs/resume.md). */
export const RESUME_SAVE_INTERVAL_MS = 2000;

export interface DownloadOptions {
  /** The folder the torrent's `<name>` is saved under. */
  readonly out: string;
  /** Peers to dial besides those the trackers give. */
  readonly peers?: readonly PeerAddress[];
  /** Announce to the torrent's HTTP trackers (default true). */
  readonly trackers?: boolean;
  /** Port for incoming peers (default 6881 or the next free one; 0 = any). */
  readonly port?: number;
  /** Accept incoming peers at all (default true). */
  readonly listen?: boolean;
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
  /** Stop seeding once uploaded ≥ ratio × the torrent's size (counted over the whole session). */
  readonly seedRatio?: number;
  /** Stop seeding after this long in the seeding state. */
  readonly seedTimeMs?: number;
  /** Payload rate limits in bytes per second, shared by every connection (token buckets). */
  readonly maxUploadRate?: number;
  readonly maxDownloadRate?: number;
  /** Memory for the read cache used to serve blocks (default 32 MiB). */
  readonly readCacheBytes?: number;
  /** Selective download: per file index, fetch it (default: all). See docs/resume.md. */
  readonly selected?: readonly boolean[];
  /** New pieces lowest index first (streaming). */
  readonly sequential?: boolean;
  /** Hash every wanted piece on disk instead of trusting the resume file. */
  readonly recheck?: boolean;
  /** How often the resume file is saved while pieces arrive (default RESUME_SAVE_INTERVAL_MS). */
  readonly resumeSaveIntervalMs?: number;
}

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

/**
 * The torrent's trackers as BEP 12 tiers, keeping the URLs this client can announce to: HTTP(S) and
 * UDP (BEP 15); the trackers actor walks the tiers (BEP 12).
 */
export function announceTiers(torrent: Torrent): string[][] {
  const tiers =
    torrent.announceList.length > 0 ? torrent.announceList : torrent.announce ? [[torrent.announce]] : [];
  return tiers
    .map((tier) => tier.filter((url) => /^(https?|udp):\/\//i.test(url)))
    .filter((tier) => tier.length > 0);
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
  options: DownloadOptions,
  prepare: ((emit: (e: DownloadEvent) => void) => Promise<PreparedStore>) | undefined,
  emit: (e: DownloadEvent) => void,
  onStop: (fn: (reason: string) => void) => void,
): Promise<DownloadResult> {
  // Let the caller subscribe to events$ before the first one.
  await Promise.resolve();
  const started = performance.now();
  const out = options.out;
  // metadata first, before any checking of the data on disk.
  emit({
    type: 'metadata',
    name: torrent.name,
    infoHash: torrent.infoHashHex,
    totalLength: torrent.totalLength,
    pieceCount: torrent.pieceCount,
    pieceLength: torrent.pieceLength,
    files: torrent.files.length,
    out: join(out, torrent.name),
  });
  // The disk's backlog: sockets stop reading while more than WRITE_BACKLOG_HIGH waits to be written.
  const backlog = new WriteBacklog();
  const prepared =
    prepare === undefined
      ? await openResumed(
          torrent,
          {
            out,
            backlog,
            ...(options.selected === undefined ? {} : { selected: options.selected }),
            ...(options.recheck === undefined ? {} : { recheck: options.recheck }),
          },
          emit,
        )
      : await prepare(emit);
  const store = prepared.store;
  const wanted = options.selected === undefined ? undefined : prepared.wanted;
  // Resume saving for downloads (seed() checks the data itself each time and writes nothing).
  const saver =
    prepare === undefined
      ? new ResumeSaver(store, resumePathFor(torrent, out), () => actor.getSnapshot().context.picker.have)
      : undefined;
  const wantedLength = wanted === undefined ? torrent.totalLength : verifiedBytes(torrent, wanted);
  let listener: Listener | undefined;
  try {
    if (options.listen !== false)
      listener = await listenForPeers(options.port === undefined ? {} : { port: options.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  const counter = new TransferCounter();
  const stats = () => ({
    uploaded: counter.uploaded,
    downloaded: counter.downloaded,
    left: wantedLength - verifiedBytes(torrent, actor.getSnapshot().context.picker.have),
  });
  const tiers = options.trackers === false ? [] : announceTiers(torrent);
  const actorLogic = torrentMachine.provide({
    actors: {
      peer: peerMachine.provide({
        actors: {
          connection: createTcpConnection({
            onPayloadReceived: counter.onPayloadReceived,
            onPayloadSent: counter.onPayloadSent,
            readGate: backlog,
            ...(options.maxUploadRate === undefined
              ? {}
              : { uploadLimit: new TokenBucket(options.maxUploadRate) }),
            ...(options.maxDownloadRate === undefined
              ? {}
              : { downloadLimit: new TokenBucket(options.maxDownloadRate) }),
          }),
        },
      }),
      storage: storageActor(
        store,
        options.readCacheBytes === undefined ? {} : { readCacheBytes: options.readCacheBytes },
      ),
      trackers: trackerTiersActor({ stats }),
    },
  });
  const actor = createActor(actorLogic, {
    input: {
      infoHash: torrent.infoHash,
      peerId: options.peerId ?? makePeerId(),
      pieceCount: torrent.pieceCount,
      pieceLength: torrent.pieceLength,
      totalLength: torrent.totalLength,
      maxPeers: options.maxPeers ?? DEFAULT_MAX_PEERS,
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      have: prepared.have,
      ...(wanted === undefined ? {} : { wanted }),
      ...(options.sequential === true ? { sequential: true } : {}),
      seedWhenComplete: options.keepSeeding === true,
      ...(tiers.length === 0 ? {} : { trackers: { tiers, port: listener?.port ?? 0 } }),
    },
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  });
  const meter = new ProgressMeter(
    torrent,
    counter,
    () => actor.getSnapshot().context,
    options.peerDetail === true,
    wanted,
  );
  let stopReason: string | undefined;
  const finished = new Promise<TorrentOutput>((resolve, reject) => {
    actor.subscribe({
      complete: () => resolve(actor.getSnapshot().output as TorrentOutput),
      error: (err) => reject(err),
    });
  });

  actor.on('torrent.peerConnected', (e) =>
    emit({ type: 'peer.connected', address: e.address, client: meter.clientOf(e.key) }),
  );
  actor.on('torrent.peerClosed', (e) =>
    emit({ type: 'peer.closed', address: e.address, reason: e.reason.reason }),
  );
  actor.on('torrent.peerBanned', (e) => emit({ type: 'peer.banned', address: e.address }));
  actor.on('torrent.pieceVerified', (e) => emit({ type: 'piece.verified', index: e.index }));
  actor.on('torrent.pieceFailed', (e) => emit({ type: 'piece.failed', index: e.index }));
  actor.on('torrent.trackerAnnounced', (e) =>
    emit({ type: 'tracker.announce', url: e.url, ok: true, peers: e.peerCount, interval: e.interval }),
  );
  actor.on('torrent.trackerFailed', (e) =>
    emit({ type: 'tracker.announce', url: e.url, ok: false, error: e.message }),
  );
  actor.on('torrent.incomingRejected', (e) => (e.handle as { destroy?: () => void }).destroy?.());
  let seedingSince: number | undefined;
  actor.on('torrent.seeding', () => {
    seedingSince = performance.now();
    emit({ type: 'seeding' });
  });
  actor.start();

  const timers: NodeJS.Timeout[] = [];
  /** A save that failed (disk full, a file removed under us): the download stops with it. */
  let saveError: Error | undefined;
  let lastSave = performance.now();
  const saveResume = (): Promise<void> | undefined =>
    saver
      ?.save()
      .then((have) => emit({ type: 'resume.saved', have }))
      .catch((err: unknown) => {
        saveError ??= err instanceof Error ? err : new Error(String(err));
      });
  try {
    if (listener !== undefined) {
      emit({ type: 'listening', port: listener.port });
      listener.connections$.subscribe((socket) => {
        const address = formatPeerAddress({
          host: socket.remoteAddress ?? '?',
          port: socket.remotePort ?? 0,
        });
        actor.send({ type: 'peer.incoming', address, handle: socket });
      });
    }
    for (const p of options.peers ?? []) actor.send({ type: 'peer.add', address: formatPeerAddress(p) });

    onStop((reason) => {
      stopReason = reason;
      actor.send({ type: 'cmd.stop' });
    });
    timers.push(
      setInterval(() => {
        emit(meter.progress(performance.now() - started));
        const now = performance.now();
        if (
          saver !== undefined &&
          !saver.busy &&
          saveError === undefined &&
          now - lastSave >= (options.resumeSaveIntervalMs ?? RESUME_SAVE_INTERVAL_MS) &&
          actor.getSnapshot().context.picker.have.count !== saver.saved
        ) {
          lastSave = now;
          void saveResume()?.then(() => {
            if (saveError !== undefined && stopReason === undefined) {
              stopReason = saveError.message;
              actor.send({ type: 'cmd.stop' });
            }
          });
        }
        if (seedingSince !== undefined && stopReason === undefined) {
          // Seed ratio / time: the world tells the machine (cmd.stop) — a seeding stop ends `complete`.
          if (
            options.seedRatio !== undefined &&
            counter.uploaded >= options.seedRatio * torrent.totalLength
          ) {
            stopReason = `seed ratio ${options.seedRatio} reached`;
            actor.send({ type: 'cmd.stop' });
          } else if (
            options.seedTimeMs !== undefined &&
            performance.now() - seedingSince >= options.seedTimeMs
          ) {
            stopReason = `seed time ${Math.round(options.seedTimeMs / 1000)} s reached`;
            actor.send({ type: 'cmd.stop' });
          }
        }
        if (
          options.stallTimeoutMs !== undefined &&
          seedingSince === undefined &&
          stopReason === undefined &&
          counter.msSinceLastByte() > options.stallTimeoutMs
        ) {
          stopReason = `no data from any peer for ${Math.round(options.stallTimeoutMs / 1000)} s`;
          actor.send({ type: 'cmd.stop' });
        }
      }, PROGRESS_INTERVAL_MS),
    );
    const output = await finished;
    const elapsedMs = performance.now() - started;
    // The last save: every piece verified so far, flushed first. A failure (a file removed or cut
    // short under us, the disk full) turns the result into a failure: the data is not all there.
    await saveResume();
    if (saveError !== undefined && output.result !== 'storageError') {
      emit({ type: 'stopped', reason: saveError.message });
      return { result: 'failed', message: saveError.message };
    }
    switch (output.result) {
      case 'complete':
        await store.close();
        emit(meter.progress(elapsedMs));
        emit({
          type: 'done',
          elapsedMs,
          totalLength: torrent.totalLength,
          averageRate: torrent.totalLength / Math.max(elapsedMs / 1000, 1e-3),
        });
        return { result: 'complete', elapsedMs };
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
    actor.stop();
    await listener?.close();
    await store.close().catch(() => {});
  }
}
