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
 *   When no peer of that size can be asked any more and none has a request out, the size of a
 *   peer that can be asked is taken instead (a false size must not stall the fetch).
 * - Requests are spread over the peers: a peer with room (at most `maxPerPeer` out) is asked for
 *   the piece not yet in that is outstanding at the fewest peers (lowest first), so a piece may be
 *   asked of several peers at once and the first good answer is taken. A peer that never answers
 *   then costs nothing: the others are asked the same pieces (before, each piece went to one peer
 *   at a time and N silent peers cost N request timeouts).
 * - A reject or a request older than `requestTimeoutTicks` leaves that peer alone for
 *   `backoffTicks` (libtorrent: a minute after a reject), and the peer is reported `snubbed`: the
 *   driver closes it, freeing its slot, when other peers wait to be dialled.
 * - A request that timed out, or whose piece came from another peer first, is remembered (at most
 *   one per piece per peer): its answer, if it comes, is taken when the piece is still missing and
 *   ignored otherwise — an honest peer that answers slowly is never dropped for it.
 * - A peer that sends a piece we never asked it for, or a `total_size` other than the size it
 *   announced, is dropped (`unrequested`, `wrongSize`).
 * - All pieces in: the machine has the bytes hashed. A mismatch discards everything; a copy from
 *   one peer gets that peer dropped and never asked again (`badMetadata`); after a copy from
 *   several, each copy comes from one peer alone, so the next failure names its sender.
 */
import {
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
  metadataPieceLength,
} from '../src/wire/ut-metadata.js';

export type MetadataDropReason = 'metadataTooLarge' | 'unrequested' | 'wrongSize' | 'badMetadata';

/** Why a peer is snubbed: it let a request time out, or rejected one. */
export type MetadataSnubReason = 'timedOut' | 'rejected';

