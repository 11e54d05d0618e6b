/**
 * The write half of a connection (tcp-connection.ts): wire messages and served blocks leave in the
 * order the peer machine gave them. A served block is named by the machine (`serve`: index, begin,
 * length — decided there) and its bytes are taken here from a BlockSource (the read cache), so block
 * bytes never travel through the machines (issue #8: four machine events per 16 KiB block were most
 * of the seeder's main thread).
 *
 *   <len=0009+X><id=7><index><begin><block>   one 13-byte header per block, all of one batch in one buffer
 *   <len=0005><id=4><index><len=0001><id=1>…  messages packed back to back into shared 4 KiB chunks
 *
 * Messages (haves, keep-alives, choke, interest, rejects, request batches, the handshake…) are
 * packed back to back into shared chunks (packed-queue.ts), as libtorrent's send buffer does: a run
 * of them is one span and leaves in one socket write, so an unsent have costs its 9 bytes, not a
 * buffer and a write request of its own (~400 bytes). Spans are written at the end of the tick, with
 * the blocks ahead of them; while the socket has not taken what it was given before (a peer that
 * reads slowly) and no block waits, they are held here and grow, and leave once it has (every
 * write's callback, 'drain'), or ahead of the next block.
 *
 * Everything written in one tick is corked and leaves in one writev. A block waits for its chunk to be
 * read (messages given after it wait behind it: the wire order is the machine's order), and for upload
 * tokens when a limit is set. Written blocks stay pinned in the cache until the socket has taken them
 * (one write callback per batch releases them all). Once a tick the machine hears how many blocks
 * were written (`socket.served`), which frees its read window.
 *
 * One exception to the machine's order: a BEP 52 `hashes` or `hash reject` goes ahead of the blocks
 * not yet written (between two frames, never into one): those still being read, and those read that
 * wait for upload tokens under a limit, as libtorrent answers a hash request from memory at once
 * while its pieces wait for their disk jobs. Like every message it takes no tokens, so it leaves even
 * while the blocks ahead of which it went wait for the limit's timer. Behind a read window (up to 128
 * reads: a slow disk's time, or their tokens: 128 × 16 KiB at 100 KiB/s ≈ 20 s) it would widen
 * libtorrent 2.0.8's race on a hybrid, where a piece layer that comes after some of its pieces were
 * finished can stop the torrent (docs/testing.md, libtorrent).
 *
 * Marks hold back what waits to go out (docs/architecture.md, "Flow control"), on unsent bytes (the
 * socket's and the spans held here):
 * - past WRITE_HIGH_WATER the machine stops serving blocks (`socket.congested`);
 * - past READ_PAUSE_BYTES, or READ_PAUSE_REJECTS rejects waiting here, the connection stops reading
 *   the socket (`onReadPause`), until both are back at their resume marks. Every message we send may
 *   answer one the peer sent (a reject for a request or a cancel, an unchoke for an interested): a
 *   peer that never reads what we send would otherwise make us queue answers without end (measured
 *   before any mark: 1.2 GB in 20 s). Not reading it lets TCP hold the peer back instead. Messages
 *   count by their bytes, which is now what they cost, so thousands of honest haves behind blocks
 *   (tens of KB) pause nothing; only rejects, the answer a peer can ask for without end, are also
 *   counted. The memory such a peer can make us hold is written at READ_PAUSE_BYTES.
 */
import type { BlockRef } from '../../machines/peer.types.js';
import type { BlockSource, PinnedBlock } from '../storage/read-cache.js';
import { encodePieceHeaderInto, PIECE_HEADER_LENGTH } from '../wire/encode-message.js';
import type { WireItem } from '../wire/messages.js';
import { PackedQueue } from './packed-queue.js';
import type { PeerStream } from './peer-stream.js';
import type { Rc4 } from './rc4.js';
import type { TokenBucket } from './token-bucket.js';

/** Above this many unsent bytes the peer machine stops serving until the socket drains. */
export const WRITE_HIGH_WATER = 1024 * 1024;

