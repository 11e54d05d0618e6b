/**
 * The blocks the peer machine asked a web seed for (BEP 19), not yet asked of its server, and how
 * they are cut into runs — one run per range GET (web-seed-connection.ts). Pure.
 *
 * A run is the oldest request, then every queued block that continues it in the payload, as long as
 * the run stays within its byte budget: whole pieces and runs of adjacent pieces in one GET, as
 * libtorrent asks, never 16 KiB GETs. With several GETs in flight per seed, the budget is the
 * queue's fair share among the idle connections, at least one block (so a contiguous run the
 * picker handed out is split over them, each GET a contiguous part of it), at most MAX_RUN_BYTES,
 * and never past what MAX_WEB_SEED_BYTES_IN_FLIGHT leaves.
 */
import type { BlockRef } from '../../machines/peer.types.js';

/**
 * Range GETs in flight per web seed, by default: each on a keep-alive connection of its own (an
 * HTTP/1.1 server answers one request at a time per connection, and many limit each connection's
 * speed). Measured in docs/web-seeds.md: 256 MiB from a server at 20 MB/s per connection.
 */
export const DEFAULT_WEB_SEED_CONNECTIONS = 4;
/** The most GETs in flight per seed may be (`--web-seed-connections`): no seed gets more sockets. */
export const MAX_WEB_SEED_CONNECTIONS = 16;
/** The most one GET asks for: a run of blocks continuing each other (a peer's pipeline is ≤ 4 MiB). */
export const MAX_RUN_BYTES = 8 * 1024 * 1024;
/**
 * Bytes asked of one seed's server and not yet received, at most: what its GETs in flight may
 * still bring. The peer machine's pipeline (maxPipeline blocks, ~4 MiB) keeps it lower; this
 * holds whatever that is set to.
 */
export const MAX_WEB_SEED_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

export class WebSeedRequests {
  readonly #pieceLength: number;
  #queue: BlockRef[] = [];
  #bytes = 0;

  constructor(pieceLength: number) {
    this.#pieceLength = pieceLength;
  }

  /** Blocks queued. */
  get size(): number {
    return this.#queue.length;
  }

  /** Their bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  add(blocks: readonly BlockRef[]): void {
    for (const b of blocks) {
      this.#queue.push(b);
      this.#bytes += b.length;
    }
  }

  /** A cancel: the block leaves the queue if it is still there (once asked of the server, it stays). */
  cancel(index: number, begin: number): void {
    const at = this.#queue.findIndex((b) => b.index === index && b.begin === begin);
    if (at === -1) return;
    this.#bytes -= this.#queue[at]!.length;
    this.#queue.splice(at, 1);
  }

  /**
   * The next run for one of `idle` idle connections, when `inFlightBytes` are already asked of the
   * server: the oldest block and every queued block that continues it, in payload order, up to the
   * queue's share among the idle connections (at least the oldest block), at most MAX_RUN_BYTES;
   * none when even the oldest would take the bytes in flight past MAX_WEB_SEED_BYTES_IN_FLIGHT.
   */
  takeRun(idle: number, inFlightBytes: number): BlockRef[] {
    const first = this.#queue[0];
    const allowance = MAX_WEB_SEED_BYTES_IN_FLIGHT - inFlightBytes;
    if (first === undefined || first.length > allowance) return [];
    const share = Math.max(first.length, Math.ceil(this.#bytes / Math.max(1, idle)));
    const maxBytes = Math.min(share, MAX_RUN_BYTES, allowance);
    const offsetOf = (b: BlockRef) => b.index * this.#pieceLength + b.begin;
    const byOffset = new Map<number, BlockRef>();
    for (const b of this.#queue) byOffset.set(offsetOf(b), b);
    const blocks = [first];
    let bytes = first.length;
    byOffset.delete(offsetOf(first));
    for (;;) {
      const next = byOffset.get(offsetOf(first) + bytes);
      if (next === undefined || bytes + next.length > maxBytes) break;
      blocks.push(next);
      bytes += next.length;
      byOffset.delete(offsetOf(next));
    }
    const taken = new Set(blocks);
    this.#queue = this.#queue.filter((b) => !taken.has(b));
    this.#bytes -= bytes;
    return blocks;
  }
}
