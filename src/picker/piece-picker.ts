import { Bitfield } from './bitfield.js';
import { BLOCK_LENGTH, type BlockRef, type PeerKey } from './blocks.js';
import { PickerError } from './picker-error.js';
import { PieceGeometry } from './piece-geometry.js';
import { BlockState, PieceProgress } from './piece-progress.js';
import { PieceStatus, PieceTable } from './piece-table.js';
import { mulberry32 } from './prng.js';
import { DEFAULT_SCAN_BUDGET, rarestFreshPieces } from './rarest-first.js';
import { RequestLedger } from './request-ledger.js';

export { BLOCK_LENGTH, type BlockRef, type PeerKey };

/** Pieces picked at random (among those the peer has) until this many are verified: a fast start. */
export const DEFAULT_RANDOM_FIRST_PIECES = 4;
/** In endgame a block is requested from at most this many peers at once. */
export const DEFAULT_ENDGAME_MAX_REQUESTERS = 2;
/** Upper bound for `endgameMaxRequesters`: every extra copy is wasted upload for someone. */
export const MAX_ENDGAME_REQUESTERS = 8;
/** Random probes per pick in the random-first phase before falling back to the ordered scan. */
const RANDOM_PROBES = 32;

export interface PiecePickerOptions {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly blockLength?: number;
  /** Seeded source in [0, 1); defaults to mulberry32(1). */
  readonly random?: () => number;
  readonly randomFirstPieces?: number;
  /** 1 disables duplicate requests; default DEFAULT_ENDGAME_MAX_REQUESTERS. */
  readonly endgameMaxRequesters?: number;
  /** Bucket entries a pick reads before walking the peer's bitfield instead; default DEFAULT_SCAN_BUDGET. */
  readonly scanBudget?: number;
  /** Streaming: new pieces lowest index first instead of random/rarest first (docs/picker.md). */
  readonly sequential?: boolean;
  /** Pieces that end in padding → their bytes before it (never requested: piece-data-length.ts). */
  readonly dataLengths?: ReadonlyMap<number, number>;
}

export interface BlockReceived {
  /** False when the block was not outstanding to this peer (late, unrequested, duplicate): drop the data. */
  readonly accepted: boolean;
  /** Every block of the piece is in: hash it, then call pieceVerified or pieceFailed. */
  readonly pieceComplete: boolean;
  /** Other peers the block was requested from (endgame): send them `cancel`. */
  readonly otherRequesters: PeerKey[];
}

const {
  fresh: FRESH,
  unwanted: UNWANTED,
  open: OPEN,
  full: FULL,
  received: RECEIVED,
  have: HAVE,
} = PieceStatus;

const REJECTED: BlockReceived = Object.freeze({ accepted: false, pieceComplete: false, otherRequesters: [] });
// A block only its sender had requested (every block outside endgame): shared answers, no
// allocation per block (issue #8).
const ACCEPTED: BlockReceived = Object.freeze({ accepted: true, pieceComplete: false, otherRequesters: [] });
const ACCEPTED_COMPLETE: BlockReceived = Object.freeze({
  accepted: true,
  pieceComplete: true,
  otherRequesters: [],
});

/**
 * Decides which blocks to request from which peer: finish partial pieces first, then rarest-first
 * (random among equals; random for the first few pieces), then endgame duplicates. A pure data
 * structure held by reference in the torrent machine; see docs/picker.md for the policy and costs.
 */
export class PiecePicker {
  /** Verified pieces. Read-only for callers: change it through pieceVerified / markHave. */
  readonly have: Bitfield;
  readonly geometry: PieceGeometry;
  readonly #random: () => number;
  readonly #randomFirst: number;
  readonly #maxRequesters: number;
  readonly #scanBudget: number;
  readonly #wanted: Bitfield;
  readonly #sequential: boolean;
  /** Sequential mode: no piece below this index is fresh (lowered whenever one becomes fresh again). */
  #cursor = 0;
  /** wanted and not have: what makes a peer interesting. */
  readonly #need: Bitfield;
  readonly #table: PieceTable;
  readonly #progress = new Map<number, PieceProgress>();
  readonly #ledger = new RequestLedger();
  #wantedMissing: number;
  #blocksRequested = 0;
  #blocksReceived = 0;

