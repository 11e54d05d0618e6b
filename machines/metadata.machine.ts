/**
 * The metadata machine: fetching a magnet link's info dictionary (BEP 9) from the peers that
 * offer it, before there is a torrent to download. Pure: the driver (src/session/fetch-metadata.ts)
 * owns the connections, decodes their messages into the events below, and carries out what the
 * machine emits (`metadata.request`, `metadata.drop`, and `metadata.snubbed`: a peer that let a
 * request time out or rejected one, which the driver closes when others wait for its slot); the SHA-1 check is the provided
 * `verifyMetadata` actor. The bookkeeping is `MetadataFetch` (machines/metadata-fetch.ts).
 *
 *   active ── fetching ──(every piece in)──► verifying ──(SHA-1 = info-hash)──► verified (final)
 *     │          ▲  ▲ tick (tickMs)               │
 *     │          │  └─────────────────────────────┘ mismatch: discarded, a lone sender dropped
 *     └──(fetchTimeoutMs on the actor system's clock)──► timedOut (final)
 */
import { assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import { type MetadataCommand, MetadataFetch, type MetadataFetchLimits } from './metadata-fetch.js';

export interface MetadataInput {
  /** Give up when the metadata is not verified within this long. */
  readonly fetchTimeoutMs: number;
  /** The clock of request timeouts and backoff. */
  readonly tickMs: number;
  readonly limits: MetadataFetchLimits;
}

export interface MetadataContext {
  readonly input: MetadataInput;
  /** Held by reference, changed only through its methods (named actions below). */
  readonly fetch: MetadataFetch;
  /** The bytes that passed the hash (the very ones hashed): the output carries them. */
  readonly verified: Uint8Array | undefined;
}

export type MetadataEvent =
  /** A peer's extension handshake offered ut_metadata; `metadataSize` as it announced it. */
  | { type: 'peer.ready'; peer: string; metadataSize?: number }
  | { type: 'peer.data'; peer: string; piece: number; totalSize: number; data: Uint8Array }
  | { type: 'peer.reject'; peer: string; piece: number }
  | { type: 'peer.gone'; peer: string };

export type MetadataEmitted =
  | { type: 'metadata.request'; peer: string; piece: number }
  | { type: 'metadata.drop'; peer: string; reason: string }
  | { type: 'metadata.snubbed'; peer: string; reason: string }
  | { type: 'metadata.progress'; received: number; pieces: number; peers: number };

export type MetadataOutput =
  | { readonly result: 'verified'; readonly info: Uint8Array }
  | {
      readonly result: 'timedOut';
      readonly received: number;
      readonly pieces: number;
      readonly hashFailures: number;
    };

function toEmitted(c: MetadataCommand): MetadataEmitted {
  switch (c.type) {
    case 'request':
      return { type: 'metadata.request', peer: c.peer, piece: c.piece };
    case 'drop':
      return { type: 'metadata.drop', peer: c.peer, reason: c.reason };
    case 'snubbed':
      return { type: 'metadata.snubbed', peer: c.peer, reason: c.reason };
  }
}

export const metadataMachine = setup({
  types: {
    input: {} as MetadataInput,
    context: {} as MetadataContext,
    events: {} as MetadataEvent,
    emitted: {} as MetadataEmitted,
    output: {} as MetadataOutput,
  },
  actors: {
    /**
     * The bytes themselves when their SHA-1 is the info-hash, undefined when not (provided in src/:
     * node:crypto). The output is what was hashed, not a second read of the fetch's buffer.
     */
    verifyMetadata: fromPromise<Uint8Array | undefined, { bytes: Uint8Array }>(async () => undefined),
  },
  delays: {
    fetchTimeout: ({ context }) => context.input.fetchTimeoutMs,
    tick: ({ context }) => context.input.tickMs,
  },
  guards: {
    isComplete: ({ context }) => context.fetch.complete,
  },
  actions: {
    applyPeerEvent: enqueueActions(({ context, event, enqueue }) => {
      const f = context.fetch;
      const commands =
        event.type === 'peer.ready'
          ? f.addPeer(event.peer, event.metadataSize)
          : event.type === 'peer.data'
            ? f.data(event.peer, event.piece, event.totalSize, event.data)
            : event.type === 'peer.reject'
              ? f.reject(event.peer, event.piece)
              : f.removePeer(event.peer);
      for (const c of commands) enqueue.emit(toEmitted(c));
    }),
    tick: enqueueActions(({ context, enqueue }) => {
      for (const c of context.fetch.tick()) enqueue.emit(toEmitted(c));
    }),
    discardMetadata: enqueueActions(({ context, enqueue }) => {
      for (const c of context.fetch.hashFailed()) enqueue.emit(toEmitted(c));
    }),
    reportProgress: emit(({ context }) => ({
      type: 'metadata.progress' as const,
      received: context.fetch.received,
      pieces: context.fetch.pieceCount,
      peers: context.fetch.peerCount,
    })),
    markVerified: assign({ verified: (_, params: { bytes: Uint8Array }) => params.bytes }),
  },
}).createMachine({
  id: 'metadata',
  context: ({ input }) => ({ input, fetch: new MetadataFetch(input.limits), verified: undefined }),
  initial: 'active',
  states: {
    active: {
      after: { fetchTimeout: 'timedOut' },
      initial: 'fetching',
      states: {
        fetching: {
          always: { guard: 'isComplete', target: 'verifying' },
          after: { tick: { target: 'fetching', reenter: true, actions: ['tick', 'reportProgress'] } },
          on: {
            'peer.ready': { actions: 'applyPeerEvent' },
            'peer.data': { actions: 'applyPeerEvent' },
            'peer.reject': { actions: 'applyPeerEvent' },
            'peer.gone': { actions: 'applyPeerEvent' },
          },
        },
        verifying: {
          invoke: {
            src: 'verifyMetadata',
            input: ({ context }) => ({ bytes: context.fetch.bytes! }),
            onDone: [
              {
                guard: ({ event }) => event.output !== undefined,
                target: '#metadata.verified',
                actions: { type: 'markVerified', params: ({ event }) => ({ bytes: event.output! }) },
              },
              { target: 'fetching', actions: 'discardMetadata' },
            ],
            onError: { target: 'fetching', actions: 'discardMetadata' },
          },
          on: {
            // The bytes are in; a peer arriving or leaving changes nothing until the hash is known.
            'peer.ready': { actions: 'applyPeerEvent' },
            'peer.gone': { actions: 'applyPeerEvent' },
          },
        },
      },
    },
    verified: {
      type: 'final',
    },
    timedOut: { type: 'final' },
  },
  output: ({ context }) =>
    context.verified !== undefined
      ? { result: 'verified', info: context.verified }
      : {
          result: 'timedOut',
          received: context.fetch.received,
          pieces: context.fetch.pieceCount,
          hashFailures: context.fetch.hashFailures,
        },
});
