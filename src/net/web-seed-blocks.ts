/**
 * The bytes of one web seed run (web-seed-connection.ts) cut back into the blocks that were
 * requested: the body arrives in chunks of any size, a block may straddle two chunks (or two
 * files' responses). A block wholly inside a chunk is copied once (into a BlockPool slab when there
 * is a pool); one that straddles is gathered in one reused 16 KiB scratch buffer first. Holds at
 * most one partial block: memory does not grow with the response.
 */
import type { BlockRef, ReceivedBlock } from '../../machines/peer.types.js';
import type { BlockPool } from './block-pool.js';

export class WebSeedBlocks {
  readonly #blocks: readonly BlockRef[];
  readonly #pool: BlockPool | undefined;
  readonly #deliver: (block: ReceivedBlock) => void;
  /** The block being filled, and how much of it is. */
  #next = 0;
  #filled = 0;
  #scratch: Uint8Array | undefined;

  constructor(blocks: readonly BlockRef[], deliver: (block: ReceivedBlock) => void, pool?: BlockPool) {
    this.#blocks = blocks;
    this.#deliver = deliver;
    this.#pool = pool;
  }

  /** Every block of the run was delivered. */
  get done(): boolean {
    return this.#next === this.#blocks.length;
  }

  /** Bytes still expected. */
  get remaining(): number {
    let n = 0;
    for (let i = this.#next; i < this.#blocks.length; i++) n += this.#blocks[i]!.length;
    return n - this.#filled;
  }

  /** The next bytes of the run, in order. The caller never pushes past the run's end. */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const b = this.#blocks[this.#next];
      if (b === undefined) throw new RangeError('web seed run: bytes past its last block');
      const need = b.length - this.#filled;
      const take = Math.min(need, bytes.length - at);
      if (this.#filled === 0 && take === b.length) {
        this.#emit(b, bytes.subarray(at, at + take));
      } else {
        this.#scratch ??= new Uint8Array(b.length);
        if (this.#scratch.length < b.length) this.#scratch = new Uint8Array(b.length);
        this.#scratch.set(bytes.subarray(at, at + take), this.#filled);
        this.#filled += take;
        if (this.#filled === b.length) {
          this.#filled = 0;
          this.#emit(b, this.#scratch.subarray(0, b.length));
        }
      }
      at += take;
    }
  }

  #emit(b: BlockRef, view: Uint8Array): void {
    const block = this.#pool !== undefined ? this.#pool.copy(view) : new Uint8Array(view);
    this.#next++;
    this.#deliver({ index: b.index, begin: b.begin, block });
  }
}
