/**
 * Gathers block writes that continue each other in the same file into runs, each written with one
 * `writev`. Every file may have several open runs (one per place being written: the blocks of
 * several peers' pieces interleave in one turn), and a run is written at the end of the current
 * turn of the event loop (setImmediate), or earlier when it holds MAX_COALESCED_BYTES or when
 * `flushRange` asks for bytes it holds (the piece is about to be verified).
 *
 * Why not longer (measured, issue #8, 1 GiB from one local libtorrent seeder, per-thread CPU): runs
 * held for up to 20 ms made fewer, larger writes, yet the thread pool's system time tripled
 * (0.4 → 1.3 s) and the garbage collector's grew: the bytes had left the CPU's caches by the time
 * they were copied into the page cache, and the socket chunks they view lived long enough to be
 * promoted. Writing in the turn the bytes arrived in is cheaper.
 *
 * Memory: a run holds views of blocks received in this turn, at most MAX_COALESCED_BYTES each; the
 * write backlog (write-backlog.ts) bounds what waits on the disk.
 */

/** A run is written once it holds this many bytes. */
export const MAX_COALESCED_BYTES = 1 << 20;

export type WriteV = (fileIndex: number, buffers: Uint8Array[], position: number) => Promise<void>;

interface Run {
  readonly fileIndex: number;
  readonly position: number;
  end: number;
  readonly buffers: Uint8Array[];
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class WriteCoalescer {
  readonly #writev: WriteV;
  /** Per file, its open runs keyed by where each ends (the next block continues one there). */
  readonly #runs = new Map<number, Map<number, Run>>();
  #open = 0;
  #scheduled = false;

  constructor(writev: WriteV) {
    this.#writev = writev;
  }

  /** Runs not yet written. */
  get openRuns(): number {
    return this.#open;
  }

  /**
   * Queues `buffer` (not copied: it must not change until written) at `position` of file
   * `fileIndex`. The promise settles when the run holding it is written.
   */
  write(fileIndex: number, position: number, buffer: Uint8Array): Promise<void> {
    let runs = this.#runs.get(fileIndex);
    if (runs === undefined) this.#runs.set(fileIndex, (runs = new Map()));
    let run = runs.get(position);
    if (run !== undefined) runs.delete(position);
    else {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      run = { fileIndex, position, end: position, buffers: [], done, resolve, reject };
      this.#open++;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flushAll());
      }
    }
    run.buffers.push(buffer);
    run.end += buffer.length;
    if (run.end - run.position >= MAX_COALESCED_BYTES) this.#flush(run);
    else runs.set(run.end, run);
    return run.done;
  }

  /** Writes now every open run of file `fileIndex` that holds bytes of [from, to). */
  flushRange(fileIndex: number, from: number, to: number): void {
    const runs = this.#runs.get(fileIndex);
    if (runs === undefined) return;
    for (const [end, run] of runs)
      if (run.position < to && end > from) {
        runs.delete(end);
        this.#flush(run);
      }
  }

  /** Writes every open run now. */
  flushAll(): void {
    this.#scheduled = false;
    const files = [...this.#runs.values()];
    this.#runs.clear();
    for (const runs of files) for (const run of runs.values()) this.#flush(run);
  }

  /** `run` must already be out of #runs. */
  #flush(run: Run): void {
    this.#open--;
    this.#writev(run.fileIndex, run.buffers, run.position).then(run.resolve, run.reject);
  }
}
