/**
 * The metadata machine: fetching a magnet link's info dictionary (BEP 9) from the peers that
 * offer it, before there is a torrent to download. Pure: the driver (src/session/fetch-metadata.ts)
 * owns the connections, decodes their messages into the events below, and carries out what the
 * machine emits (`metadata.request`, `metadata.drop`, and `metadata.snubbed`: a peer that let a
 * request time out or rejected one, which the driver closes when others wait for its slot); the SHA-1 check is the provided
 * `verifyMetadata` actor. The bookkeeping is `MetadataFetch` (machines/metadata-fetch.ts).
 *
 * A v2 magnet's info dictionary (BEP 52) comes without its `piece layers`: the provided
 * `planPieceLayers` says which files need one (none for v1, hybrids and short files), and they are
 * fetched from the same peers with hash requests (`metadata.hashRequest`), each answer checked
 * by the driver against its file's `pieces root` (SHA-256, src/metainfo/verify-hashes.ts) and the
 * outcome sent as `peer.hashes` (PieceLayerFetch, machines/piece-layer-fetch.ts), within the same
 * time limit.
 *
 *   active ── fetching ──(every piece in)──► verifying ──(hash = info-hash)──► planning ──(no layers)──► verified
 *     │          ▲  ▲ tick (tickMs)               │                             │                      (final)
 *     │          │  └─────────────────────────────┘ mismatch: discarded,        └─► fetchingLayers ──(all in)──┘
 *     │                                              a lone sender dropped            ▲ tick
 *     └──(fetchTimeoutMs on the actor system's clock)──► timedOut (final)
 */
import { assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import type { HashRange } from '../src/wire/messages.js';
import { type MetadataCommand, MetadataFetch, type MetadataFetchLimits } from './metadata-fetch.js';
import { type PieceLayerCommand, PieceLayerFetch, type PieceLayerPlan } from './piece-layer-fetch.js';

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
  /** A v2 magnet's piece layers being fetched (after `verified`). */
  readonly layers: { readonly plan: PieceLayerPlan; readonly fetch: PieceLayerFetch } | undefined;
}

export type MetadataEvent =
  /** A peer's extension handshake offered ut_metadata; `metadataSize` as it announced it. */
  | { type: 'peer.ready'; peer: string; metadataSize?: number }
  | { type: 'peer.data'; peer: string; piece: number; totalSize: number; data: Uint8Array }
  | { type: 'peer.reject'; peer: string; piece: number }
  | { type: 'peer.gone'; peer: string }
  /**
   * BEP 52 `hashes`: the request's fields, and the run of base-layer hashes when the driver found
   * that the answer proves itself up to its file's `pieces root` (undefined: it does not).
   */
  | { type: 'peer.hashes'; peer: string; range: HashRange; proved: Uint8Array | undefined }
  | { type: 'peer.hashReject'; peer: string; range: HashRange };

export type MetadataEmitted =
  | { type: 'metadata.request'; peer: string; piece: number }
  | { type: 'metadata.hashRequest'; peer: string; range: HashRange }
  | { type: 'metadata.drop'; peer: string; reason: string }
  | { type: 'metadata.snubbed'; peer: string; reason: string }
  | { type: 'metadata.progress'; received: number; pieces: number; peers: number }
  /** Each tick while piece layers are fetched: piece hashes verified of all needed. */
  | { type: 'metadata.layersProgress'; received: number; hashes: number; peers: number };

/** A fetched piece layer: the file's `pieces root` and its hashes (32 bytes a piece). */
export interface FetchedLayer {
  readonly piecesRoot: Uint8Array;
  readonly layer: Uint8Array;
}

export type MetadataOutput =
  | { readonly result: 'verified'; readonly info: Uint8Array; readonly pieceLayers: readonly FetchedLayer[] }
  | {
      readonly result: 'timedOut';
      readonly received: number;
      readonly pieces: number;
      readonly hashFailures: number;
      /** Piece hashes verified, of those needed, when the info dictionary was in. */
      readonly layers?: { readonly received: number; readonly hashes: number; readonly badAnswers: number };
    };

