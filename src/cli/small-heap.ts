/**
 * Keeps the CLI's V8 heap small while it downloads (issue #8: peak RSS). Two of V8's growth
 * rules, both read each time V8 applies them, so they can be set once the process runs (the size
 * flags, `--max-semi-space-size` and the like, only before Node starts, and re-executing the CLI
 * would cost its start-up time):
 *
 * - `--semi-space-growth-factor=1`: V8 doubles the young generation's semi-spaces (up to 16 MiB
 *   each on 64-bit Node 20) whenever the bytes that survived scavenges since the last growth pass
 *   its size. On a long download that always happens, however little survives, and the two
 *   semi-spaces then hold ~25 MB that a download does not need: what it allocates dies young
 *   (~0.2 GB of garbage per GiB downloaded). Measured, 1 GiB from one local seeder: peak RSS
 *   93–95 MiB instead of 118–126, CPU the same within noise.
 * - `--heap-growing-percent=10`: after a full collection the old generation may grow by 10 %
 *   before the next, not by V8's default factor (up to ×4 for a small heap). With a small young
 *   generation more short-lived objects are promoted, and they waited there for a collection.
 *   Measured, 1 GiB from four local seeders: peak RSS 93–104 MiB instead of 104–111, CPU the same
 *   within noise.
 *
 * V8 enforces its flag implications again when a worker's isolate starts, and the growth factor
 * has a minimum of 2 there (which is also why it cannot be given on the command line): one hash
 * worker undid both flags for the whole process. `bitstate seed` starts one to check its data, and
 * its young generation then grew to 32 MiB while serving (peak RSS 145 MiB). So they are set
 * again as each worker comes online (the `worker_threads` diagnostics channel names every Worker
 * made in this process).
 *
 * The library never does this: a program that embeds bitstate owns its process's flags.
 */
import { subscribe } from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

/** V8's old-generation growth after a full collection, in percent; 0: V8's own heuristics. */
let heapGrowingPercent = 10;

function setFlags(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}

function onWorker(message: unknown): void {
  (message as { worker: Worker }).worker.once('online', setFlags);
}

/**
 * A download with web seeds (BEP 19) gives the old generation V8's own growth back. Their bodies
 * come through node:http, whose socket reads are a fresh 64 KiB ArrayBuffer each (a peer's
 * connection reads into one shared buffer: src/net/block-pool.ts); with 10 % growth that external
 * memory churn brought a mark-compact every ~7 MB — 73 for 512 MiB from one local web seed
 * against 8 — and 0.7–1 s more CPU. The young generation stays small.
 */
export function heapForWebSeeds(): void {
  if (heapGrowingPercent === 0) return;
  heapGrowingPercent = 0;
  setFlagsFromString('--heap-growing-percent=0');
}

export function keepHeapSmall(): void {
  setFlags();
  subscribe('worker_threads', onWorker);
}
