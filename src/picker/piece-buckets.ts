/**
 * Pieces grouped by a small integer key (their availability: how many connected peers have them).
 * Each bucket is a packed array; each piece remembers its position, so add, remove and moving a
 * piece to another bucket are O(1) (swap-remove). Order inside a bucket is arbitrary, which is what
 * random tie-breaking wants: the picker starts reading a bucket at a random offset.
 */
export class PieceBuckets {
  readonly #buckets: number[][] = [];
  readonly #pos: Int32Array;
  readonly #key: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#pos = new Int32Array(capacity).fill(-1);
    this.#key = new Int32Array(capacity);
  }

  /** Pieces held in all buckets. */
  get size(): number {
    return this.#size;
  }

  /** One past the largest key that ever had a bucket. */
  get bucketCount(): number {
    return this.#buckets.length;
  }

  has(index: number): boolean {
    return this.#pos[index]! >= 0;
  }

  /** The members with this key; read-only view, valid until the next change. */
  bucket(key: number): readonly number[] {
    return this.#buckets[key] ?? EMPTY;
  }

  sizeOf(key: number): number {
    return this.#buckets[key]?.length ?? 0;
  }

  add(index: number, key: number): void {
    if (this.#pos[index]! >= 0) this.remove(index);
    while (this.#buckets.length <= key) this.#buckets.push([]);
    const b = this.#buckets[key]!;
    this.#pos[index] = b.length;
    this.#key[index] = key;
    b.push(index);
    this.#size++;
  }

  remove(index: number): void {
    const p = this.#pos[index]!;
    if (p < 0) return;
    const b = this.#buckets[this.#key[index]!]!;
    const last = b.pop()!;
    if (last !== index) {
      b[p] = last;
      this.#pos[last] = p;
    }
    this.#pos[index] = -1;
    this.#size--;
  }

  /** Moves a member to another bucket; a no-op for non-members. */
  move(index: number, key: number): void {
    if (this.#pos[index]! < 0) return;
    this.remove(index);
    this.add(index, key);
  }
}

const EMPTY: readonly number[] = [];
