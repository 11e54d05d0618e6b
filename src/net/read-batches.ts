/**
 * The read half's batches (tcp-connection.ts): pieces and requests reach the peer machine in
 * batches, not one event per message, with the wire order kept (a batch is sent before any other
 * message, and before the close that follows it).
 *
 * - Pieces: those of every socket read of one turn of the event loop go as one wire.pieces (one
 *   wire.piece when alone) at the end of the turn (setImmediate). Measured (issue #8): a read
 *   carries at most 64 KiB (four 16 KiB blocks), and each event costs two macrosteps of the peer
 *   and torrent machines; gathering a turn's reads makes the events several times fewer.
 * - Requests: those of one socket read go as one wire.requests (one wire.request when alone) at the
 *   end of the read. aria2 sends ~100 per read (measured: 66k requests in 637 reads for 1 GiB), and
 *   each event was a macrostep of the peer machine and a `serve` of its own.
 * - Haves: those of one socket read go as one wire.haves (one wire.have when alone) at the end of
 *   the read, as requests do: a peer's haves arrive in bursts (aria2 sends one per piece it has
 *   after haveNone), and a flood of 9-byte haves from a hostile peer was one macrostep each
 *   (hostile-peer review: 6 MB of haves stalled an honest download for 16 s).
 * - The bytes of the pieces gathered are held on the read gate until they are handed on
 *   (write-backlog.ts): a turn's reads count against the disk's backlog before they reach it.
 */
import type { BlockRef, ReceivedBlock } from '../../machines/peer.types.js';

type BatchEvent =
  | { type: 'wire.piece'; index: number; begin: number; block: Uint8Array }
  | { type: 'wire.pieces'; blocks: ReceivedBlock[] }
  | { type: 'wire.request'; index: number; begin: number; length: number }
  | { type: 'wire.requests'; requests: BlockRef[] }
  | { type: 'wire.have'; index: number }
  | { type: 'wire.haves'; indices: number[] };

/** Told of the bytes of pieces gathered (`hold`) and handed on or dropped (`release`): a ReadGate. */
export interface HeldBytes {
  hold(n: number): void;
  release(n: number): void;
}

export class ReadBatches {
  readonly #send: (event: BatchEvent) => void;
  readonly #held: HeldBytes | undefined;
  #pieces: ReceivedBlock[] = [];
  /** Bytes of the blocks in #pieces. */
  #pieceBytes = 0;
  #requests: BlockRef[] = [];
  #haves: number[] = [];
  #flushScheduled = false;
  #closed = false;

  constructor(send: (event: BatchEvent) => void, held?: HeldBytes) {
    this.#send = send;
    this.#held = held;
  }

  piece(block: ReceivedBlock): void {
    this.#flushRequests();
    this.#flushHaves();
    if (this.#closed) return;
    this.#pieces.push(block);
    this.#pieceBytes += block.block.length;
    this.#held?.hold(block.block.length);
  }

  request(ref: BlockRef): void {
    this.flushPieces();
    this.#flushHaves();
    this.#requests.push(ref);
  }

  have(index: number): void {
    this.flushPieces();
    this.#flushRequests();
    this.#haves.push(index);
  }

  /** Before any other message: everything gathered, in wire order. */
  flush(): void {
    this.#flushRequests();
    this.#flushHaves();
    this.flushPieces();
  }

  /** A socket read was decoded: its requests go now, its pieces at the end of the turn. */
  endOfRead(): void {
    this.#flushRequests();
    this.#flushHaves();
    if (this.#pieces.length > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flushPieces());
    }
  }

  /** Sends what is gathered, then nothing more. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  flushPieces(): void {
    this.#flushScheduled = false;
    if (this.#pieces.length === 0 || this.#closed) return;
    const blocks = this.#pieces;
    this.#pieces = [];
    // Released as they are handed on: the disk's queue counts them from here (write-backlog.ts).
    // Before the send, not after: counted twice for a moment, they could close the gate while the
    // true backlog is below it (and it reopens only at low). Released first, the gate may open for
    // a moment instead, which costs a paused socket one read at most.
    this.#held?.release(this.#pieceBytes);
    this.#pieceBytes = 0;
    const [one] = blocks;
    if (blocks.length === 1 && one !== undefined)
      this.#send({ type: 'wire.piece', index: one.index, begin: one.begin, block: one.block });
    else this.#send({ type: 'wire.pieces', blocks });
  }

  #flushRequests(): void {
    if (this.#requests.length === 0 || this.#closed) return;
    const batch = this.#requests;
    this.#requests = [];
    const [one] = batch;
    if (batch.length === 1 && one !== undefined)
      this.#send({ type: 'wire.request', index: one.index, begin: one.begin, length: one.length });
    else this.#send({ type: 'wire.requests', requests: batch });
  }

  #flushHaves(): void {
    if (this.#haves.length === 0 || this.#closed) return;
    const indices = this.#haves;
    this.#haves = [];
    const [one] = indices;
    if (indices.length === 1 && one !== undefined) this.#send({ type: 'wire.have', index: one });
    else this.#send({ type: 'wire.haves', indices });
  }
}
