/**
 * The bookkeeping of fetching a torrent's metadata (BEP 9) from the peers that offer it: which
 * 16 KiB piece is asked of which peer, what has arrived, who sent it, and who is not asked again.
 * Pure and held by reference in the metadata machine's context (changed only through these
 * methods, from named actions; `toJSON()` is its summary). Each method returns the commands it
 * calls for — requests to send, peers to drop — which the machine emits to its driver.
 *
 * Rules (after libtorrent's ut_metadata.cpp, written our own way):
 * - The size is the first usable `metadata_size` a peer announced (1..MAX_METADATA_SIZE); only
 *   peers that announced the same size are asked. The buffer of that size is made only then, so
 *   what a peer claims is never allocated before the cap is checked, and there is one buffer.
 * - Each piece is asked of one peer at a time; a peer has at most `maxPerPeer` requests out.
 * - A reject or a request older than `requestTimeoutTicks` frees the piece for another peer, and
 *   that peer is not asked anything for `backoffTicks` (libtorrent: a minute after a reject).
 * - A peer that sends a piece we did not ask it for, or a `total_size` other than the size, is
 *   dropped (`unrequested`, `wrongSize`).
 * - All pieces in: the machine has the bytes hashed. A mismatch discards everything, and every
 *   peer that sent a piece of it is dropped and never asked again (`badMetadata`).
 */
import {
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
  metadataPieceLength,
} from '../src/wire/ut-metadata.js';

export type MetadataDropReason = 'metadataTooLarge' | 'unrequested' | 'wrongSize' | 'badMetadata';

export type MetadataCommand =
  | { readonly type: 'request'; readonly peer: string; readonly piece: number }
  | { readonly type: 'drop'; readonly peer: string; readonly reason: MetadataDropReason };

export interface MetadataFetchLimits {
  /** Requests out per peer (libtorrent: 2). */
  readonly maxPerPeer: number;
  /** Ticks a request may wait before its piece goes to another peer. */
  readonly requestTimeoutTicks: number;
  /** Ticks a peer that rejected or timed out is left alone. */
  readonly backoffTicks: number;
}

interface PeerState {
  readonly size: number;
  /** piece → tick it was asked at. */
  readonly outstanding: Map<number, number>;
  /** Not asked before this tick. */
  idleUntil: number;
}

export class MetadataFetch {
  readonly #limits: MetadataFetchLimits;
  readonly #peers = new Map<string, PeerState>();
  /** Peers that sent metadata that failed the hash, or were dropped: never asked again. */
  readonly #excluded = new Set<string>();
  #tick = 0;
  #size: number | undefined;
  #buffer: Uint8Array | undefined;
  /** Per piece: who it is asked of (undefined: nobody), who sent it (undefined: not in). */
  #askedOf: (string | undefined)[] = [];
  #sentBy: (string | undefined)[] = [];
  #received = 0;
  /** Times the assembled metadata failed its hash. */
  hashFailures = 0;

  constructor(limits: MetadataFetchLimits) {
    this.#limits = limits;
  }

  get size(): number | undefined {
    return this.#size;
  }
  get pieceCount(): number {
    return this.#askedOf.length;
  }
  get received(): number {
    return this.#received;
  }
  get peerCount(): number {
    return this.#peers.size;
  }
  get complete(): boolean {
    return this.#size !== undefined && this.#received === this.#askedOf.length;
  }
  /** The assembled metadata, once complete (a view of the one buffer). */
  get bytes(): Uint8Array | undefined {
    return this.complete ? this.#buffer : undefined;
  }

