/**
 * What the three proxy handshakes (socks5-handshake.ts, socks4a-handshake.ts, http-connect.ts)
 * share: pure, no I/O. The dial sends `start()`, then pushes every byte the proxy sends; each push
 * says what to send next, or that the tunnel is up (and which bytes already belong to the target).
 * A failure is thrown as a ProxyError.
 */
export type HandshakeStep =
  /** More of the proxy's reply is needed (nothing to send). */
  | { readonly kind: 'wait' }
  /** Send these bytes, then read on. */
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  /** The tunnel is up: `rest` are the target's first bytes, read with the proxy's reply. */
  | { readonly kind: 'done'; readonly rest: Uint8Array };

export interface ProxyHandshake {
  /** The bytes to send once connected to the proxy. */
  start(): Uint8Array;
  /** Bytes read from the proxy; throws ProxyError. */
  push(chunk: Uint8Array): HandshakeStep;
}

/**
 * Gathers a reply of a known length across reads, never holding more than `max` bytes: what
 * follows the reply in the same read is returned as `rest` (a view of the read, not copied).
 */
export class ReplyReader {
  #buf: Uint8Array;
  #have = 0;

  constructor(max: number) {
    this.#buf = new Uint8Array(max);
  }

  /** Bytes held. */
  get length(): number {
    return this.#have;
  }

  /** The bytes held (a view). */
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#have);
  }

  /**
   * Takes from `chunk` until `need` bytes are held (need ≤ max); returns the unused rest of
   * `chunk`.
   */
  fill(chunk: Uint8Array, need: number): Uint8Array {
    const take = Math.min(chunk.length, need - this.#have);
    if (take > 0) {
      this.#buf.set(chunk.subarray(0, take), this.#have);
      this.#have += take;
    }
    return chunk.subarray(Math.max(take, 0));
  }

  /** Forgets the bytes held (the next reply begins). */
  clear(): void {
    this.#have = 0;
  }
}