/**
 * Above this many unsent bytes (the socket's and the packed messages held here) the connection stops
 * reading the socket. It sits above what honest traffic leaves unsent, so an honest peer's reading
 * is never paused: serving stops past WRITE_HIGH_WATER, but the read window the machine handed over
 * before it heard `socket.congested` is still written (readWindow 128 × (16 KiB + 13) ≈ 2 MiB): at
 * most ~3.1 MB measured; messages add their bytes (6,000 haves behind those blocks: 54 KB, where
 * 4,096 unsent messages of any kind used to pause reading).
 *
 * Memory a peer that never reads can make us hold, per connection: this mark (blocks and messages,
 * every packed message at its bytes), plus the answers to the socket read that crossed a mark (one
 * read — 64 KiB, or 256 KiB from the shared read buffer — of requests answered by rejects of the
 * same size), plus a chunk's spare room (4 KiB) and one write request per block batch (blocks are
 * bounded by the read window): at most ~4.3 MiB. Before packing, a message cost ~400 bytes while it
 * waited: the same mark, 4,096 messages (~1.6 MB) beside it, and the answers to the read that
 * crossed it at ~400 bytes each (a 256 KiB read of requests: 15,420 rejects, ~6 MB).
 */
export const READ_PAUSE_BYTES = 4 * 1024 * 1024;
/** Reading resumes once the unsent bytes are back at or under this (and the rejects under theirs). */
export const READ_RESUME_BYTES = WRITE_HIGH_WATER;
/**
 * Above this many reject messages waiting here the connection stops reading the socket too. A reject
 * costs its 17 bytes, but each answers a request we read, decoded and ran through the machine: a
 * peer that never reads could make us do that ~250,000 times under READ_PAUSE_BYTES (measured with
 * requests past our queue's cap, a seeder whose peer reads nothing: ~88,000 read and answered before
 * the byte mark, its RSS at 120–165 MB for seconds of garbage; with this mark ~10,000 and 85–100 MB,
 * as with the old message mark). An honest peer is owed at most its pipeline's worth at once
 * (requests crossing our choke — past maxChokedRequests, 1,000, it is closed anyway —, past our
 * queue's cap, or cancelled).
 */
export const READ_PAUSE_REJECTS = 4096;
export const READ_RESUME_REJECTS = 1024;

export interface SendQueueHooks {
  readonly source?: BlockSource;
  readonly uploadLimit?: TokenBucket;
  readonly onPayloadSent?: (bytes: number) => void;
  /** Called with the new state when congestion (unsent bytes, or held by the upload limit) changes. */
  readonly onCongestion: (congested: boolean) => void;
  /**
   * Called with true when the unsent bytes pass READ_PAUSE_BYTES or the rejects waiting
   * READ_PAUSE_REJECTS (stop reading the socket), with false once both are back at their resume marks.
   */
  readonly onReadPause?: (paused: boolean) => void;
  /** Once a tick: blocks written since the last call, in the order they were served. */
  readonly onServed: (count: number) => void;
  /** A block could not be read (or no source was given): the connection should close. */
  readonly onReadError: (err: unknown) => void;
}

export class SendQueue {
  readonly #socket: PeerStream;
  readonly #hooks: SendQueueHooks;
  /** What waits to be given to the socket, in wire order. */
  readonly #queue = new PackedQueue();
  #congested = false;
  #limited = false;
  #closed = false;
  #limitTimer: NodeJS.Timeout | undefined;
  #served = 0;
  /** The socket is corked by us until the end of this tick. */
  #corked = false;
  #tickScheduled = false;
  #readPaused = false;
  /**
   * MSE with RC4 selected (docs/encryption.md): every byte is encrypted as it is handed to the
   * socket, in wire order. Our own buffers (packed spans, headers) in place; a served block, which
   * the read cache shares, into a copy. Undefined (plaintext): the writes are what they always were.
   */
  #encrypt: Rc4 | undefined;
  /** One callback for every write of packed messages and every block batch (no closure per write). */
  readonly #written = (): void => this.#wake();
  readonly #endOfTick = (): void => this.#tick();

