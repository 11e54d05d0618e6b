/**
 * A small pool of hash workers (see hash-worker.ts). Each request goes to the worker with the
 * fewest pending requests; a worker is ref'ed only while it has work, so an idle pool never keeps
 * the process alive. If a worker dies, its pending requests (and later ones) fail with
 * StorageError 'worker'.
 */
import { Worker } from 'node:worker_threads';
import { removedFile } from './file-looks.js';
import type { HashReply, HashRequest } from './hash-worker.js';
import { type HashJobSpec, WORKER_READY } from './piece-hasher.js';
import { StorageError } from './storage-error.js';

interface Pending {
  resolve(ok: boolean): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  dead: StorageError | undefined;
}

// Built, the worker is hash-worker.js next to this file. Run from TypeScript sources (tsx: tests,
// benches) it is hash-worker.ts, and Node 20 does not pass tsx's loader hooks on to workers, so
// the worker first registers tsx itself.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './hash-worker.ts' : './hash-worker.js', import.meta.url);

function startWorker(spec: HashJobSpec): Worker {
  // execArgv: [] — a worker inherits the parent's node flags, and some break it (a library user
  // started with `node --input-type=module -e …` got "--input-type can only be used with string input").
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData: spec, execArgv: [] });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData: spec });
}

export class HashPool {
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;
  #ready = false;
  #onReady: (() => void) | undefined;
  /** Settles when a worker is ready (never, if none becomes ready). */
  readonly whenReady = new Promise<void>((resolve) => {
    this.#onReady = resolve;
  });

  constructor(spec: HashJobSpec, size: number) {
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn(spec));
  }

  get size(): number {
    return this.#slots.length;
  }

  /**
   * True once a worker has loaded its code and listens. Booting one takes 30-40 ms on a busy
   * machine, and it starts when the store opens: the first piece of a download used to wait for it
   * (measured, issue #8: the first hash answered 7-38 ms after it was asked). Until then PieceStore
   * hashes on its own thread.
   */
  get ready(): boolean {
    return this.#ready;
  }

  /** True while some request waits for its answer. */
  get busy(): boolean {
    return this.#slots.some((s) => s.pending.size > 0);
  }

  /** True when every worker has died: `hash` then fails with the reason (never silently in-thread). */
  get dead(): boolean {
    return this.#slots.every((s) => s.dead !== undefined);
  }

  #spawn(spec: HashJobSpec): Slot {
    const worker = startWorker(spec);
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), dead: undefined };
    worker.on('message', (reply: HashReply | typeof WORKER_READY) => {
      if (reply === WORKER_READY) {
        this.#ready = true;
        this.#onReady?.();
        return;
      }
      const p = slot.pending.get(reply.id);
      if (p === undefined) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if ('error' in reply)
        p.reject(
          // The worker opens only files on disk: one missing when a piece is read back was deleted under us.
          reply.error.errno === 'ENOENT' && reply.error.path !== undefined
            ? removedFile(reply.error.path)
            : StorageError.fromSystem(
                Object.assign(new Error(reply.error.message), { code: reply.error.errno }),
                'cannot read back',
                reply.error.path,
              ),
        );
      else p.resolve(reply.ok);
    });
    const die = (cause: unknown) => {
      if (slot.dead !== undefined) return;
      slot.dead = new StorageError('worker', `hash worker stopped: ${String(cause)}`, { cause });
      for (const p of slot.pending.values()) p.reject(slot.dead);
      slot.pending.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(this.#closed ? 'closed' : `exit code ${code}`));
    return slot;
  }

  /** True when piece `index` on disk matches its SHA-1. */
  hash(index: number): Promise<boolean> {
    if (this.#closed) return Promise.reject(new StorageError('closed', 'the piece store is closed'));
    let best: Slot | undefined;
    for (const s of this.#slots)
      if (s.dead === undefined && (best === undefined || s.pending.size < best.pending.size)) best = s;
    if (best === undefined)
      return Promise.reject(this.#slots[0]?.dead ?? new StorageError('worker', 'no worker'));
    const slot = best;
    const id = this.#nextId++;
    return new Promise<boolean>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, index } satisfies HashRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
