/**
 * The bytes a uTP connection was given to send and has not cut into packets yet (utp-connection.ts):
 * each write copied in (the caller may reuse its buffer once `write` returns — the socket calls a
 * write's callback at once, and the send queue then hands the read cache's chunk back), taken off
 * the front a packet's payload at a time.
 */
export class UtpWriteQueue {
  readonly #chunks: Uint8Array[] = [];
  #offset = 0;
  #length = 0;

  /** Bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** A copy of `bytes` at the back (not `slice`: a Buffer's is a view). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(new Uint8Array(bytes));
    this.#length += bytes.length;
  }

  /**
   * `size` bytes (at most `length`) off the front: a view when they lie in one queued chunk (the
   * common case: a 16 KiB block written at once; the chunk is our copy, so it may be kept until
   * acknowledged), else a copy joining chunks.
   */
  take(size: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length - this.#offset >= size) {
      const view = first.subarray(this.#offset, this.#offset + size);
      this.#advance(first, size);
      return view;
    }
    const payload = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const head = this.#chunks[0]!;
      const n = Math.min(size - filled, head.length - this.#offset);
      payload.set(head.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#advance(head, n);
    }
    return payload;
  }

  /** Drops everything queued (the connection closed). */
  clear(): void {
    this.#chunks.length = 0;
    this.#offset = 0;
    this.#length = 0;
  }

  #advance(head: Uint8Array, n: number): void {
    this.#offset += n;
    this.#length -= n;
    if (this.#offset === head.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}