  constructor(socket: PeerStream, hooks: SendQueueHooks) {
    this.#socket = socket;
    this.#hooks = hooks;
    socket.on('drain', this.#written);
  }

  /**
   * A message, packed behind everything given before it; it leaves at the end of the tick at the
   * earliest. A BEP 52 `hashes` or `hash reject` is packed ahead of the blocks not yet written
   * (still being read, or waiting for upload tokens).
   */
  send(message: WireItem): void {
    if (this.#closed) return;
    if (message.type === 'hashes' || message.type === 'hashReject') this.#queue.messageAhead(message);
    else this.#queue.message(message);
    this.#schedule();
  }

  /** Request messages for `blocks`, packed as `send` packs any message. */
  sendRequests(blocks: readonly BlockRef[]): void {
    if (this.#closed) return;
    this.#queue.requests(blocks);
    this.#schedule();
  }

  /** Bytes that are already a whole part of the stream (the MSE answer), behind everything given before. */
  sendBytes(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.raw(bytes);
    this.#schedule();
  }

  /**
   * From now on every byte written is RC4 (the stream cipher an MSE handshake carried on). What was
   * given before (the handshake's own bytes) is written now, as it is: corked, nothing is held, and
   * before a handshake ends there is no block to wait for.
   */
  encryptWith(cipher: Rc4): void {
    if (this.#closed) return;
    if (this.#queue.first !== undefined) {
      this.#cork();
      this.#pump();
    }
    if (this.#queue.first !== undefined) throw new Error('bytes queued behind the MSE handshake'); // a bug
    this.#encrypt = cipher;
  }

  /** Blocks to send, in this order, as soon as their bytes are in memory. */
  serve(blocks: readonly BlockRef[]): void {
    const source = this.#hooks.source;
    if (this.#closed) return;
    if (source === undefined) {
      this.#hooks.onReadError(new Error('this connection has no block source'));
      return;
    }
    for (const ref of blocks) {
      const item = this.#queue.block(ref);
      let got: PinnedBlock | Promise<PinnedBlock>;
      try {
        got = source.acquire(ref.index, ref.begin, ref.length);
      } catch (err) {
        this.#hooks.onReadError(err);
        return;
      }
      if (!(got instanceof Promise)) item.pinned = got;
      else
        got.then(
          (pinned) => {
            if (this.#closed) return source.release(pinned);
            item.pinned = pinned;
            if (this.#queue.first === item) this.#pump();
          },
          (err) => {
            if (!this.#closed) this.#hooks.onReadError(err);
          },
        );
    }
    this.#pump();
  }

  /**
   * Write what is ready, in order, until a block still being read or the upload limit; packed
   * messages at the end are held while the socket still has bytes it was given before this tick.
   * While the first block waits for upload tokens (the limit's timer is set), only the messages
   * ahead of it leave (hash answers put there since): they take no tokens, and the block is tried
   * again when the timer fires.
   */
  #pump(): void {
    if (this.#closed) return;
    const waiting = this.#limitTimer !== undefined;
    const { onPayloadSent, source } = this.#hooks;
    const socket = this.#socket;
    const encrypt = this.#encrypt;
    const queue = this.#queue;
    const batch: PinnedBlock[] = [];
    let headers: Buffer | undefined;
    let h = 0;
    for (let item = queue.first; item !== undefined; item = queue.first) {
      if (item.ref === undefined) {
        if (queue.blocks === 0 && !this.#corked && socket.writableLength > 0) break; // held
        if (waiting ? item.payload > 0 : !this.#take(item.payload)) break;
        queue.shift();
        if (item.payload > 0) onPayloadSent?.(item.payload);
        this.#cork();
        const { bytes, start, end } = item;
        const span = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
        if (encrypt !== undefined) encrypt.applyTo(span, span); // ours, written once: in place
        socket.write(span, this.#written);
        continue;
      }
      const pinned = item.pinned;
      if (pinned === undefined || waiting || !this.#take(pinned.block.length)) break;
      queue.shift();
      if (headers === undefined || h + PIECE_HEADER_LENGTH > headers.length) {
        // One buffer for the headers of every block ready now (at most 64 KiB of them).
        headers = Buffer.allocUnsafe(PIECE_HEADER_LENGTH * Math.min(5041, queue.readyBlocks()));
        h = 0;
      }
      const at = h;
      h = encodePieceHeaderInto(headers, at, item.ref.index, item.ref.begin, pinned.block.length);
      this.#cork();
      const header = headers.subarray(at, h);
      if (encrypt === undefined) {
        socket.write(header);
        socket.write(pinned.block);
      } else {
        encrypt.applyTo(header, header);
        // The read cache's bytes are shared with every peer served them: encrypted into a copy.
        const copy = Buffer.allocUnsafe(pinned.block.length);
        encrypt.applyTo(pinned.block, copy);
        socket.write(header);
        socket.write(copy);
      }
      batch.push(pinned);
      onPayloadSent?.(pinned.block.length);
      this.#served++;
    }
    if (batch.length > 0 && source !== undefined)
      // After the socket took the bytes (or failed to): the chunks may be reused.
      socket.write(EMPTY, () => {
        for (const p of batch) source.release(p);
        this.#wake();
      });
  }

  /** Upload tokens for `n` payload bytes: taken, or a timer set to try again. */
  #take(n: number): boolean {
    const limit = this.#hooks.uploadLimit;
    if (n === 0 || limit === undefined || limit.tryTake(n)) {
      this.#limited = false;
      return true;
    }
    this.#limited = true;
    this.#limitTimer = setTimeout(
      () => {
        this.#limitTimer = undefined;
        this.#pump();
      },
      Math.max(1, limit.msUntil(n)),
    );
    this.#schedule(); // the machine hears it is congested
    return false;
  }

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#socket.cork();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    process.nextTick(this.#endOfTick);
  }

  /** End of a tick: what was packed joins this tick's writev (or is held), then the marks and `onServed`. */
  #tick(): void {
    if (!this.#closed) this.#pump();
    this.#tickScheduled = false;
    if (this.#corked) {
      this.#corked = false;
      this.#socket.uncork();
    }
    if (this.#closed) return;
    this.#checkCongestion();
    if (this.#served > 0) {
      const n = this.#served;
      this.#served = 0;
      this.#hooks.onServed(n);
    }
  }

  /** The socket took bytes: held messages may go now, and the marks may be back under. */
  #wake(): void {
    if (this.#closed) return;
    if (this.#queue.bytes > 0 && this.#socket.writableLength === 0) this.#schedule();
    if (this.#congested || this.#readPaused) this.#checkCongestion();
  }

  /** Bytes given to send that the peer has not been sent yet: the socket's, and those held here. */
  get unsentBytes(): number {
    return this.#socket.writableLength + this.#queue.bytes;
  }

  #checkCongestion(): void {
    if (this.#closed) return;
    const bytes = this.unsentBytes;
    const rejects = this.#queue.rejects;
    if (
      this.#readPaused
        ? bytes <= READ_RESUME_BYTES && rejects <= READ_RESUME_REJECTS
        : bytes > READ_PAUSE_BYTES || rejects > READ_PAUSE_REJECTS
    ) {
      this.#readPaused = !this.#readPaused;
      this.#hooks.onReadPause?.(this.#readPaused);
    }
    const now = this.#limited || bytes > WRITE_HIGH_WATER;
    if (now === this.#congested) return;
    this.#congested = now;
    this.#hooks.onCongestion(now);
  }

  /** Writes what is ready (held messages too) and ends the socket; blocks still being read are dropped. */
  end(): void {
    if (this.#closed) return;
    this.#cork(); // into this writev, held or not
    this.#pump();
    this.close();
    this.#socket.end(() => this.#socket.destroy());
  }

  /** Stop: blocks not yet written are unpinned (those written are unpinned by their callback). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#limitTimer);
    const source = this.#hooks.source;
    for (const pinned of this.#queue.clear()) source?.release(pinned);
  }
}

const EMPTY = new Uint8Array(0);