  constructor(opts: PiecePickerOptions) {
    const g = new PieceGeometry(
      opts.pieceCount,
      opts.pieceLength,
      opts.totalLength,
      opts.blockLength,
      opts.dataLengths,
    );
    const randomFirst = opts.randomFirstPieces ?? DEFAULT_RANDOM_FIRST_PIECES;
    const maxReq = opts.endgameMaxRequesters ?? DEFAULT_ENDGAME_MAX_REQUESTERS;
    if (!Number.isSafeInteger(randomFirst) || randomFirst < 0)
      throw new PickerError('invalidOptions', 'randomFirstPieces must be >= 0', { randomFirst });
    if (!Number.isInteger(maxReq) || maxReq < 1 || maxReq > MAX_ENDGAME_REQUESTERS)
      throw new PickerError('invalidOptions', 'endgameMaxRequesters out of range', {
        endgameMaxRequesters: maxReq,
        max: MAX_ENDGAME_REQUESTERS,
      });
    const n = g.pieceCount;
    this.geometry = g;
    this.#random = opts.random ?? mulberry32(1);
    this.#randomFirst = randomFirst;
    this.#maxRequesters = maxReq;
    this.#scanBudget = opts.scanBudget ?? DEFAULT_SCAN_BUDGET;
    if (!Number.isSafeInteger(this.#scanBudget) || this.#scanBudget < 0)
      throw new PickerError('invalidOptions', 'scanBudget must be >= 0', { scanBudget: this.#scanBudget });
    this.#sequential = opts.sequential === true;
    this.have = new Bitfield(n);
    this.#wanted = Bitfield.full(n);
    this.#need = Bitfield.full(n);
    this.#table = new PieceTable(n);
    this.#wantedMissing = n;
  }

  get pieceCount(): number {
    return this.geometry.pieceCount;
  }

  // ── availability ────────────────────────────────────────────────────────────────────────────

  /** A peer's bitfield (or `Bitfield.full` for haveAll) arrived. O(set bits). */
  addAvailability(bits: Bitfield): void {
    this.#checkSize(bits);
    bits.forEachSet((i) => this.#table.changeAvailability(i, 1));
  }

  /** The peer left: pass its bitfield as it stands now (the bitfield plus every `have` since). */
  removeAvailability(bits: Bitfield): void {
    this.#checkSize(bits);
    bits.forEachSet((i) => this.#table.changeAvailability(i, -1));
  }

  /** A peer announced `have`; the caller also sets the bit in that peer's bitfield. O(1). */
  addHave(index: number): void {
    this.#checkIndex(index);
    this.#table.changeAvailability(index, 1);
  }

  availabilityOf(index: number): number {
    this.#checkIndex(index);
    return this.#table.availabilityOf(index);
  }

  // ── interest and progress ───────────────────────────────────────────────────────────────────

  /** Does the peer have a piece we still want? O(pieces / 8) worst case, stops at the first hit. */
  isInterested(peerHas: Bitfield): boolean {
    this.#checkSize(peerHas);
    if (this.#wantedMissing === 0 || peerHas.count === 0) return false;
    const a = peerHas.bytes;
    const b = this.#need.bytes;
    for (let k = 0; k < a.length; k++) if ((a[k]! & b[k]!) !== 0) return true;
    return false;
  }

  /** Is this piece one we still want? O(1): use on a `have` to turn interest on. */
  wantsPiece(index: number): boolean {
    return this.#need.has(index);
  }

  isComplete(): boolean {
    return this.#wantedMissing === 0;
  }

  /**
   * Endgame: no block is left that nobody has requested, among pieces some connected peer has, yet
   * blocks are still in flight. Then pick() may ask a second peer for an in-flight block.
   */
  get inEndgame(): boolean {
    return this.#table.requestable === 0 && this.#table.full.size > 0;
  }

  outstandingFor(peer: PeerKey): number {
    return this.#ledger.countFor(peer);
  }

  /** The peers a block is outstanding to (more than one only in endgame). */
  requestersOf(ref: BlockRef): PeerKey[] {
    const b = this.geometry.blockOf(ref);
    return b < 0 ? [] : (this.#progress.get(ref.index)?.requesters(b) ?? []);
  }

  blockStateOf(index: number, block: number): 'missing' | 'requested' | 'received' {
    this.#checkIndex(index);
    if (this.#table.statusOf(index) === HAVE) return 'received';
    const s = this.#progress.get(index)?.stateOf(block) ?? BlockState.missing;
    return s === BlockState.received ? 'received' : s === BlockState.requested ? 'requested' : 'missing';
  }

  /**
   * Selective download hook: an unwanted piece is never started (one already started is finished).
   * O(1).
   */
  setWanted(index: number, wanted: boolean): void {
    this.#checkIndex(index);
    if (this.#wanted.has(index) === wanted) return;
    if (wanted) this.#wanted.set(index);
    else this.#wanted.clear(index);
    if (this.#table.statusOf(index) === HAVE) return;
    if (wanted) this.#need.set(index);
    else this.#need.clear(index);
    this.#wantedMissing += wanted ? 1 : -1;
    const st = this.#table.statusOf(index);
    if (st === FRESH || st === UNWANTED) this.#setFresh(index, wanted);
  }

  /** A started or unwanted piece becomes fresh (or unwanted) again; keeps the sequential cursor low. */
  #setFresh(i: number, wanted: boolean): void {
    this.#table.setStatus(i, wanted ? FRESH : UNWANTED);
    if (wanted && i < this.#cursor) this.#cursor = i;
  }

  // ── picking ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Up to `count` blocks for `peer` among the pieces `peerHas` has, each now outstanding to `peer`.
   * Order: (1) missing blocks of partial pieces this peer is fetching, or that nobody is (their
   * blocks came back from a peer that left), (2) new pieces, random while fewer than
   * `randomFirstPieces` are verified and rarest-first after, (3) missing blocks of partial pieces
   * other peers are fetching, (4) in endgame, blocks in flight to other peers. In sequential mode
   * every partial piece comes first, lowest pieces being what a player waits for. The peer's
   * bitfield must already be counted through addAvailability/addHave.
   *
   * Why (1) before (3) (issue #8, libtorrent's piece affinity): when the next peer to ask took the
   * rest of any partial piece, almost every piece was split between two peers, whose blocks then
   * arrived interleaved — 32 % of blocks out of order for the piece hashes to hold (four local
   * libtorrent seeders), and shorter write runs.
   */
  pick(peerHas: Bitfield, count: number, peer: PeerKey, contiguous = false): BlockRef[] {
    this.#checkSize(peerHas);
    if (!Number.isSafeInteger(count) || count < 0)
      throw new PickerError('invalidCount', `cannot pick ${count} blocks`, { count });
    const out: BlockRef[] = [];
    if (count === 0 || peerHas.count === 0) return out;
    this.#takePartial(peerHas, count, peer, out, !this.#sequential);
    if (contiguous && !this.#sequential) this.#pickContiguous(peerHas, count, peer, out);
    if (this.#sequential) {
      if (out.length < count && !this.#pickSequential(peerHas, count, peer, out))
        this.#pickRarest(peerHas, count, peer, out);
    } else {
      if (out.length < count && this.have.count < this.#randomFirst)
        this.#pickRandom(peerHas, count, peer, out);
      if (out.length < count) this.#pickRarest(peerHas, count, peer, out);
      if (out.length < count) this.#takePartial(peerHas, count, peer, out, false);
    }
    if (out.length < count && this.inEndgame) this.#pickEndgame(peerHas, count, peer, out);
    return out;
  }

  /**
   * Missing blocks of partial pieces the peer has, newest first; with `ownOnly`, only those this
   * peer is fetching or no other peer is (nobody has a block requested, or the peer that was
   * fetching it gave a block back).
   */
  #takePartial(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[], ownOnly: boolean): void {
    for (let k = this.#table.open.size - 1; k >= 0 && out.length < count; k--) {
      const i = this.#table.open.at(k);
      if (!peerHas.has(i)) continue;
      if (ownOnly) {
        const p = this.#progress.get(i)!;
        if (p.requested > 0 && p.lastRequester !== undefined && p.lastRequester !== peer) continue;
      }
      this.#takeMissing(i, count, peer, out);
    }
  }

  /**
   * For a web seed (BEP 19), which fetches a run of adjacent blocks in one HTTP GET: the fresh
   * pieces right after the last piece picked, then one piece by the usual order (random first,
   * then rarest) and the fresh pieces after it, and so on — runs of pieces instead of pieces
   * scattered over the torrent, as libtorrent's `prefer_contiguous_blocks` asks for web seeds.
   */
  #pickContiguous(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[]): void {
    for (;;) {
      const last = out[out.length - 1];
      if (last !== undefined)
        for (let i = last.index + 1; i < this.pieceCount && out.length < count; i++) {
          if (this.#table.statusOf(i) !== FRESH || !peerHas.has(i)) break;
          this.#startPiece(i, count, peer, out);
        }
      if (out.length >= count) return;
      const before = out.length;
      if (this.have.count < this.#randomFirst) this.#pickRandom(peerHas, out.length + 1, peer, out);
      if (out.length === before) this.#pickRarest(peerHas, out.length + 1, peer, out);
      if (out.length === before) return;
      // The piece just started may have taken fewer blocks than it has (count reached): fill it.
      const started = out[out.length - 1]!.index;
      this.#takeMissing(started, count, peer, out);
    }
  }

  #pickRandom(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[]): void {
    const n = this.pieceCount;
    for (let t = 0; t < RANDOM_PROBES && out.length < count; t++) {
      const i = Math.floor(this.#random() * n);
      if (this.#table.statusOf(i) === FRESH && peerHas.has(i)) this.#startPiece(i, count, peer, out);
    }
  }

  /**
   * Fresh pieces the peer has, lowest index first. False when `scanBudget` indexes were read
   * without filling the request (the peer lacks the low pieces): the caller falls back to rarest.
   */
  #pickSequential(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[]): boolean {
    const n = this.pieceCount;
    while (this.#cursor < n && this.#table.statusOf(this.#cursor) !== FRESH) this.#cursor++;
    let read = 0;
    for (let i = this.#cursor; i < n && out.length < count; i++) {
      if (++read > this.#scanBudget) return false;
      if (this.#table.statusOf(i) === FRESH && peerHas.has(i)) this.#startPiece(i, count, peer, out);
    }
    return true;
  }

  #pickRarest(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[]): void {
    const blockCount = (i: number) => this.geometry.blockCount(i);
    const need = count - out.length;
    const pieces = rarestFreshPieces(this.#table, peerHas, need, blockCount, this.#random, this.#scanBudget);
    for (const i of pieces) this.#startPiece(i, count, peer, out);
  }

  #pickEndgame(peerHas: Bitfield, count: number, peer: PeerKey, out: BlockRef[]): void {
    for (let k = this.#table.full.size - 1; k >= 0 && out.length < count; k--) {
      const i = this.#table.full.at(k);
      if (!peerHas.has(i)) continue;
      const p = this.#progress.get(i)!;
      for (let b = 0; b < p.blocks && out.length < count; b++) {
        if (p.stateOf(b) !== BlockState.requested || p.requesterCount(b) >= this.#maxRequesters) continue;
        if (p.isRequestedBy(b, peer)) continue;
        this.#request(i, p, b, peer);
        out.push(this.geometry.blockRef(i, b));
      }
    }
  }

  #startPiece(i: number, count: number, peer: PeerKey, out: BlockRef[]): void {
    this.#progress.set(i, new PieceProgress(this.geometry.blockCount(i), this.#maxRequesters));
    this.#table.setStatus(i, OPEN);
    this.#takeMissing(i, count, peer, out);
  }

  #takeMissing(i: number, count: number, peer: PeerKey, out: BlockRef[]): void {
    const p = this.#progress.get(i)!;
    for (let b = p.nextMissing(); b !== -1 && out.length < count; b = p.nextMissing(b + 1)) {
      this.#request(i, p, b, peer);
      out.push(this.geometry.blockRef(i, b));
    }
    this.#reclassify(i, p);
  }

  #request(i: number, p: PieceProgress, b: number, peer: PeerKey): void {
    if (p.stateOf(b) === BlockState.missing) this.#blocksRequested++;
    p.request(b, peer);
    this.#ledger.add(peer, this.geometry.blockId(i, b));
  }

  // ── results ─────────────────────────────────────────────────────────────────────────────────

  blockReceived(ref: BlockRef, peer: PeerKey): BlockReceived {
    const b = this.geometry.blockOf(ref);
    const p = b < 0 ? undefined : this.#progress.get(ref.index);
    if (p === undefined || p.stateOf(b) !== BlockState.requested || !p.isRequestedBy(b, peer))
      return REJECTED;
    const i = ref.index;
    const id = this.geometry.blockId(i, b);
    // The common case, one requester (not endgame): no array of requesters.
    let requesters: PeerKey[] | undefined;
    if (p.requesterCount(b) === 1) {
      p.receiveFromSole(b, peer);
      this.#ledger.remove(peer, id);
    } else {
      requesters = p.receive(b, peer);
      for (const r of requesters) this.#ledger.remove(r, id);
    }
    this.#blocksRequested--;
    this.#blocksReceived++;
    this.#reclassify(i, p);
    const pieceComplete = this.#table.statusOf(i) === RECEIVED;
    if (requesters === undefined || requesters.length === 1)
      return pieceComplete ? ACCEPTED_COMPLETE : ACCEPTED;
    return { accepted: true, pieceComplete, otherRequesters: requesters.filter((r) => r !== peer) };
  }

  /** The peer will not send this block (choke, reject, timeout): it is requestable again. */
  blockReturned(ref: BlockRef, peer: PeerKey): void {
    const b = this.geometry.blockOf(ref);
    const p = b < 0 ? undefined : this.#progress.get(ref.index);
    if (p === undefined || !this.#unrequest(p, b, peer)) return;
    this.#ledger.remove(peer, this.geometry.blockId(ref.index, b));
    this.#reclassify(ref.index, p);
  }

  /** Every block outstanding to the peer, now requestable again. Availability is removed separately. */
  peerGone(peer: PeerKey): BlockRef[] {
    const refs: BlockRef[] = [];
    for (const id of this.#ledger.takeAll(peer)) {
      const i = this.geometry.pieceOfId(id);
      const b = this.geometry.blockOfId(id);
      const p = this.#progress.get(i)!;
      this.#unrequest(p, b, peer);
      this.#reclassify(i, p);
      refs.push(this.geometry.blockRef(i, b));
    }
    return refs;
  }

  /** The piece hashed correctly. */
  pieceVerified(index: number): void {
    this.#checkIndex(index);
    if (this.#table.statusOf(index) === HAVE) return;
    this.#dropProgress(index);
    this.#table.setStatus(index, HAVE);
    this.#blocksReceived += this.geometry.blockCount(index);
    this.have.set(index);
    if (this.#need.clear(index)) this.#wantedMissing--;
  }

  /** The piece is already on disk (resume, seeding): same as verified. */
  markHave(index: number): void {
    this.pieceVerified(index);
  }

  /**
   * Who sent each block of a started piece, by block (undefined where none was received): ask
   * before `pieceFailed`, which forgets them. Allocates; for failed pieces only.
   */
  blockSenders(index: number): (PeerKey | undefined)[] {
    this.#checkIndex(index);
    const p = this.#progress.get(index);
    if (p === undefined) return [];
    return Array.from({ length: p.blocks }, (_, b) => p.senderOf(b));
  }

  /** The hash failed: every block is missing again. Returns the peers whose data was in it. */
  pieceFailed(index: number): PeerKey[] {
    this.#checkIndex(index);
    const p = this.#progress.get(index);
    if (p === undefined) return [];
    const contributors = [...p.contributors];
    this.#dropProgress(index);
    this.#setFresh(index, this.#wanted.has(index));
    return contributors;
  }

  toJSON(): {
    pieces: number;
    have: number;
    partial: number;
    awaitingHash: number;
    requests: number;
    blocksRequested: number;
    blocksReceived: number;
    totalBlocks: number;
    peersWithRequests: number;
    endgame: boolean;
  } {
    return {
      pieces: this.pieceCount,
      have: this.have.count,
      partial: this.#table.open.size + this.#table.full.size,
      awaitingHash: this.#table.awaitingHash,
      requests: this.#ledger.total,
      blocksRequested: this.#blocksRequested,
      blocksReceived: this.#blocksReceived,
      totalBlocks: this.geometry.totalBlocks,
      peersWithRequests: this.#ledger.peers,
      endgame: this.inEndgame,
    };
  }

  // ── bookkeeping ─────────────────────────────────────────────────────────────────────────────

  #unrequest(p: PieceProgress, b: number, peer: PeerKey): boolean {
    if (!p.unrequest(b, peer)) return false;
    if (p.stateOf(b) === BlockState.missing) this.#blocksRequested--;
    return true;
  }

  /** Forgets a started piece: its requests leave their peers' sets, its counts leave the totals. */
  #dropProgress(i: number): void {
    const p = this.#progress.get(i);
    if (p === undefined) return;
    for (let b = 0; b < p.blocks; b++) {
      if (p.stateOf(b) !== BlockState.requested) continue;
      const id = this.geometry.blockId(i, b);
      for (const r of p.requesters(b)) this.#ledger.remove(r, id);
    }
    this.#blocksRequested -= p.requested;
    this.#blocksReceived -= p.received;
    this.#progress.delete(i);
  }

  /** Puts a started piece in the set its block counts call for. */
  #reclassify(i: number, p: PieceProgress): void {
    if (p.received === p.blocks) this.#table.setStatus(i, RECEIVED);
    else if (p.missing === 0) this.#table.setStatus(i, FULL);
    else if (p.missing < p.blocks) this.#table.setStatus(i, OPEN);
    else {
      // Nothing requested or received any more: back to the buckets, no progress object kept.
      this.#progress.delete(i);
      this.#setFresh(i, this.#wanted.has(i));
    }
  }

  #checkSize(bits: Bitfield): void {
    if (bits.size !== this.pieceCount)
      throw new PickerError('bitfieldSize', `bitfield of ${bits.size} pieces for ${this.pieceCount}`, {
        size: bits.size,
        pieceCount: this.pieceCount,
      });
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount)
      throw new PickerError('pieceOutOfRange', `piece ${index} of ${this.pieceCount}`, {
        index,
        pieceCount: this.pieceCount,
      });
  }
}
