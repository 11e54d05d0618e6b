import type { PeerKey } from './blocks.js';

/** A block of a started piece is missing (nobody asked for it), requested (from 1..n peers) or received. */
export const BlockState = { missing: 0, requested: 1, received: 2 } as const;
export type BlockState = (typeof BlockState)[keyof typeof BlockState];

/**
 * The block states of one started piece: typed arrays plus one slot row of requesters per block, so
 * a piece costs a few small arrays and never an object per block. Only pieces somebody started have
 * one; an untouched piece is all-missing by definition. The picker keeps the per-peer indexes in
 * step; this class only keeps its own counters consistent.
 */
export class PieceProgress {
  readonly blocks: number;
  readonly #maxRequesters: number;
  readonly #state: Uint8Array;
  readonly #requesterCount: Uint8Array;
  /**
   * `blocks × maxRequesters` slots; a block's requesters are packed at the start of its row. Once
   * the block is received its row's first slot holds the peer that sent it (`senderOf`): the
   * record the ban rule needs when the piece fails, kept at no cost — the slot was written anyway.
   */
  readonly #requesters: (PeerKey | undefined)[];
  /** Peers whose data is in this piece: when the hash fails, they are the suspects (ban rule). */
  readonly contributors = new Set<PeerKey>();
  missing: number;
  requested = 0;
  received = 0;
  /**
   * The peer that was last given a block of this piece: the one fetching it (the picker's
   * affinity). Cleared when that peer gives a block of it back (choke, reject, gone): the piece is
   * then nobody's in particular.
   */
  lastRequester: PeerKey | undefined;
  /** No block below this is missing: keeps repeated small picks from rescanning a large piece. */
  #firstMissingHint = 0;

  constructor(blocks: number, maxRequesters: number) {
    this.blocks = blocks;
    this.#maxRequesters = maxRequesters;
    this.#state = new Uint8Array(blocks);
    this.#requesterCount = new Uint8Array(blocks);
    this.#requesters = new Array<PeerKey | undefined>(blocks * maxRequesters);
    this.missing = blocks;
  }

  stateOf(block: number): BlockState {
    return this.#state[block] as BlockState;
  }

  requesterCount(block: number): number {
    return this.#requesterCount[block]!;
  }

  requesters(block: number): PeerKey[] {
    const out: PeerKey[] = [];
    const row = block * this.#maxRequesters;
    for (let k = 0; k < this.#requesterCount[block]!; k++) out.push(this.#requesters[row + k]!);
    return out;
  }

  isRequestedBy(block: number, peer: PeerKey): boolean {
    const row = block * this.#maxRequesters;
    for (let k = 0; k < this.#requesterCount[block]!; k++)
      if (this.#requesters[row + k] === peer) return true;
    return false;
  }

  /** The first missing block at or after `from`, or -1. */
  nextMissing(from = 0): number {
    for (let b = Math.max(from, this.#firstMissingHint); b < this.blocks; b++) {
      if (this.#state[b] === BlockState.missing) {
        if (from <= this.#firstMissingHint) this.#firstMissingHint = b;
        return b;
      }
    }
    if (from <= this.#firstMissingHint) this.#firstMissingHint = this.blocks;
    return -1;
  }

  /** Adds `peer` as a requester; the caller checked it is not one already and a slot is free. */
  request(block: number, peer: PeerKey): void {
    const n = this.#requesterCount[block]!;
    if (n >= this.#maxRequesters) throw new Error(`block ${block} already has ${n} requesters`);
    this.#requesters[block * this.#maxRequesters + n] = peer;
    this.#requesterCount[block] = n + 1;
    this.lastRequester = peer;
    if (this.#state[block] === BlockState.missing) {
      this.#state[block] = BlockState.requested;
      this.missing--;
      this.requested++;
    }
  }

  /** Removes `peer` as a requester; the block is missing again when nobody is left. Returns whether it was one. */
  unrequest(block: number, peer: PeerKey): boolean {
    const row = block * this.#maxRequesters;
    const n = this.#requesterCount[block]!;
    for (let k = 0; k < n; k++) {
      if (this.#requesters[row + k] !== peer) continue;
      this.#requesters[row + k] = this.#requesters[row + n - 1];
      this.#requesters[row + n - 1] = undefined;
      this.#requesterCount[block] = n - 1;
      if (peer === this.lastRequester) this.lastRequester = undefined;
      if (n === 1) {
        this.#state[block] = BlockState.missing;
        this.requested--;
        this.missing++;
        if (block < this.#firstMissingHint) this.#firstMissingHint = block;
      }
      return true;
    }
    return false;
  }

  /** `receive` when `peer` is the block's one requester (checked by the caller): nothing to return. */
  receiveFromSole(block: number, peer: PeerKey): void {
    // The row's first slot already holds `peer`, the sender.
    this.#markReceived(block, peer);
  }

  /** Marks a requested block received from `peer`; returns who had it requested (before clearing them). */
  receive(block: number, peer: PeerKey): PeerKey[] {
    const requesters = this.requesters(block);
    const row = block * this.#maxRequesters;
    for (let k = 1; k < requesters.length; k++) this.#requesters[row + k] = undefined;
    this.#requesters[row] = peer; // the sender
    this.#markReceived(block, peer);
    return requesters;
  }

  /** The peer that sent a received block; undefined for a block not received. */
  senderOf(block: number): PeerKey | undefined {
    return this.#state[block] === BlockState.received
      ? this.#requesters[block * this.#maxRequesters]
      : undefined;
  }

  /** The block's requesters slots are cleared: it is received, and `peer`'s data is in the piece. */
  #markReceived(block: number, peer: PeerKey): void {
    this.#requesterCount[block] = 0;
    this.#state[block] = BlockState.received;
    this.requested--;
    this.received++;
    this.contributors.add(peer);
  }
}
