/**
 * Builds `progress` events from the torrent machine's snapshot (the picker's counts, the live peer
 * machines) and the byte counters, with rates smoothed over the last few seconds. Its bytes are the
 * data's: padding, never stored nor moved, is counted nowhere (DataBytes,
 * src/metainfo/piece-data-length.ts).
 */
import type { PeerContext } from '../../machines/peer-context.js';
import type { TorrentContext } from '../../machines/torrent-context.js';
import { DataBytes } from '../metainfo/piece-data-length.js';
import type { Torrent } from '../metainfo/torrent.js';
import { describePeerId } from '../net/peer-id.js';
import type { Bitfield } from '../picker/bitfield.js';
import type { DownloadEvent, PeerSummary } from './download-event.js';
import type { TransferCounter } from './transfer-counter.js';

/** Rates are averaged over this many one-second samples. */
const RATE_WINDOW = 5;

type ProgressEvent = Extract<DownloadEvent, { type: 'progress' }>;

export class ProgressMeter {
  readonly #data: DataBytes;
  readonly #counter: TransferCounter;
  readonly #context: () => TorrentContext;
  readonly #detail: boolean;
  readonly #samples: { t: number; down: number; up: number }[] = [];
  /**
   * Selective download: progress counts the wanted pieces only (pieceCount, totalLength); `bytes`
   * is their data, padding left out.
   */
  readonly #wanted: { readonly pieces: number; readonly bytes: number };

  constructor(
    torrent: Torrent,
    counter: TransferCounter,
    context: () => TorrentContext,
    detail: boolean,
    wanted?: Bitfield,
    /** The torrent's data, when the session has it already. */
    data: DataBytes = new DataBytes(torrent),
  ) {
    this.#data = data;
    this.#wanted = { pieces: wanted?.count ?? torrent.pieceCount, bytes: data.wanted(wanted) };
    this.#counter = counter;
    this.#context = context;
    this.#detail = detail;
  }

  /** The client name from a connected peer's handshake. */
  clientOf(key: string): string {
    if (this.#context().webSeeds.has(key)) return 'web seed';
    const id = this.#peerContext(key)?.remotePeerId;
    return id === undefined ? 'unknown' : describePeerId(id);
  }

  #peerContext(key: string): PeerContext | undefined {
    const entry = this.#context().peers.get(key);
    return (entry?.ref.getSnapshot() as { context?: PeerContext } | undefined)?.context;
  }

  progress(elapsedMs: number): ProgressEvent {
    const ctx = this.#context();
    const have = ctx.picker.have;
    const verified = this.#data.of(have);
    const now = elapsedMs;
    this.#samples.push({ t: now, down: this.#counter.downloaded, up: this.#counter.uploaded });
    if (this.#samples.length > RATE_WINDOW + 1) this.#samples.shift();
    const first = this.#samples[0]!;
    const span = (now - first.t) / 1000;
    const downloadRate = span > 0 ? (this.#counter.downloaded - first.down) / span : 0;
    const uploadRate = span > 0 ? (this.#counter.uploaded - first.up) / span : 0;
    const left = this.#wanted.bytes - verified;
    let peersConnected = 0;
    let webSeedsConnected = 0;
    const peers: PeerSummary[] = [];
    for (const [key, entry] of ctx.peers) {
      // Handshaken and holding a slot: not one told to make room, or refused one, on its way out.
      if (entry.handshaken && !ctx.leaving.has(key)) peersConnected++;
      const webSeed = ctx.webSeeds.has(key);
      if (webSeed && entry.handshaken) webSeedsConnected++;
      if (!this.#detail) continue;
      const snap = entry.ref.getSnapshot() as { value?: unknown; context?: PeerContext };
      const c = snap.context;
      peers.push({
        address: entry.address,
        client: this.clientOf(key),
        state: stateName(snap.value),
        downloadRate: c?.rate ?? 0,
        outstanding: c?.outstanding.size ?? 0,
        encryption: c?.encryption ?? 'none',
        transport: c?.transport ?? 'tcp',
        ...(webSeed ? { webSeed: true as const } : {}),
      });
    }
    return {
      type: 'progress',
      verifiedPieces: have.count,
      pieceCount: this.#wanted.pieces,
      verifiedBytes: verified,
      totalLength: this.#wanted.bytes,
      downloadRate,
      uploadRate,
      downloaded: this.#counter.downloaded,
      uploaded: this.#counter.uploaded,
      peersConnected,
      peersKnown: ctx.addresses.size,
      peersFromPex: ctx.pexLearned,
      ...(ctx.webSeeds.size === 0 ? {} : { webSeedsConnected }),
      etaSeconds: left === 0 ? 0 : downloadRate > 0 ? left / downloadRate : undefined,
      elapsedMs,
      ...(this.#detail ? { peers } : {}),
    };
  }
}

/** A short name for a (possibly parallel) state value: `connected.download.unchoked` → `unchoked`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const [k, v] = Object.entries(value)[0] ?? ['?', undefined];
    if (k === 'connected' && typeof v === 'object' && v !== null) {
      const download = (v as Record<string, unknown>).download;
      return stateName(download);
    }
    return v === undefined ? k : stateName(v);
  }
  return '?';
}