function toEmitted(c: MetadataCommand | PieceLayerCommand): MetadataEmitted {
  switch (c.type) {
    case 'hashRequest':
      return { type: 'metadata.hashRequest', peer: c.peer, range: c.range };
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
    /**
     * The files of the verified info dictionary whose piece layers must be fetched (a v2 magnet's;
     * provided in src/: parsing), undefined or none when there are none to fetch.
     */
    planPieceLayers: fromPromise<PieceLayerPlan | undefined, { info: Uint8Array }>(async () => undefined),
  },
  delays: {
    fetchTimeout: ({ context }) => context.input.fetchTimeoutMs,
    tick: ({ context }) => context.input.tickMs,
  },
  guards: {
    isComplete: ({ context }) => context.fetch.complete,
    layersComplete: ({ context }) => context.layers?.fetch.complete === true,
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
    /** The peers that gave the metadata (not those convicted of a bad copy) are asked for the layers. */
    startLayers: enqueueActions(({ context, enqueue }, params: { plan: PieceLayerPlan }) => {
      const fetch = new PieceLayerFetch(params.plan, context.input.limits, context.fetch.excluded);
      enqueue.assign({ layers: { plan: params.plan, fetch } });
      for (const peer of context.fetch.peers) for (const c of fetch.addPeer(peer)) enqueue.emit(toEmitted(c));
    }),
    applyLayerEvent: enqueueActions(({ context, event, enqueue }) => {
      const f = context.layers!.fetch;
      const commands =
        event.type === 'peer.ready'
          ? f.addPeer(event.peer)
          : event.type === 'peer.hashes'
            ? f.hashes(event.peer, event.range, event.proved)
            : event.type === 'peer.hashReject'
              ? f.reject(event.peer, event.range)
              : event.type === 'peer.gone'
                ? f.removePeer(event.peer)
                : [];
      for (const c of commands) enqueue.emit(toEmitted(c));
    }),
    layersTick: enqueueActions(({ context, enqueue }) => {
      for (const c of context.layers!.fetch.tick()) enqueue.emit(toEmitted(c));
    }),
    reportLayersProgress: emit(({ context }) => ({
      type: 'metadata.layersProgress' as const,
      received: context.layers!.fetch.received,
      hashes: context.layers!.fetch.hashCount,
      peers: context.layers!.fetch.peerCount,
    })),
  },
}).createMachine({
  id: 'metadata',
  context: ({ input }) => ({
    input,
    fetch: new MetadataFetch(input.limits),
    verified: undefined,
    layers: undefined,
  }),
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
                target: 'planning',
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
        planning: {
          invoke: {
            src: 'planPieceLayers',
            input: ({ context }) => ({ info: context.verified! }),
            onDone: [
              {
                guard: ({ event }) => event.output !== undefined && event.output.files.length > 0,
                target: 'fetchingLayers',
                actions: { type: 'startLayers', params: ({ event }) => ({ plan: event.output! }) },
              },
              { target: '#metadata.verified' },
            ],
            // An info dictionary that hashes to the info-hash but does not parse: said by the
            // caller's parse, with its reason.
            onError: { target: '#metadata.verified' },
          },
          on: {
            'peer.ready': { actions: 'applyPeerEvent' },
            'peer.gone': { actions: 'applyPeerEvent' },
          },
        },
        fetchingLayers: {
          always: { guard: 'layersComplete', target: '#metadata.verified' },
          after: {
            tick: {
              target: 'fetchingLayers',
              reenter: true,
              actions: ['layersTick', 'reportLayersProgress'],
            },
          },
          on: {
            'peer.ready': { actions: 'applyLayerEvent' },
            'peer.hashes': { actions: 'applyLayerEvent' },
            'peer.hashReject': { actions: 'applyLayerEvent' },
            'peer.gone': { actions: 'applyLayerEvent' },
          },
        },
      },
    },
    verified: {
      type: 'final',
    },
    timedOut: { type: 'final' },
  },
  output: ({ context }) => {
    const layers = context.layers;
    if (context.verified !== undefined && (layers === undefined || layers.fetch.complete))
      return {
        result: 'verified',
        info: context.verified,
        pieceLayers:
          layers === undefined
            ? []
            : layers.plan.files.map((f, i) => ({ piecesRoot: f.piecesRoot, layer: layers.fetch.layers[i]! })),
      };
    return {
      result: 'timedOut',
      received: context.fetch.received,
      pieces: context.fetch.pieceCount,
      hashFailures: context.fetch.hashFailures,
      ...(layers === undefined
        ? {}
        : {
            layers: {
              received: layers.fetch.received,
              hashes: layers.fetch.hashCount,
              badAnswers: layers.fetch.badAnswers,
            },
          }),
    };
  },
});
