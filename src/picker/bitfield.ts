/**
 * A fixed-size set of piece indexes, stored as BEP 3 lays a bitfield on the wire: the high bit of
 * byte 0 is piece 0. Held by reference (in a machine's context too) and changed only through its
 * methods; `toJSON()` is a small summary so inspector snapshots stay small.
 */
export class Bitfield {
  readonly size: number;
  readonly bytes: Uint8Array;
  #count = 0;

  constructor(size: number, bytes?: Uint8Array) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bitfield size ${size}`);
    this.size = size;
    const byteLength = Math.ceil(size / 8);
    if (bytes === undefined) {
      this.bytes = new Uint8Array(byteLength);
    } else {
      if (bytes.length !== byteLength)
        throw new RangeError(`bitfield of ${bytes.length} bytes for ${size} pieces`);
      this.bytes = Uint8Array.from(bytes);
      // Spare bits past `size` are cleared, never counted.
      const spare = byteLength * 8 - size;
      if (spare > 0) this.bytes[byteLength - 1]! &= (0xff << spare) & 0xff;
      for (const b of this.bytes) this.#count += popcount8(b);
    }
  }

  /** Bytes whose length fits `size` and whose spare bits are zero (BEP 3 requires both of a peer's bitfield). */
  static isWellFormed(size: number, bytes: Uint8Array): boolean {
    const byteLength = Math.ceil(size / 8);
    if (bytes.length !== byteLength) return false;
    const spare = byteLength * 8 - size;
    if (spare === 0 || byteLength === 0) return true;
    return (bytes[byteLength - 1]! & ((1 << spare) - 1)) === 0;
  }

  static full(size: number): Bitfield {
    const b = new Bitfield(size);
    b.setAll();
    return b;
  }

  get count(): number {
    return this.#count;
  }

  isComplete(): boolean {
    return this.#count === this.size;
  }

  isEmpty(): boolean {
    return this.#count === 0;
  }

  has(index: number): boolean {
    if (index < 0 || index >= this.size) return false;
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets bit `index`; returns true when it was not set before. */
  set(index: number): boolean {
    if (index < 0 || index >= this.size || !Number.isInteger(index))
      throw new RangeError(`piece ${index} of ${this.size}`);
    const mask = 0x80 >> (index & 7);
    const byte = this.bytes[index >> 3]!;
    if ((byte & mask) !== 0) return false;
    this.bytes[index >> 3] = byte | mask;
    this.#count++;
    return true;
  }

  /** Clears bit `index`; returns true when it was set before. */
  clear(index: number): boolean {
    if (index < 0 || index >= this.size || !Number.isInteger(index))
      throw new RangeError(`piece ${index} of ${this.size}`);
    const mask = 0x80 >> (index & 7);
    const byte = this.bytes[index >> 3]!;
    if ((byte & mask) === 0) return false;
    this.bytes[index >> 3] = byte & ~mask;
    this.#count--;
    return true;
  }

  setAll(): void {
    this.bytes.fill(0xff);
    const spare = this.bytes.length * 8 - this.size;
    if (spare > 0) this.bytes[this.bytes.length - 1]! &= (0xff << spare) & 0xff;
    this.#count = this.size;
  }

  /** Indexes of set bits, ascending. O(size / 8) plus the set bits. */
  *indexes(): IterableIterator<number> {
    for (let i = 0; i < this.bytes.length; i++) {
      const b = this.bytes[i]!;
      if (b === 0) continue;
      for (let j = 0; j < 8; j++) if ((b & (0x80 >> j)) !== 0) yield i * 8 + j;
    }
  }

  /** Calls `f` with each set index, ascending, skipping zero bytes: cheap for sparse bitfields. */
  forEachSet(f: (index: number) => void): void {
    const bytes = this.bytes;
    for (let k = 0; k < bytes.length; k++) {
      const v = bytes[k]!;
      if (v === 0) continue;
      for (let j = 0; j < 8; j++) if ((v & (0x80 >> j)) !== 0) f(k * 8 + j);
    }
  }

  /** A summary for inspectors and logs, never the whole bit array. */
  toJSON(): { size: number; count: number } {
    return { size: this.size, count: this.#count };
  }
}

function popcount8(b: number): number {
  let n = b - ((b >> 1) & 0x55);
  n = (n & 0x33) + ((n >> 2) & 0x33);
  return (n + (n >> 4)) & 0x0f;
}