  /** A peer's extension handshake offered ut_metadata with this `metadata_size` (maybe none). */
  addPeer(peer: string, metadataSize: number | undefined): MetadataCommand[] {
    if (this.#excluded.has(peer) || this.#peers.has(peer)) return [];
    if (metadataSize === undefined || !Number.isSafeInteger(metadataSize) || metadataSize < 1) return [];
    if (metadataSize > MAX_METADATA_SIZE) return [this.#drop(peer, 'metadataTooLarge')];
    this.#peers.set(peer, { size: metadataSize, outstanding: new Map(), idleUntil: 0 });
    if (this.#size === undefined) this.#adopt(metadataSize);
    return this.#schedule();
  }

  /** The peer's connection is gone: its pieces go to others. */
  removePeer(peer: string): MetadataCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined) return [];
    for (const piece of p.outstanding.keys()) this.#askedOf[piece] = undefined;
    this.#peers.delete(peer);
    return this.#schedule();
  }

  /** A data message (already checked by the codec against its own total_size). */
  data(peer: string, piece: number, totalSize: number, data: Uint8Array): MetadataCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined) return [];
    if (!p.outstanding.has(piece)) return [this.#drop(peer, 'unrequested')];
    if (totalSize !== this.#size || data.length !== metadataPieceLength(totalSize, piece))
      return [this.#drop(peer, 'wrongSize')];
    p.outstanding.delete(piece);
    this.#askedOf[piece] = undefined;
    this.#buffer!.set(data, piece * METADATA_PIECE_LENGTH);
    this.#sentBy[piece] = peer;
    this.#received++;
    return this.#schedule();
  }

  /** A reject: the piece goes to another peer, and this one is left alone for a while. */
  reject(peer: string, piece: number): MetadataCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined || !p.outstanding.has(piece)) return [];
    p.outstanding.delete(piece);
    this.#askedOf[piece] = undefined;
    p.idleUntil = this.#tick + this.#limits.backoffTicks;
    return this.#schedule();
  }

  /** One tick of the clock: requests past their time go to other peers. */
  tick(): MetadataCommand[] {
    this.#tick++;
    for (const p of this.#peers.values())
      for (const [piece, at] of p.outstanding)
        if (this.#tick - at >= this.#limits.requestTimeoutTicks) {
          p.outstanding.delete(piece);
          this.#askedOf[piece] = undefined;
          p.idleUntil = this.#tick + this.#limits.backoffTicks;
        }
    return this.#schedule();
  }

  /**
   * The assembled bytes are not the info dictionary the info-hash names: everything is discarded,
   * every peer that sent a piece of it dropped for good, and the fetch starts over with the size
   * another remaining peer announced.
   */
  hashFailed(): MetadataCommand[] {
    this.hashFailures++;
    const senders = new Set(this.#sentBy.filter((s): s is string => s !== undefined));
    const commands: MetadataCommand[] = [...senders].map((peer) => this.#drop(peer, 'badMetadata'));
    this.#size = undefined;
    this.#buffer = undefined;
    this.#askedOf = [];
    this.#sentBy = [];
    this.#received = 0;
    for (const p of this.#peers.values()) p.outstanding.clear();
    const next = this.#peers.values().next();
    if (!next.done) this.#adopt(next.value.size);
    return [...commands, ...this.#schedule()];
  }

  toJSON(): object {
    return {
      size: this.#size,
      pieces: this.#askedOf.length,
      received: this.#received,
      peers: this.#peers.size,
      excluded: this.#excluded.size,
      hashFailures: this.hashFailures,
    };
  }

  #adopt(size: number): void {
    this.#size = size;
    this.#buffer = new Uint8Array(size);
    const n = metadataPieceCount(size);
    this.#askedOf = new Array<string | undefined>(n).fill(undefined);
    this.#sentBy = new Array<string | undefined>(n).fill(undefined);
    this.#received = 0;
  }

  #drop(peer: string, reason: MetadataDropReason): MetadataCommand {
    this.#excluded.add(peer);
    const p = this.#peers.get(peer);
    if (p !== undefined) for (const piece of p.outstanding.keys()) this.#askedOf[piece] = undefined;
    this.#peers.delete(peer);
    return { type: 'drop', peer, reason };
  }

  /** Asks every free piece of a peer that has room, lowest piece first, peers in arrival order. */
  #schedule(): MetadataCommand[] {
    const out: MetadataCommand[] = [];
    if (this.#size === undefined) return out;
    let piece = 0;
    for (const [peer, p] of this.#peers) {
      if (p.size !== this.#size || p.idleUntil > this.#tick) continue;
      while (p.outstanding.size < this.#limits.maxPerPeer) {
        while (
          piece < this.#askedOf.length &&
          (this.#askedOf[piece] !== undefined || this.#sentBy[piece] !== undefined)
        )
          piece++;
        if (piece >= this.#askedOf.length) return out;
        this.#askedOf[piece] = peer;
        p.outstanding.set(piece, this.#tick);
        out.push({ type: 'request', peer, piece });
      }
    }
    return out;
  }
}
