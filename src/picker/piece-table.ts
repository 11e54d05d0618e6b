import { IndexSet } from './index-set.js';
import { PickerError } from './picker-error.js';
import { PieceBuckets } from './piece-buckets.js';

/**
 * Where each piece stands; every piece is in exactly one status.
 * - fresh: wanted, nothing started; kept in buckets by availability for rarest-first.
 * - unwanted: not wanted (selective download), nothing started.
 * - open: started, some block still missing (requested from nobody).
 * - full: started, every block requested or received (only endgame asks again).
 * - received: every block in, the hash is pending.
 * - have: verified.
 */
export const PieceStatus = { fresh: 0, unwanted: 1, open: 2, full: 3, received: 4, have: 5 } as const;
export type PieceStatus = (typeof PieceStatus)[keyof typeof PieceStatus];

const { fresh: FRESH, open: OPEN, full: FULL, received: RECEIVED } = PieceStatus;

/**
 * Piece statuses and availability, with the indexes the picker needs kept in step in O(1) per
 * change: fresh pieces bucketed by availability, the open and full sets, and the count of pieces
 * some connected peer could still serve a never-requested block of (zero means endgame).
 */
export class PieceTable {
  readonly fresh: PieceBuckets;
  readonly open: IndexSet;
  readonly full: IndexSet;
  readonly #availability: Int32Array;
  readonly #status: Uint8Array;
  #openAvailable = 0;
  #received = 0;

  /** Every piece starts fresh with availability 0. O(pieceCount). */
  constructor(pieceCount: number) {
    this.#availability = new Int32Array(pieceCount);
    this.#status = new Uint8Array(pieceCount);
    this.fresh = new PieceBuckets(pieceCount);
    for (let i = 0; i < pieceCount; i++) this.fresh.add(i, 0);
    this.open = new IndexSet(pieceCount);
    this.full = new IndexSet(pieceCount);
  }

  statusOf(i: number): PieceStatus {
    return this.#status[i] as PieceStatus;
  }

  availabilityOf(i: number): number {
    return this.#availability[i]!;
  }

  /** Pieces whose blocks are all in, awaiting the hash. */
  get awaitingHash(): number {
    return this.#received;
  }

  /** Fresh or open pieces that at least one connected peer has. */
  get requestable(): number {
    return this.fresh.size - this.fresh.sizeOf(0) + this.#openAvailable;
  }

  changeAvailability(i: number, delta: 1 | -1): void {
    const before = this.#availability[i]!;
    const after = before + delta;
    if (after < 0)
      throw new PickerError('availabilityUnderflow', `piece ${i} availability below zero`, { index: i });
    this.#availability[i] = after;
    const st = this.#status[i];
    if (st === FRESH) this.fresh.move(i, after);
    else if (st === OPEN && (before === 0 || after === 0)) this.#openAvailable += after === 0 ? -1 : 1;
  }

  setStatus(i: number, next: PieceStatus): void {
    const prev = this.#status[i]!;
    if (prev === next) return;
    const available = this.#availability[i]! > 0;
    if (prev === FRESH) this.fresh.remove(i);
    else if (prev === OPEN) {
      this.open.remove(i);
      if (available) this.#openAvailable--;
    } else if (prev === FULL) this.full.remove(i);
    else if (prev === RECEIVED) this.#received--;
    if (next === FRESH) this.fresh.add(i, this.#availability[i]!);
    else if (next === OPEN) {
      this.open.add(i);
      if (available) this.#openAvailable++;
    } else if (next === FULL) this.full.add(i);
    else if (next === RECEIVED) this.#received++;
    this.#status[i] = next;
  }
}
