/**
 * What waits to go out on one connection, in wire order: spans of packed messages and served
 * blocks (send-queue.ts writes them; this file does no I/O).
 *
 *   chunk  | have | have | unchoke | request × 40 | reject |  … free …  |
 *          └──────── one span ────────┘ (block 3:0) └── next span ──┘
 *
 * Messages are encoded straight into a shared chunk of PACK_CHUNK_BYTES (a new one when the last is
 * full), as libtorrent's send buffer packs everything it sends into chained chunks: consecutive
 * messages grow one span, which leaves in one socket write, so a waiting have costs its 9 bytes,
 * not a buffer and a write request of its own (~400 bytes). A block between two messages ends a
 * span (the next message starts another in the same chunk). Bytes before `used` are never written
 * again, so a span handed to the socket stays as it was while more are packed behind it.
 */
import type { BlockRef } from '../../machines/peer.types.js';
import type { PinnedBlock } from '../storage/read-cache.js';
import { encodedLength, encodeInto, encodeRequestsInto } from '../wire/encode-message.js';
import type { WireItem } from '../wire/messages.js';

/**
 * Messages are packed into chunks of this size. A message larger than a chunk (a bitfield of more
 * than 32,728 pieces) gets a buffer of its own: its bytes outweigh the buffer's cost.
 */
export const PACK_CHUNK_BYTES = 4096;

/** Bytes to write (a span of a chunk, or a buffer of its own), or a served block. */
export type Outgoing = OutgoingBytes | OutgoingBlock;
export interface OutgoingBytes {
  readonly ref?: undefined;
  readonly bytes: Buffer;
  readonly start: number;
  end: number;
  /** Payload bytes (a piece message given whole), which take upload tokens. */
  readonly payload: number;
  /** Reject messages in it. */
  rejects: number;
}
export interface OutgoingBlock {
  readonly ref: BlockRef;
  readonly bytes?: undefined;
  /** Its bytes, once the read cache has them. */
  pinned: PinnedBlock | undefined;
}

export class PackedQueue {
  #items: Outgoing[] = [];
  #head = 0;
  #chunk: Buffer | undefined;
  #used = 0;
  #blocks = 0;
  #bytes = 0;
  #rejects = 0;

  /** The next item to write, if any. */
  get first(): Outgoing | undefined {
    return this.#items[this.#head];
  }

  /** Blocks waiting: while none, every item is bytes. */
  get blocks(): number {
    return this.#blocks;
  }

  /** Bytes of messages waiting (blocks not counted). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Reject messages waiting: the one answer a peer can make us send without end (a reject for each
   * request past our queue, for a piece we lack, while we choke it…), counted apart from the bytes.
   */
  get rejects(): number {
    return this.#rejects;
  }

  /** The first item was written: take it off. */
  shift(): void {
    const item = this.#items[this.#head++];
    if (item === undefined) return;
    if (item.ref === undefined) {
      this.#bytes -= item.end - item.start;
      this.#rejects -= item.rejects;
    } else this.#blocks--;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** `item` encoded behind everything queued: packed, or (larger than a chunk, or a piece) in a buffer of its own. */
  message(item: WireItem): void {
    const n = encodedLength(item);
    if (n > PACK_CHUNK_BYTES || item.type === 'piece') {
      const own = Buffer.allocUnsafe(n);
      encodeInto(item, own, 0);
      this.#push(own, item.type === 'piece' ? item.block.length : 0);
      return;
    }
    const at = this.#room(n);
    encodeInto(item, this.#chunk!, at);
    const span = this.#packed(at, n);
    if (item.type === 'reject') {
      span.rejects++;
      this.#rejects++;
    }
  }

  /**
   * `item` ahead of the first block not yet written (still being read, or read and waiting for upload
   * tokens), behind everything else (behind everything when no block waits): packed as `message`
   * packs, between two items, so never inside a block's frame. Counted as any message.
   */
  messageAhead(item: WireItem): void {
    if (this.#blocks === 0) {
      this.message(item);
      return;
    }
    let at = this.#head;
    while (this.#items[at]!.ref === undefined) at++;
    // The items from there on are set aside while `item` is queued behind those before them.
    const behind = this.#items.splice(at);
    this.message(item);
    for (const queued of behind) this.#items.push(queued);
  }

  /** Request messages for `blocks`, packed (17 bytes each, no object per request). */
  requests(blocks: readonly BlockRef[]): void {
    for (let i = 0; i < blocks.length; ) {
      const at = this.#room(17);
      const fit = Math.min(blocks.length - i, Math.floor((this.#chunk!.length - at) / 17));
      encodeRequestsInto(blocks, i, i + fit, this.#chunk!, at);
      this.#packed(at, fit * 17);
      i += fit;
    }
  }

  /** Bytes that are already a whole part of the stream (not copied: the caller leaves them alone). */
  raw(bytes: Uint8Array): void {
    this.#push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  }

  /** A block behind everything queued; its bytes are set on the answer once read. */
  block(ref: BlockRef): OutgoingBlock {
    const item: OutgoingBlock = { ref, pinned: undefined };
    this.#items.push(item);
    this.#blocks++;
    return item;
  }

  /** Blocks at the head of the queue whose bytes are ready (at least 1). */
  readyBlocks(): number {
    let n = 0;
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.ref === undefined) continue;
      if (item.pinned === undefined) break;
      n++;
    }
    return Math.max(1, n);
  }

  /** Empties the queue (and lets its chunk go); answers the blocks it held whose bytes were read. */
  clear(): PinnedBlock[] {
    const pinned: PinnedBlock[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.ref !== undefined && item.pinned !== undefined) pinned.push(item.pinned);
    }
    this.#items = [];
    this.#head = 0;
    this.#chunk = undefined;
    this.#blocks = 0;
    this.#bytes = 0;
    this.#rejects = 0;
    return pinned;
  }

  /** Where `n` more bytes fit in the chunk (a fresh chunk when they do not). */
  #room(n: number): number {
    if (this.#chunk === undefined || this.#used + n > this.#chunk.length) {
      this.#chunk = Buffer.allocUnsafe(PACK_CHUNK_BYTES);
      this.#used = 0;
    }
    return this.#used;
  }

  /** `n` bytes encoded at `at` in the chunk: they grow the span before them, or start one (answered). */
  #packed(at: number, n: number): OutgoingBytes {
    this.#used = at + n;
    this.#bytes += n;
    const last = this.#items.length > this.#head ? this.#items[this.#items.length - 1] : undefined;
    if (last !== undefined && last.ref === undefined && last.bytes === this.#chunk && last.end === at) {
      last.end += n;
      return last;
    }
    const span: OutgoingBytes = { bytes: this.#chunk!, start: at, end: at + n, payload: 0, rejects: 0 };
    this.#items.push(span);
    return span;
  }

  #push(bytes: Buffer, payload: number): void {
    this.#bytes += bytes.length;
    this.#items.push({ bytes, start: 0, end: bytes.length, payload, rejects: 0 });
  }
}
