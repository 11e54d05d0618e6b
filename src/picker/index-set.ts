/**
 * A set of piece indexes in [0, capacity) with O(1) add, remove, membership and access by position
 * (swap-remove keeps the members packed). Used for the partial pieces. Removing the member at
 * position k moves the last member into k, so a caller removing while it walks must walk backwards.
 */
export class IndexSet {
  readonly #members: number[] = [];
  readonly #pos: Int32Array;

  constructor(capacity: number) {
    this.#pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.#members.length;
  }

  has(index: number): boolean {
    return this.#pos[index]! >= 0;
  }

  at(position: number): number {
    return this.#members[position]!;
  }

  add(index: number): void {
    if (this.#pos[index]! >= 0) return;
    this.#pos[index] = this.#members.length;
    this.#members.push(index);
  }

  remove(index: number): void {
    const p = this.#pos[index]!;
    if (p < 0) return;
    const last = this.#members.pop()!;
    if (last !== index) {
      this.#members[p] = last;
      this.#pos[last] = p;
    }
    this.#pos[index] = -1;
  }
}