export type MetadataCommand =
  | { readonly type: 'request'; readonly peer: string; readonly piece: number }
  | { readonly type: 'drop'; readonly peer: string; readonly reason: MetadataDropReason }
  /** Not asked for a while; the driver may close it to dial another peer in its slot. */
  | { readonly type: 'snubbed'; readonly peer: string; readonly reason: MetadataSnubReason };

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
  /**
   * Pieces asked of it whose request timed out or was answered by another peer first: an answer
   * to one is not `unrequested`. Bounded by the piece count (at most 256).
   */
  readonly late: Set<number>;
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
  /** Per piece: who sent it (undefined: not in); its length is the piece count. */
  #sentBy: (string | undefined)[] = [];
  #received = 0;
  /** Times the assembled metadata failed its hash. */
  hashFailures = 0;
  /** After a copy from several peers failed: every piece of a copy from one peer. */
  #singleSource = false;
  /** With #singleSource: the one peer the current copy comes from. */
  #source: string | undefined;

  constructor(limits: MetadataFetchLimits) {
    this.#limits = limits;
  }

  get size(): number | undefined {
    return this.#size;
  }
  get pieceCount(): number {
    return this.#sentBy.length;
  }
  get received(): number {
    return this.#received;
  }
  get peerCount(): number {
    return this.#peers.size;
  }
  get complete(): boolean {
    return this.#size !== undefined && this.#received === this.#sentBy.length;
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
    this.#peers.set(peer, { size: metadataSize, outstanding: new Map(), late: new Set(), idleUntil: 0 });
    if (this.#size === undefined) this.#adopt(metadataSize);
    return this.#schedule();
  }

  /** The peer's connection is gone: its pieces go to others. */
  removePeer(peer: string): MetadataCommand[] {
    if (!this.#peers.delete(peer)) return [];
    return this.#schedule();
  }

  /** A data message (already checked by the codec against its own total_size). */
  data(peer: string, piece: number, totalSize: number, data: Uint8Array): MetadataCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined) return [];
    const asked = p.outstanding.delete(piece);
    const late = !asked && p.late.delete(piece);
    if (!asked && !late) return [this.#drop(peer, 'unrequested')];
    if (totalSize !== p.size || data.length !== metadataPieceLength(totalSize, piece))
      return [this.#drop(peer, 'wrongSize')];
    // Taken only for the size being fetched, a piece still missing, and (one source at a time) from
    // the source; otherwise a late or second answer is ignored.
    const wanted =
      totalSize === this.#size &&
      this.#sentBy[piece] === undefined &&
      (!this.#singleSource || peer === this.#source);
    if (wanted) {
      this.#buffer!.set(data, piece * METADATA_PIECE_LENGTH);
      this.#sentBy[piece] = peer;
      this.#received++;
      // Whoever else was asked for it: their answer is no longer wanted, their slot is free.
      for (const other of this.#peers.values()) if (other.outstanding.delete(piece)) other.late.add(piece);
    }
    return this.#schedule();
  }

  /** A reject: the piece goes to another peer, and this one is left alone for a while. */
  reject(peer: string, piece: number): MetadataCommand[] {
    const p = this.#peers.get(peer);
    if (p === undefined || !p.outstanding.delete(piece)) return [];
    p.idleUntil = this.#tick + this.#limits.backoffTicks;
    return [{ type: 'snubbed', peer, reason: 'rejected' }, ...this.#schedule()];
  }

  /** One tick of the clock: requests past their time go to other peers. */
  tick(): MetadataCommand[] {
    this.#tick++;
    const snubbed: MetadataCommand[] = [];
    for (const [peer, p] of this.#peers) {
      let timedOut = false;
      for (const [piece, at] of p.outstanding)
        if (this.#tick - at >= this.#limits.requestTimeoutTicks) {
          p.outstanding.delete(piece);
          p.late.add(piece);
          timedOut = true;
        }
      if (!timedOut) continue;
      p.idleUntil = this.#tick + this.#limits.backoffTicks;
      snubbed.push({ type: 'snubbed', peer, reason: 'timedOut' });
    }
    return [...snubbed, ...this.#schedule()];
  }

  /**
   * The assembled bytes are not the info dictionary the info-hash names: everything is discarded.
   * A copy from one peer convicts it: dropped for good (`badMetadata`). A copy from several cannot
   * say which of them lied, and dropping them all would lose the honest ones (a property test found
   * an honest peer shut out that way), so from then on each copy is fetched from one peer alone
   * (`#singleSource`): the next failure names its sender.
   */
  hashFailed(): MetadataCommand[] {
    this.hashFailures++;
    const senders = new Set(this.#sentBy.filter((s): s is string => s !== undefined));
    const commands: MetadataCommand[] =
      senders.size === 1 ? [...senders].map((peer) => this.#drop(peer, 'badMetadata')) : [];
    if (senders.size > 1) this.#singleSource = true;
    this.#source = undefined;
    this.#size = undefined;
    this.#buffer = undefined;
    this.#sentBy = [];
    this.#received = 0;
    // Answers still coming belong to the discarded copy: taken if they fit the next, not dropped.
    for (const p of this.#peers.values()) {
      for (const piece of p.outstanding.keys()) p.late.add(piece);
      p.outstanding.clear();
    }
    return [...commands, ...this.#schedule()];
  }

  /** The peers that offered the metadata and are still asked (in arrival order). */
  get peers(): readonly string[] {
    return [...this.#peers.keys()];
  }
  /** The peers dropped or convicted of a bad copy: never asked again. */
  get excluded(): ReadonlySet<string> {
    return this.#excluded;
  }

  /** The pieces asked of `peer` and not answered (for tests and summaries). */
  outstandingOf(peer: string): ReadonlySet<number> {
    return new Set(this.#peers.get(peer)?.outstanding.keys());
  }

  toJSON(): object {
    return {
      size: this.#size,
      pieces: this.#sentBy.length,
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
    this.#sentBy = new Array<string | undefined>(n).fill(undefined);
    this.#received = 0;
  }

  #drop(peer: string, reason: MetadataDropReason): MetadataCommand {
    this.#excluded.add(peer);
    this.#peers.delete(peer);
    return { type: 'drop', peer, reason };
  }

  /**
   * With #singleSource: keeps the source while it can be asked (or has requests out); otherwise
   * takes the first peer of the size that can be, and discards what the old source sent, so every
   * copy still comes from one peer.
   */
  #chooseSource(): void {
    const current = this.#source === undefined ? undefined : this.#peers.get(this.#source);
    if (current !== undefined && (current.outstanding.size > 0 || current.idleUntil <= this.#tick)) return;
    for (const [peer, p] of this.#peers) {
      if (p.size !== this.#size || p.idleUntil > this.#tick) continue;
      if (this.#source !== undefined && this.#received > 0) this.#adopt(p.size);
      this.#source = peer;
      return;
    }
  }

  /**
   * The size was taken from a peer, but nobody who announced it can be asked now (gone, dropped, or
   * every one of them left alone after a reject or a timeout) and no request is out, while a peer
   * that announced another size can be: take that size instead. Without this a peer announcing a
   * false size and never answering would keep every honest peer waiting until the time limit (a
   * property test found it). What came in under the old size is dropped with it.
   */
  #switchSizeIfStuck(): void {
    if (this.#size === undefined || this.complete) return;
    let other: number | undefined;
    for (const p of this.#peers.values()) {
      if (p.outstanding.size > 0) return;
      if (p.idleUntil > this.#tick) continue;
      if (p.size === this.#size) return;
      other ??= p.size;
    }
    if (other !== undefined) this.#adopt(other);
  }

  /**
   * Fills every peer that can be asked up to maxPerPeer, peers in arrival order, each with the
   * missing piece outstanding at the fewest peers (lowest first) that it is not already asked for.
   */
  #schedule(): MetadataCommand[] {
    const out: MetadataCommand[] = [];
    // A whole copy waits for its hash: nothing to ask, and no source to change (that would discard
    // the copy, and with it who sent it: a liar leaving while it is hashed would go unnamed).
    if (this.complete) return out;
    if (this.#size === undefined) {
      // Every peer of the last size was dropped: the next one's size, if any is left.
      const next = this.#peers.values().next();
      if (next.done) return out;
      this.#adopt(next.value.size);
    }
    this.#switchSizeIfStuck();
    if (this.#singleSource) this.#chooseSource();
    const n = this.#sentBy.length;
    const askedAt = new Array<number>(n).fill(0);
    for (const p of this.#peers.values())
      if (p.size === this.#size) for (const piece of p.outstanding.keys()) askedAt[piece]!++;
    for (const [peer, p] of this.#peers) {
      if (p.size !== this.#size || p.idleUntil > this.#tick) continue;
      if (this.#singleSource && peer !== this.#source) continue;
      while (p.outstanding.size < this.#limits.maxPerPeer) {
        let best = -1;
        for (let piece = 0; piece < n; piece++) {
          if (this.#sentBy[piece] !== undefined || p.outstanding.has(piece)) continue;
          if (best < 0 || askedAt[piece]! < askedAt[best]!) best = piece;
        }
        if (best < 0) break;
        askedAt[best]!++;
        p.late.delete(best);
        p.outstanding.set(best, this.#tick);
        out.push({ type: 'request', peer, piece: best });
      }
    }
    return out;
  }
}
