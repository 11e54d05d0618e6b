/**
 * The packets a uTP connection received ahead of the next one it needs (utp-connection.ts): held
 * until the hole before them fills, and named in the selective ack we send (BEP 29: bit i of the
 * mask, least significant first within each byte, is packet ack_nr + 2 + i). Held payloads are
 * copies, not views: a datagram may be far larger than its payload (an extension chain runs to
 * 64 KiB), and a view would hold all of it while the window counts only the payload. The
 * connection bounds what is held (packets and bytes); this counts them.
 */
import { seqDistance } from './utp-packet.js';

/** The most bytes of selective ack we send (256 packets past the hole). */
export const MAX_SELECTIVE_ACK_BYTES = 32;

export interface HeldPacket {
  readonly payload: Uint8Array;
  readonly fin: boolean;
}

export class ReorderBuffer {
  readonly #held = new Map<number, HeldPacket>();
  #bytes = 0;

  /** Payload bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#held.size;
  }

  has(seq: number): boolean {
    return this.#held.has(seq);
  }

  /** Holds a copy of `payload` as packet `seq`. */
  hold(seq: number, payload: Uint8Array, fin: boolean): void {
    this.#held.set(seq, { payload: new Uint8Array(payload), fin });
    this.#bytes += payload.length;
  }

  /** Packet `seq` if held, no longer held. */
  take(seq: number): HeldPacket | undefined {
    const held = this.#held.get(seq);
    if (held === undefined) return undefined;
    this.#held.delete(seq);
    this.#bytes -= held.payload.length;
    return held;
  }

  clear(): void {
    this.#held.clear();
    this.#bytes = 0;
  }

  /** The selective ack of what is held past `ackNr` (up to MAX_SELECTIVE_ACK_BYTES), or none. */
  selectiveAck(ackNr: number): Uint8Array | undefined {
    if (this.#held.size === 0) return undefined;
    let highest = -1;
    for (const seq of this.#held.keys()) {
      const i = seqDistance(ackNr, seq) - 2;
      if (i >= 0 && i < MAX_SELECTIVE_ACK_BYTES * 8 && i > highest) highest = i;
    }
    if (highest < 0) return undefined;
    const mask = new Uint8Array(Math.ceil((highest + 1) / 32) * 4);
    for (const seq of this.#held.keys()) {
      const i = seqDistance(ackNr, seq) - 2;
      if (i >= 0 && i < mask.length * 8) mask[i >> 3]! |= 1 << (i & 7);
    }
    return mask;
  }
}
