/**
 * The write half of a connection (tcp-connection.ts): wire messages and served blocks leave in the
 * order the peer machine gave them. A served block is named by the machine (`serve`: index, begin,
 * length — decided there) and its bytes are taken here from a BlockSource (the read cache), so block
 * bytes never travel through the machines (issue #8: four machine events per 16 KiB block were most
 * of the seeder's main thread).
 *
 *   <len=0009+X><id=7><index><begin><block>   one 13-byte header per block, all of one batch in one buffer
 *
 * Everything written in one tick is corked and leaves in one writev. A block waits for its chunk to be
 * read (messages given after it wait behind it: the wire order is the machine's order), and for upload
 * tokens when a limit is set. Written blocks stay pinned in the cache until the socket has taken them
 * (one write callback per batch releases them all). Once a tick the machine hears how many blocks
 * were written (`socket.served`), which frees its read window.
 *
 * Two marks hold back what waits to go out (docs/architecture.md, "Flow control"):
 * - past WRITE_HIGH_WATER unsent bytes the machine stops serving blocks (`socket.congested`);
 * - past READ_PAUSE_BYTES unsent bytes or READ_PAUSE_MESSAGES unsent messages the connection stops
 *   reading the socket (`onReadPause`), until both are back under their resume marks. Every message
 *   we send may answer one the peer sent (a reject for a request or a cancel, an unchoke for an
 *   interested): a peer that never reads what we send would otherwise make us queue answers without
 *   end, about 400 bytes of memory each (measured: 1.2 GB in 20 s). Not reading it lets TCP hold the
 *   peer back instead.
 */
import type { Socket } from 'node:net';
import type { BlockRef } from '../../machines/peer.types.js';
import type { BlockSource, PinnedBlock } from '../storage/read-cache.js';
import { encodeRequests } from '../wire/encode-message.js';
import type { WireItem } from '../wire/messages.js';
import type { TokenBucket } from './token-bucket.js';

/** Above this many unsent bytes the peer machine stops serving until the socket drains. */
export const WRITE_HIGH_WATER = 1024 * 1024;

/**
 * Above this many unsent bytes the connection stops reading the socket. It sits above what serving
 * alone may leave unsent, so an honest downloader's reading is never paused: serving stops past
 * WRITE_HIGH_WATER, but the read window the machine handed over before it heard `socket.congested`
 * is still written (readWindow 128 × (16 KiB + 13) ≈ 2 MiB): at most ~3 MiB.
 */
export const READ_PAUSE_BYTES = 4 * 1024 * 1024;
/** Reading resumes once the unsent bytes are back at or under this (and the messages under theirs). */
export const READ_RESUME_BYTES = WRITE_HIGH_WATER;
/**
 * Above this many unsent messages (anything but served blocks and request batches: those are bounded
 * by the read window and the pipeline) the connection stops reading the socket. A message costs
 * far more memory than its bytes (a buffer, Node's write request: ~400 bytes for a 17-byte reject),
 * so bytes alone would let ~250,000 rejects wait under READ_PAUSE_BYTES. Honest traffic leaves a
 * handful unsent (haves, keep-alives, interest, choke); 4096 is about 1.6 MB.
 */
export const READ_PAUSE_MESSAGES = 4096;
export const READ_RESUME_MESSAGES = 1024;

type Item =
  | { readonly message: WireItem; readonly ref?: undefined }
  | { readonly message?: undefined; readonly ref: BlockRef; pinned: PinnedBlock | undefined };

export interface SendQueueHooks {
  readonly source?: BlockSource;
  readonly uploadLimit?: TokenBucket;
  readonly onPayloadSent?: (bytes: number) => void;
  /** Called with the new state when congestion (unsent bytes, or held by the upload limit) changes. */
  readonly onCongestion: (congested: boolean) => void;
  /**
   * Called with true when what waits to go out passes READ_PAUSE_BYTES or READ_PAUSE_MESSAGES (stop
   * reading the socket), with false once it is back under READ_RESUME_BYTES and READ_RESUME_MESSAGES.
   */
  readonly onReadPause?: (paused: boolean) => void;
  /** Once a tick: blocks written since the last call, in the order they were served. */
  readonly onServed: (count: number) => void;
  /** A block could not be read (or no source was given): the connection should close. */
  readonly onReadError: (err: unknown) => void;
  /** Writes one wire item (corked until the next tick); `written` once the socket has taken it. */
  readonly writeItem: (socket: Socket, message: WireItem, written?: () => void) => void;
}

export class SendQueue {
  readonly #socket: Socket;
  readonly #hooks: SendQueueHooks;
  #items: Item[] = [];
  #head = 0;
  #congested = false;
  #limited = false;
  #closed = false;
  #limitTimer: NodeJS.Timeout | undefined;
  #served = 0;
  #reportScheduled = false;
  /** Messages given to send (or queued by sendRequests) that the socket has not taken yet. */
  #unsentMessages = 0;
  #readPaused = false;
  /** One callback for every message write (no closure per message). */
  readonly #messageWritten = (): void => {
    this.#unsentMessages--;
    if (this.#readPaused) this.#checkReadPause();
  };

