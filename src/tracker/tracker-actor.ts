/**
 * The tracker machine wired to the real HTTP client: `announce` becomes an HTTP(S) request whose
 * uploaded/downloaded/left are read from `stats()` at the moment it is sent. Stopping the machine
 * (or leaving `announcing`) aborts the request in flight through the actor's AbortSignal.
 */
import { fromPromise } from 'xstate';
import { type AnnounceRequest, trackerMachine } from '../../machines/tracker.machine.js';
import type { AnnounceResponse } from './announce-types.js';
import { announce } from './http-announce.js';

export interface TransferStats {
  readonly uploaded: number;
  readonly downloaded: number;
  /** Bytes of the pieces we lack (padding left out): 0 for a seed, not for a partial seed (BEP 21). */
  readonly left: number;
}

export interface TrackerActorOptions {
  readonly stats: () => TransferStats;
  readonly timeoutMs?: number;
  /** The announce function, `announce` from http-announce.ts unless given (e.g. a UDP client later). */
  readonly announceFn?: typeof announce;
}

export function trackerActor(opts: TrackerActorOptions) {
  const send = opts.announceFn ?? announce;
  return trackerMachine.provide({
    actors: {
      announce: fromPromise<AnnounceResponse, AnnounceRequest>(({ input, signal }) => {
        const { url, ...rest } = input;
        return send(
          url,
          { ...rest, ...opts.stats() },
          { signal, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) },
        );
      }),
    },
  });
}