  constructor(socket: Socket, hooks: SendQueueHooks) {
    this.#socket = socket;
    this.#hooks = hooks;
    socket.on('drain', () => this.#checkCongestion());
  }

  send(message: WireItem): void {
    this.#unsentMessages++;
    if (this.#head === this.#items.length && message.type !== 'piece') {
      this.#hooks.writeItem(this.#socket, message, this.#messageWritten); // nothing waits ahead of it
      this.#checkCongestion();
      return;
    }
    this.#items.push({ message });
    this.#pump();
  }

  /**
   * Request messages for `blocks`: one buffer and one write for the batch when nothing waits ahead
   * of them (a downloader's usual case), else queued one by one behind what waits.
   */
  sendRequests(blocks: readonly BlockRef[]): void {
    if (this.#head !== this.#items.length) {
      this.#unsentMessages += blocks.length;
      for (const b of blocks)
        this.#items.push({ message: { type: 'request', index: b.index, begin: b.begin, length: b.length } });
      this.#pump();
      return;
    }
    this.#cork();
    this.#socket.write(encodeRequests(blocks));
    this.#checkCongestion();
  }

  /** Blocks to send, in this order, as soon as their bytes are in memory. */
  serve(blocks: readonly BlockRef[]): void {
    const source = this.#hooks.source;
    if (source === undefined) {
      this.#hooks.onReadError(new Error('this connection has no block source'));
      return;
    }
    for (const ref of blocks) {
      const item: Item = { ref, pinned: undefined };
      this.#items.push(item);
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
            if (this.#items[this.#head] === item) this.#pump();
          },
          (err) => {
            if (!this.#closed) this.#hooks.onReadError(err);
          },
        );
    }
    this.#pump();
  }

  /** Write what is ready, in order, until a block still being read or the upload limit. */
  #pump(): void {
    if (this.#closed || this.#limitTimer !== undefined) return;
    const { onPayloadSent, source } = this.#hooks;
    const batch: PinnedBlock[] = [];
    let headers: Buffer | undefined;
    let h = 0;
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (item.ref === undefined) {
        const n = item.message.type === 'piece' ? item.message.block.length : 0;
        if (!this.#take(n)) break;
        this.#head++;
        if (n > 0) onPayloadSent?.(n);
        this.#hooks.writeItem(this.#socket, item.message, this.#messageWritten);
        continue;
      }
      const pinned = item.pinned;
      if (pinned === undefined || !this.#take(pinned.block.length)) break;
      this.#head++;
      if (headers === undefined || h + 13 > headers.length) {
        // One buffer for the headers of every block ready now (at most 64 KiB of them).
        headers = Buffer.allocUnsafe(13 * Math.min(5041, this.#readyBlocks()));
        h = 0;
      }
      const { index, begin } = item.ref;
      headers.writeUInt32BE(9 + pinned.block.length, h);
      headers[h + 4] = 7;
      headers.writeUInt32BE(index, h + 5);
      headers.writeUInt32BE(begin, h + 9);
      this.#cork();
      this.#socket.write(headers.subarray(h, h + 13));
      this.#socket.write(pinned.block);
      h += 13;
      batch.push(pinned);
      onPayloadSent?.(pinned.block.length);
      this.#served++;
    }
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (batch.length > 0 && source !== undefined) {
      // After the socket took the bytes (or failed to): the chunks may be reused.
      this.#socket.write(EMPTY, () => {
        for (const p of batch) source.release(p);
        if (this.#readPaused) this.#checkReadPause();
      });
      this.#scheduleReport();
    }
    this.#checkCongestion();
  }

  /** Blocks at the head of the queue whose bytes are ready. */
  #readyBlocks(): number {
    let n = 0;
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.ref === undefined) continue;
      if (item.pinned === undefined) break;
      n++;
    }
    return Math.max(1, n);
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
    return false;
  }

  #cork(): void {
    if (this.#socket.writableCorked === 0) {
      this.#socket.cork();
      process.nextTick(uncork, this.#socket);
    }
  }

  #scheduleReport(): void {
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    process.nextTick(() => {
      this.#reportScheduled = false;
      if (this.#closed || this.#served === 0) return;
      const n = this.#served;
      this.#served = 0;
      this.#hooks.onServed(n);
    });
  }

  #checkCongestion(): void {
    this.#checkReadPause();
    const now = this.#limited || this.#socket.writableLength > WRITE_HIGH_WATER;
    if (now === this.#congested || this.#closed) return;
    this.#congested = now;
    this.#hooks.onCongestion(now);
  }

  /** Reading pauses past the pause marks and resumes under both resume marks (see READ_PAUSE_BYTES). */
  #checkReadPause(): void {
    if (this.#closed) return;
    const bytes = this.#socket.writableLength;
    if (!this.#readPaused) {
      if (bytes <= READ_PAUSE_BYTES && this.#unsentMessages <= READ_PAUSE_MESSAGES) return;
      this.#readPaused = true;
      this.#hooks.onReadPause?.(true);
    } else if (bytes <= READ_RESUME_BYTES && this.#unsentMessages <= READ_RESUME_MESSAGES) {
      this.#readPaused = false;
      this.#hooks.onReadPause?.(false);
    }
  }

  /** Messages given to send that the socket has not taken yet (for tests and traces). */
  get unsentMessages(): number {
    return this.#unsentMessages;
  }

  /** Stop: blocks not yet written are unpinned (those written are unpinned by their callback). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#limitTimer);
    const source = this.#hooks.source;
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.ref !== undefined && item.pinned !== undefined) source?.release(item.pinned);
    }
    this.#items = [];
    this.#head = 0;
  }
}

const EMPTY = new Uint8Array(0);

function uncork(socket: Socket): void {
  socket.uncork();
}
