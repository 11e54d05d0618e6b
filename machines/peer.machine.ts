/**
 * One peer connection (BEP 3): connect, handshake, then four independent flags — our interest and
 * their choke (the `download` region, "requesting" where interested meets unchoked), our choke and
 * their interest (`upload`) — plus two timer regions, until `closed` with a typed CloseReason.
 * Bytes come and go through the invoked `connection` actor (TCP in src/net, in-memory in test/sim).
 * See docs/machines.md for the states, invariants, flows and the pipelining formula.
 */
import { and, assign, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import { Bitfield } from '../src/picker/bitfield.js';
import { MAX_BLOCK_LENGTH } from '../src/wire/limits.js';
import type { WireItem } from '../src/wire/messages.js';
import { hasFastBit, ourReservedBytes } from '../src/wire/reserved-bits.js';
import {
  type BlockRef,
  blockKey,
  type CloseReason,
  type ConnectionCommand,
  type ConnectionInput,
  DEFAULT_PEER_LIMITS,
  DEFAULT_PEER_TIMEOUTS,
  MAX_ALLOWED_FAST,
  MAX_SUGGESTED,
  type PeerEvent,
  type PeerInput,
  type PeerKey,
  type PeerLimits,
  type PeerReport,
  type PeerTimeouts,
  type ReceivedBlock,
  type RequestProblem,
} from './peer.types.js';

export interface PeerContext {
  readonly key: PeerKey;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly handle: unknown;
  readonly timeouts: PeerTimeouts;
  readonly limits: PeerLimits;
  /** Our verified pieces, by reference (never copied). */
  readonly ourBitfield: Bitfield;
  /** The peer's pieces, by reference; replaced once by its bitfield, then changed by `have`s. */
  peerBitfield: Bitfield;
  remotePeerId: Uint8Array | undefined;
  /** Requests sent and not yet answered, by blockKey(index, begin); by reference, changed in named actions. */
  readonly outstanding: Map<number, BlockRef>;
  /** Blocks we cancelled that may still arrive (BEP 3: cancel races the piece); bounded. */
  readonly cancelled: Set<number>;
  /** Requests dropped in a row because the peer's queue with us was full (see isRequestFlood). */
  droppedRequests: number;
  amInterested: boolean;
  peerChoking: boolean;
  peerInterested: boolean;
  /** A have arrived: haveAll, haveNone or (from a peer without BEP 6) a bitfield now is a violation. */
  messageSeen: boolean;
  /** Bytes of accepted blocks since the last tick, and the smoothed rate in bytes per second. */
  bytesThisTick: number;
  rate: number;
  rateMeasured: boolean;
  /** Pipeline size we aim for: outstanding requests = target when the supervisor has blocks. */
  target: number;
  silentMs: number;
  sinceBlockMs: number;
  closeReason: CloseReason | undefined;
  // --- serving (the `upload` region) ---
  /** We choke the peer (BEP 3 am_choking); the upload region's state, kept here for the inspector. */
  amChoking: boolean;
  /** Valid requests from the peer not yet handed to storage, in arrival order; by reference. */
  readonly requestQueue: Map<number, BlockRef>;
  /** Requests handed to the torrent machine (peer.request), awaiting cmd.piece; at most readWindow. */
  readonly reading: Map<number, BlockRef>;
  /** The connection said its unsent bytes passed the high-water mark: hand nothing more to storage. */
  congested: boolean;
  // --- BEP 6, the Fast Extension (docs/machines.md, "Fast Extension") ---
  /** Both ends set the fast bit in their handshakes. */
  fast: boolean;
  /** Pieces we allow this peer while we choke it (from socket.connected), sent after our bitfield. */
  grantedFast: readonly number[];
  /** Bytes of granted pieces queued while we choke: at most grantedFast.length × pieceLength, then reject. */
  grantedBytes: number;
  /** Pieces the peer allows us while it chokes us (bounded by MAX_ALLOWED_FAST). */
  readonly allowedFast: number[];
  /** The peer's suggestions, newest last (bounded by MAX_SUGGESTED): recorded, not yet used by the picker. */
  readonly suggested: number[];
  /** Payload bytes sent since the last tick; smoothed rates (bytes/s) for the choker. */
  bytesSentThisTick: number;
  uploadRate: number;
  downloadRate: number;
  /** Interested and no block for this long (snub clock), and what we last reported. */
  sinceReceivedMs: number;
  lastRateReport: string;
}

/**
 * Hand queued requests to storage: never more than readWindow at once, none while congested or
 * choking (while we choke a fast peer the queue holds only requests for granted pieces).
 */
function nextReads(c: PeerContext): PeerReport[] {
  const out: PeerReport[] = [];
  if ((c.amChoking && !c.fast) || c.congested) return out;
  for (const [k, ref] of c.requestQueue) {
    if (c.reading.size >= c.limits.readWindow) break;
    c.requestQueue.delete(k);
    c.reading.set(k, ref);
    out.push({ type: 'peer.request', key: c.key, index: ref.index, begin: ref.begin, length: ref.length });
  }
  return out;
}

/** A `request` we must refuse, or undefined when it is one we can serve. */
export function requestProblem(
  c: Pick<PeerContext, 'pieceCount' | 'pieceLength' | 'totalLength' | 'ourBitfield'>,
  index: number,
  begin: number,
  length: number,
): RequestProblem | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= c.pieceCount) return 'indexOutOfRange';
  if (length === 0) return 'empty';
  if (length > MAX_BLOCK_LENGTH) return 'tooLong';
  const size = index === c.pieceCount - 1 ? c.totalLength - index * c.pieceLength : c.pieceLength;
  if (begin + length > size) return 'pastPieceEnd';
  if (!c.ourBitfield.has(index)) return 'notHave';
  return undefined;
}

/** target = clamp(ceil(rate × requestQueueSeconds / blockLength), minPipeline, maxPipeline). */
export function pipelineTarget(rate: number, l: PeerLimits): number {
  const t = Math.ceil((rate * l.requestQueueSeconds) / l.blockLength);
  return Math.min(l.maxPipeline, Math.max(l.minPipeline, t));
}

function room(c: PeerContext): number {
  if (!c.amInterested || (c.peerChoking && requestableAllowedFast(c).length === 0)) return 0;
  return Math.max(0, Math.min(c.target, c.limits.maxPipeline) - c.outstanding.size);
}

/** BEP 6: the pieces we may request while the peer chokes us: allowed fast ones it has. */
function requestableAllowedFast(c: Pick<PeerContext, 'fast' | 'allowedFast' | 'peerBitfield'>): number[] {
  if (!c.fast || c.allowedFast.length === 0) return [];
  return c.allowedFast.filter((i) => c.peerBitfield.has(i));
}

/** The ask for `count` more blocks; while choked, limited to the allowed fast pieces. */
function wantBlocks(c: PeerContext, count: number): PeerReport {
  if (!c.peerChoking) return { type: 'peer.wantBlocks', key: c.key, count };
  return { type: 'peer.wantBlocks', key: c.key, count, allowedFast: requestableAllowedFast(c) };
}

/** The answer a fast peer gets instead of silence (BEP 6: exactly one piece or reject per request). */
function reject(ref: BlockRef): ConnectionCommand {
  return {
    type: 'send',
    message: { type: 'reject', index: ref.index, begin: ref.begin, length: ref.length },
  };
}

/**
 * After a block, ask for more only once a quarter of the pipeline is free: one peer.wantBlocks, one
 * cmd.request and one socket write then carry many requests instead of one each (measured, issue #8:
 * per-block asks were two of the four machine events per block). The pipeline never falls below
 * three quarters of its target, and an empty one (room = target) always asks.
 */
export function askBatch(c: Pick<PeerContext, 'target' | 'limits'>): number {
  return Math.max(1, Math.floor(Math.min(c.target, c.limits.maxPipeline) / 4));
}

export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent,
    input: {} as PeerInput,
    output: {} as CloseReason,
    children: {} as { connection: 'connection' },
  },
  actors: {
    /** Provided by the world (src/net or test/sim); this placeholder fails the connection at once. */
    connection: fromCallback<ConnectionCommand, ConnectionInput>(({ sendBack }) => {
      sendBack({ type: 'socket.closed', error: 'no connection actor provided' });
    }),
  },
  delays: {
    connectTimeout: ({ context }) => context.timeouts.connect,
    handshakeTimeout: ({ context }) => context.timeouts.handshake,
    keepAliveInterval: ({ context }) => context.timeouts.keepAlive,
    tick: ({ context }) => context.timeouts.tick,
  },
  guards: {
    isOtherTorrent: ({ context, event }) =>
      event.type === 'wire.handshake' && !bytesEqual(event.infoHash, context.infoHash),
    isOurself: ({ context, event }) =>
      event.type === 'wire.handshake' && bytesEqual(event.peerId, context.peerId),
    isMessageSeen: ({ context }) => context.messageSeen,
    isBadBitfield: ({ context, event }) =>
      event.type === 'wire.bitfield' && !Bitfield.isWellFormed(context.pieceCount, event.bitfield),
    isHaveOutOfRange: ({ context, event }) =>
      event.type === 'wire.have' &&
      !(Number.isInteger(event.index) && event.index >= 0 && event.index < context.pieceCount),
    isUnrequestedBlock: ({ context, event }) =>
      event.type === 'wire.piece' &&
      !context.outstanding.has(blockKey(event.index, event.begin)) &&
      !context.cancelled.has(blockKey(event.index, event.begin)),
    // A copy of a block we cancelled or lost to a choke, and have not asked for again (when we have,
    // the copy is taken as the answer and the mark stays for the copy still to come).
    isCancelledBlock: ({ context, event }) =>
      event.type === 'wire.piece' &&
      !context.outstanding.has(blockKey(event.index, event.begin)) &&
      context.cancelled.has(blockKey(event.index, event.begin)),
    // A batch is judged as its blocks would be one by one (a copy of a block earlier in the same
    // batch counts as unrequested); any bad block closes the connection, the good ones are returned.
    isBadBlockBatch: ({ context, event }) =>
      event.type === 'wire.pieces' && badBlockOf(context, event.blocks) !== undefined,
    isWrongBlockLength: ({ context, event }) =>
      event.type === 'wire.piece' &&
      context.outstanding.get(blockKey(event.index, event.begin))?.length !== event.block.length,
    isPeerChoking: ({ context }) => context.peerChoking,
    // A fast peer asking for a piece we lack gets a reject (BEP 6, as libtorrent does), not a close.
    isBadRequest: ({ context, event }) => {
      if (event.type !== 'wire.request') return false;
      const why = requestProblem(context, event.index, event.begin, event.length);
      return why !== undefined && !(why === 'notHave' && context.fast);
    },
    // BEP 6: with the extension off, haveAll, haveNone, reject, allowedFast and suggest MUST close.
    isNotFast: ({ context }) => !context.fast,
    // BEP 6: a reject for a request never sent SHOULD close (a cancelled one may still be rejected).
    isUnrequestedReject: ({ context, event }) =>
      event.type === 'wire.reject' &&
      !context.outstanding.has(blockKey(event.index, event.begin)) &&
      !context.cancelled.has(blockKey(event.index, event.begin)),
    // A fast peer that chokes us keeps our requests (BEP 6) and should reject them; one that does
    // neither for timeouts.request gets them taken back (as a BEP 3 choke would), not a close.
    isStaleWhileChoked: ({ context }) =>
      context.fast &&
      context.peerChoking &&
      context.outstanding.size > 0 &&
      context.sinceBlockMs + context.timeouts.tick >= context.timeouts.request,
    isRequestFlood: ({ context, event }) =>
      event.type === 'wire.request' &&
      !context.amChoking &&
      !context.requestQueue.has(blockKey(event.index, event.begin)) &&
      !context.reading.has(blockKey(event.index, event.begin)) &&
      context.requestQueue.size + context.reading.size >= context.limits.maxPeerRequests &&
      context.droppedRequests + 1 >= context.limits.floodRequests,
    isSilentTooLong: ({ context }) => context.silentMs + context.timeouts.tick >= context.timeouts.idle,
    isSnubbing: ({ context }) =>
      context.outstanding.size > 0 &&
      context.sinceBlockMs + context.timeouts.tick >= context.timeouts.request,
  },
  actions: {
    closeWith: assign((_, params: CloseReason) => ({ closeReason: params })),
    closeFromEvent: assign(({ context, event }) => ({ closeReason: closeReasonOf(context, event) })),
    send: sendTo('connection', (_, params: ConnectionCommand) => params),
    noteConnected: assign(({ event }) =>
      event.type === 'socket.connected' && event.allowedFast !== undefined
        ? { grantedFast: event.allowedFast }
        : {},
    ),
    sendHandshake: sendTo('connection', ({ context }) => ({
      type: 'send' as const,
      message: {
        type: 'handshake' as const,
        reserved: ourReservedBytes(), // BEP 6: the fast bit
        infoHash: context.infoHash,
        peerId: context.peerId,
      },
    })),
    acceptHandshake: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.handshake') return;
      const fast = hasFastBit(event.reserved);
      enqueue.assign({ remotePeerId: event.peerId, fast });
      const report: PeerReport = {
        type: 'peer.handshaken',
        key: context.key,
        peerId: event.peerId,
        reserved: event.reserved.slice(), // the event's bytes are a view into the socket's chunk
        bitfield: context.peerBitfield,
        fast,
      };
      enqueue.sendParent(report);
      const send = (message: WireItem) => enqueue.sendTo('connection', { type: 'send', message });
      const have = context.ourBitfield.count;
      // BEP 6: a fast peer hears haveAll / haveNone instead of a full or empty bitfield. BEP 3: the
      // bitfield is optional, a peer with no pieces may skip it. The bytes are encoded synchronously.
      if (fast && have === context.pieceCount) send({ type: 'haveAll' });
      else if (fast && have === 0) send({ type: 'haveNone' });
      else if (have > 0) send({ type: 'bitfield', bitfield: context.ourBitfield.bytes });
      // BEP 6: the allowed fast set may be sent whether or not we have those pieces yet.
      if (fast) for (const index of context.grantedFast) send({ type: 'allowedFast', index });
    }),
    // Only a have makes a later bitfield a violation: aria2 1.36 sends interested and requests
    // before its bitfield, and bitfields again later — with BEP 6 after haveNone and haves too (seen
    // here); a later bitfield replaces the earlier one (the torrent machine swaps its availability).
    // Counters of the hot path are written in place, not through assign: an assign copies the whole
    // context (about forty fields) on every message (measured, issue #8: resolveAssign and the
    // garbage it left were a tenth of the main thread on a fast download).
    noteMessage: ({ context, event }) => {
      context.silentMs = 0;
      if (event.type === 'wire.have') context.messageSeen = true;
    },
    storeBitfield: enqueueActions(({ context, event, enqueue }) => {
      let bits: Bitfield | undefined;
      if (event.type === 'wire.bitfield') bits = new Bitfield(context.pieceCount, event.bitfield);
      else if (event.type === 'wire.haveAll') bits = Bitfield.full(context.pieceCount);
      if (bits === undefined || bits.count === 0) return;
      enqueue.assign({ peerBitfield: bits });
      enqueue.sendParent({ type: 'peer.bitfield', key: context.key, bitfield: bits } satisfies PeerReport);
    }),
    storeHave: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.have' || !context.peerBitfield.set(event.index)) return;
      enqueue.sendParent({ type: 'peer.have', key: context.key, index: event.index } satisfies PeerReport);
      // Choked, and an allowed fast piece became available: ask for it.
      if (context.peerChoking && context.allowedFast.includes(event.index)) {
        const n = room(context);
        if (n > 0) enqueue.sendParent(wantBlocks(context, n));
      }
    }),
    storeAllowedFast: enqueueActions(({ context, event, enqueue }) => {
      // BEP 6: we may request this piece while choked. Out of range or past the cap: ignored (a hint).
      if (event.type !== 'wire.allowedFast') return;
      const { index } = event;
      if (!Number.isInteger(index) || index < 0 || index >= context.pieceCount) return;
      if (context.allowedFast.includes(index) || context.allowedFast.length >= MAX_ALLOWED_FAST) return;
      context.allowedFast.push(index);
      if (context.peerChoking && context.peerBitfield.has(index)) {
        const n = room(context);
        if (n > 0) enqueue.sendParent(wantBlocks(context, n));
      }
    }),
    storeSuggest: ({ context, event }) => {
      // BEP 6 suggest is a hint: recorded (bounded, newest last) for the inspector; the picker keeps
      // its own order (rarest first), as libtorrent does unless the torrent is being super-seeded.
      if (event.type !== 'wire.suggest' || !(event.index >= 0 && event.index < context.pieceCount)) return;
      const at = context.suggested.indexOf(event.index);
      if (at >= 0) context.suggested.splice(at, 1);
      context.suggested.push(event.index);
      if (context.suggested.length > MAX_SUGGESTED) context.suggested.shift();
    },
    askForAllowedFast: enqueueActions(({ context, enqueue }) => {
      // Choked while interested: a fast peer's allowed fast pieces may still be requested (BEP 6).
      if (requestableAllowedFast(context).length === 0) return;
      const n = room(context);
      if (n > 0) enqueue.sendParent(wantBlocks(context, n));
    }),
    returnStale: enqueueActions(({ context, enqueue }) => {
      // isStaleWhileChoked: the fast peer neither served nor rejected them; a late copy is dropped.
      const returned = [...context.outstanding.values()];
      for (const k of context.outstanding.keys()) context.cancelled.add(k);
      context.outstanding.clear();
      for (const k of context.cancelled) {
        if (context.cancelled.size <= context.limits.maxPipeline) break;
        context.cancelled.delete(k);
      }
      enqueue.assign({ sinceBlockMs: 0 });
      enqueue.sendParent({ type: 'peer.returned', key: context.key, returned } satisfies PeerReport);
    }),
    acceptBlock: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.piece') return;
      context.outstanding.delete(blockKey(event.index, event.begin));
      context.bytesThisTick += event.block.length;
      context.sinceBlockMs = 0;
      const { key } = context;
      enqueue.sendParent({
        type: 'peer.block',
        key,
        index: event.index,
        begin: event.begin,
        block: event.block,
      });
      const n = room(context);
      if (n >= askBatch(context)) enqueue.sendParent(wantBlocks(context, n));
    }),
    acceptBlocks: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.pieces') return;
      // Validated by isBadBlockBatch: each block is outstanding or a cancelled copy to drop.
      const accepted: ReceivedBlock[] = [];
      for (const b of event.blocks) {
        const k = blockKey(b.index, b.begin);
        if (context.outstanding.delete(k)) {
          accepted.push(b);
          context.bytesThisTick += b.block.length;
        } else context.cancelled.delete(k);
      }
      if (accepted.length === 0) return;
      context.sinceBlockMs = 0;
      const { key } = context;
      enqueue.sendParent({ type: 'peer.blocks', key, blocks: accepted } satisfies PeerReport);
      const n = room(context);
      if (n >= askBatch(context)) enqueue.sendParent(wantBlocks(context, n));
    }),
    forgetCancelled: ({ context, event }) => {
      if (event.type === 'wire.piece') context.cancelled.delete(blockKey(event.index, event.begin));
    },
    sendRequests: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cmd.request') return;
      const returned: BlockRef[] = [];
      for (const b of event.blocks) {
        const k = blockKey(b.index, b.begin);
        // Choked: only an allowed fast piece (BEP 6). Never more than the cap, never a piece the
        // peer lacks, never twice: hand it back instead.
        const open =
          context.amInterested &&
          (!context.peerChoking || (context.fast && context.allowedFast.includes(b.index)));
        if (
          !open ||
          context.outstanding.size >= context.limits.maxPipeline ||
          !context.peerBitfield.has(b.index) ||
          context.outstanding.has(k)
        ) {
          returned.push(b);
          continue;
        }
        // A cancelled mark survives the new request: the old copy may still be on the wire.
        context.outstanding.set(k, b);
        enqueue.sendTo('connection', {
          type: 'send',
          message: { type: 'request', index: b.index, begin: b.begin, length: b.length },
        });
      }
      if (returned.length > 0)
        enqueue.sendParent({ type: 'peer.returned', key: context.key, returned } satisfies PeerReport);
    }),
    sendCancels: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cmd.cancel') return;
      for (const b of event.blocks) {
        const k = blockKey(b.index, b.begin);
        if (!context.outstanding.delete(k)) continue;
        context.cancelled.add(k);
        // Bounded: the oldest cancelled block is forgotten (a very late copy then closes as unrequested).
        if (context.cancelled.size > context.limits.maxPipeline)
          context.cancelled.delete(context.cancelled.values().next().value!);
        enqueue.sendTo('connection', {
          type: 'send',
          message: { type: 'cancel', index: b.index, begin: b.begin, length: b.length },
        });
      }
    }),
    handleReject: enqueueActions(({ context, event, enqueue }) => {
      // BEP 6: a rejected request is not coming: back to the supervisor for another peer (or this
      // one later). The answer to a request we cancelled only clears the mark.
      if (event.type !== 'wire.reject') return;
      const k = blockKey(event.index, event.begin);
      const ref = context.outstanding.get(k);
      if (ref === undefined) {
        context.cancelled.delete(k);
        return;
      }
      context.outstanding.delete(k);
      enqueue.sendParent({ type: 'peer.returned', key: context.key, returned: [ref] } satisfies PeerReport);
    }),
    sendHave: sendTo('connection', ({ event }) => ({
      type: 'send' as const,
      message: { type: 'have' as const, index: event.type === 'cmd.have' ? event.index : -1 },
    })),
    setInterested: assign((_, params: { interested: boolean }) => ({ amInterested: params.interested })),
    setPeerChoking: assign((_, params: { choking: boolean }) => ({ peerChoking: params.choking })),
    setPeerInterested: enqueueActions(({ context, enqueue }, params: { interested: boolean }) => {
      enqueue.assign({ peerInterested: params.interested });
      enqueue.sendParent({
        type: 'peer.interest',
        key: context.key,
        interested: params.interested,
      } satisfies PeerReport);
    }),
    returnOutstanding: enqueueActions(({ context, enqueue }) => {
      // BEP 6: a fast peer's choke discards nothing; each request still gets a piece or a reject
      // (isStaleWhileChoked is the backstop). The supervisor only hears that it is choked.
      if (context.fast) {
        enqueue.sendParent({ type: 'peer.choked', key: context.key, returned: [] } satisfies PeerReport);
        return;
      }
      // BEP 3: a choke discards every pending request; they go back to the supervisor for others.
      // A lenient peer may still send some: like cancelled blocks, they are dropped, not a violation.
      const returned = [...context.outstanding.values()];
      for (const k of context.outstanding.keys()) context.cancelled.add(k);
      context.outstanding.clear();
      for (const k of context.cancelled) {
        if (context.cancelled.size <= context.limits.maxPipeline) break;
        context.cancelled.delete(k);
      }
      enqueue.assign({ sinceBlockMs: 0 });
      enqueue.sendParent({ type: 'peer.choked', key: context.key, returned } satisfies PeerReport);
    }),
    askForBlocks: enqueueActions(({ context, enqueue }) => {
      enqueue.sendParent({ type: 'peer.unchoked', key: context.key } satisfies PeerReport);
      const n = room(context);
      if (n > 0) enqueue.sendParent(wantBlocks(context, n));
    }),
    measureRate: enqueueActions(({ context, enqueue }) => {
      const silentMs = context.silentMs + context.timeouts.tick;
      if (context.outstanding.size === 0 && context.bytesThisTick === 0) {
        enqueue.assign({ silentMs, sinceBlockMs: 0 });
        // Idle while requesting: ask again once a tick, in case blocks came free without a top-up.
        const idleRoom = room(context);
        if (idleRoom > 0) enqueue.sendParent(wantBlocks(context, idleRoom));
        return;
      }
      const sample = (context.bytesThisTick * 1000) / context.timeouts.tick;
      const rate = context.rateMeasured ? (context.rate + sample) / 2 : sample;
      const target = pipelineTarget(rate, context.limits);
      const sinceBlockMs = context.outstanding.size > 0 ? context.sinceBlockMs + context.timeouts.tick : 0;
      enqueue.assign({ silentMs, sinceBlockMs, rate, target, rateMeasured: true, bytesThisTick: 0 });
      const n = room({ ...context, target });
      if (n > 0) enqueue.sendParent(wantBlocks(context, n));
    }),
    queueRequest: enqueueActions(({ context, event, enqueue }) => {
      // BEP 3: a request while we choke is discarded (it may have crossed our choke on the wire).
      // BEP 6: a fast peer gets exactly one answer per request: a piece, or a reject when we choke
      // (unless the piece is one we granted it, within the grant's worth), lack the piece or are full.
      if (event.type !== 'wire.request') return;
      const ref: BlockRef = { index: event.index, begin: event.begin, length: event.length };
      if (context.amChoking) {
        if (!context.fast) return;
        const grant = context.grantedFast.length * context.pieceLength;
        if (!context.grantedFast.includes(ref.index) || context.grantedBytes + ref.length > grant) {
          enqueue.sendTo('connection', reject(ref));
          return;
        }
      }
      if (!context.ourBitfield.has(ref.index)) {
        enqueue.sendTo('connection', reject(ref)); // only a fast peer gets here (isBadRequest)
        return;
      }
      const k = blockKey(event.index, event.begin);
      if (context.requestQueue.has(k) || context.reading.has(k)) return; // a duplicate: one answer
      // Past our queue's cap a request is dropped (a fast peer's rejected), as Transmission and
      // libtorrent drop past theirs (a peer that pipelines deeper than we serve is not hostile);
      // only a flood closes (isRequestFlood).
      if (context.requestQueue.size + context.reading.size >= context.limits.maxPeerRequests) {
        enqueue.assign({ droppedRequests: context.droppedRequests + 1 });
        if (context.fast) enqueue.sendTo('connection', reject(ref));
        return;
      }
      if (context.amChoking) context.grantedBytes += ref.length;
      if (context.droppedRequests > 0) enqueue.assign({ droppedRequests: 0 });
      context.requestQueue.set(k, ref);
      for (const r of nextReads(context)) enqueue.sendParent(r);
    }),
    cancelRequest: enqueueActions(({ context, event, enqueue }) => {
      // BEP 3 cancel: drop it from the queue; one already being read is dropped when it comes back.
      // BEP 6: a fast peer still gets one answer for it: the reject.
      if (event.type !== 'wire.cancel') return;
      const k = blockKey(event.index, event.begin);
      const ref = context.requestQueue.get(k) ?? context.reading.get(k);
      context.requestQueue.delete(k);
      context.reading.delete(k);
      if (ref !== undefined && context.fast) enqueue.sendTo('connection', reject(ref));
    }),
    serveRequests: enqueueActions(({ context, enqueue }) => {
      for (const r of nextReads(context)) enqueue.sendParent(r);
    }),
    sendPiece: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cmd.piece') return;
      const k = blockKey(event.index, event.begin);
      // Cancelled or choked since it was asked for: not sent (BEP 3; a fast peer had its reject).
      if (!context.reading.delete(k) || (context.amChoking && !context.fast)) return;
      enqueue.sendTo('connection', {
        type: 'send',
        message: { type: 'piece', index: event.index, begin: event.begin, block: event.block },
      });
      context.bytesSentThisTick += event.block.length;
      for (const r of nextReads(context)) enqueue.sendParent(r);
    }),
    setAmChoking: enqueueActions(({ context, enqueue }, params: { choking: boolean }) => {
      // A choke discards every request the peer queued with us (BEP 3). BEP 6: a fast peer gets a
      // reject for each, queued or being read, except those for pieces we granted it (still served).
      if (params.choking) {
        for (const queue of [context.requestQueue, context.reading])
          for (const [k, ref] of queue) {
            if (context.fast && context.grantedFast.includes(ref.index)) continue;
            queue.delete(k);
            if (context.fast) enqueue.sendTo('connection', reject(ref));
          }
      }
      enqueue.assign({ amChoking: params.choking, grantedBytes: 0 });
    }),
    setCongested: assign((_, params: { congested: boolean }) => ({ congested: params.congested })),
    reportRates: enqueueActions(({ context, enqueue }) => {
      // Rates for the choker, smoothed every tick (EWMA α = ½), rounded so they settle at 0.
      const perSec = 1000 / context.timeouts.tick;
      const downloadRate = Math.floor((context.downloadRate + context.bytesThisTick * perSec) / 2);
      const uploadRate = Math.floor((context.uploadRate + context.bytesSentThisTick * perSec) / 2);
      const sinceReceivedMs =
        context.amInterested && context.bytesThisTick === 0
          ? context.sinceReceivedMs + context.timeouts.tick
          : 0;
      const snubbed = sinceReceivedMs >= context.timeouts.snub;
      const report = `${downloadRate}/${uploadRate}/${snubbed}`;
      enqueue.assign({
        downloadRate,
        uploadRate,
        sinceReceivedMs,
        bytesSentThisTick: 0,
        lastRateReport: report,
      });
      if (report !== context.lastRateReport)
        enqueue.sendParent({
          type: 'peer.rate',
          key: context.key,
          downloadRate,
          uploadRate,
          snubbed,
        } satisfies PeerReport);
    }),
    reportClosed: enqueueActions(({ context, enqueue }) => {
      const returned = [...context.outstanding.values()];
      context.outstanding.clear();
      context.requestQueue.clear();
      context.reading.clear();
      enqueue.sendTo('connection', { type: 'close' });
      const reason: CloseReason = context.closeReason ?? { reason: 'socketClosed' };
      enqueue.sendParent({ type: 'peer.closed', key: context.key, reason, returned } satisfies PeerReport);
    }),
  },
}).createMachine({
  id: 'peer',
  context: ({ input }) => ({
    key: input.key,
    infoHash: input.infoHash,
    peerId: input.peerId,
    pieceCount: input.pieceCount,
    pieceLength: input.pieceLength,
    totalLength: input.totalLength,
    address: input.address,
    direction: input.direction,
    handle: input.handle,
    timeouts: { ...DEFAULT_PEER_TIMEOUTS, ...input.timeouts },
    limits: { ...DEFAULT_PEER_LIMITS, ...input.limits },
    ourBitfield: input.ourBitfield,
    peerBitfield: new Bitfield(input.pieceCount),
    remotePeerId: undefined,
    outstanding: new Map(),
    cancelled: new Set(),
    droppedRequests: 0,
    amInterested: false,
    peerChoking: true,
    peerInterested: false,
    messageSeen: false,
    bytesThisTick: 0,
    rate: 0,
    rateMeasured: false,
    target: Math.min(
      input.limits?.initialPipeline ?? DEFAULT_PEER_LIMITS.initialPipeline,
      input.limits?.maxPipeline ?? DEFAULT_PEER_LIMITS.maxPipeline,
    ),
    silentMs: 0,
    sinceBlockMs: 0,
    closeReason: undefined,
    amChoking: true,
    requestQueue: new Map(),
    reading: new Map(),
    congested: false,
    fast: false,
    grantedFast: [],
    grantedBytes: 0,
    allowedFast: [],
    suggested: [],
    bytesSentThisTick: 0,
    uploadRate: 0,
    downloadRate: 0,
    sinceReceivedMs: 0,
    lastRateReport: '0/0/false',
  }),
  invoke: {
    id: 'connection',
    src: 'connection',
    input: ({ context }) => ({
      address: context.address,
      direction: context.direction,
      handle: context.handle,
      infoHash: context.infoHash,
      pieceCount: context.pieceCount,
    }),
  },
  // The machine's output is its final state's output (XState v5 needs the root to pass it on).
  output: ({ event }) => event.output as CloseReason,
  initial: 'connecting',
  on: {
    'socket.closed': { target: '.closed', actions: 'closeFromEvent' },
    'cmd.close': { target: '.closed', actions: 'closeFromEvent' },
  },
  states: {
    connecting: {
      on: { 'socket.connected': { target: 'handshaking', actions: 'noteConnected' } },
      after: {
        connectTimeout: {
          target: 'closed',
          actions: { type: 'closeWith', params: { reason: 'connectTimeout' } },
        },
      },
    },
    handshaking: {
      entry: 'sendHandshake',
      on: {
        'wire.handshake': [
          {
            guard: 'isOtherTorrent',
            target: 'closed',
            actions: { type: 'closeWith', params: { reason: 'infoHashMismatch' } },
          },
          {
            guard: 'isOurself',
            target: 'closed',
            actions: { type: 'closeWith', params: { reason: 'connectedToSelf' } },
          },
          { target: 'connected', actions: 'acceptHandshake' },
        ],
        'wire.error': { target: 'closed', actions: 'closeFromEvent' },
      },
      after: {
        handshakeTimeout: {
          target: 'closed',
          actions: { type: 'closeWith', params: { reason: 'handshakeTimeout' } },
        },
      },
    },
    connected: {
      type: 'parallel',
      on: {
        'cmd.request': { actions: 'sendRequests' },
        'cmd.cancel': { actions: 'sendCancels' },
        'cmd.have': { actions: 'sendHave' },
        'cmd.piece': { actions: 'sendPiece' },
        'socket.congested': { actions: { type: 'setCongested', params: { congested: true } } },
        'socket.drained': {
          actions: [{ type: 'setCongested', params: { congested: false } }, 'serveRequests'],
        },
      },
      states: {
        download: {
          initial: 'notInterested',
          states: {
            notInterested: {
              on: {
                'cmd.interested': {
                  target: 'interested',
                  actions: [
                    { type: 'setInterested', params: { interested: true } },
                    { type: 'send', params: { type: 'send', message: { type: 'interested' } } },
                  ],
                },
                'wire.choke': {
                  actions: [{ type: 'setPeerChoking', params: { choking: true } }, 'returnOutstanding'],
                },
                'wire.unchoke': { actions: { type: 'setPeerChoking', params: { choking: false } } },
              },
            },
            interested: {
              initial: 'deciding',
              on: {
                'cmd.notInterested': {
                  target: 'notInterested',
                  actions: [
                    { type: 'setInterested', params: { interested: false } },
                    { type: 'send', params: { type: 'send', message: { type: 'notInterested' } } },
                  ],
                },
              },
              states: {
                deciding: {
                  always: [{ guard: 'isPeerChoking', target: 'choked' }, { target: 'requesting' }],
                },
                choked: {
                  entry: 'askForAllowedFast',
                  on: {
                    'wire.unchoke': {
                      target: 'requesting',
                      actions: { type: 'setPeerChoking', params: { choking: false } },
                    },
                    'wire.choke': {},
                  },
                },
                requesting: {
                  entry: 'askForBlocks',
                  on: {
                    'wire.choke': {
                      target: 'choked',
                      actions: [{ type: 'setPeerChoking', params: { choking: true } }, 'returnOutstanding'],
                    },
                    'wire.unchoke': {},
                  },
                },
              },
            },
          },
        },
        upload: {
          // Serving: the choker (through the torrent machine) unchokes; requests are validated in
          // `inbox`, queued here (bounded by maxPeerRequests), read through the torrent machine
          // (peer.request → cmd.piece, at most readWindow at once) and paused while congested.
          initial: 'choking',
          on: {
            'wire.interested': { actions: { type: 'setPeerInterested', params: { interested: true } } },
            'wire.notInterested': { actions: { type: 'setPeerInterested', params: { interested: false } } },
          },
          states: {
            choking: {
              on: {
                'cmd.unchoke': {
                  target: 'unchoked',
                  actions: [
                    { type: 'setAmChoking', params: { choking: false } },
                    { type: 'send', params: { type: 'send', message: { type: 'unchoke' } } },
                  ],
                },
              },
            },
            unchoked: {
              on: {
                'cmd.choke': {
                  target: 'choking',
                  actions: [
                    { type: 'setAmChoking', params: { choking: true } },
                    { type: 'send', params: { type: 'send', message: { type: 'choke' } } },
                  ],
                },
              },
            },
          },
        },
        keepAlive: {
          initial: 'waiting',
          states: {
            waiting: {
              after: {
                keepAliveInterval: {
                  target: 'waiting',
                  reenter: true,
                  actions: { type: 'send', params: { type: 'send', message: { type: 'keepAlive' } } },
                },
              },
            },
          },
        },
        inbox: {
          // Every message from the peer: validated here (one handler per event), and any message
          // at all resets the silence clock; the tick measures the rate and checks the timeouts.
          initial: 'watching',
          on: {
            'wire.bitfield': [
              {
                // aria2 1.36 with BEP 6 sends haveNone, haves, then a bitfield (seen here): from a
                // fast peer a later bitfield replaces the earlier one.
                guard: and(['isMessageSeen', 'isNotFast']),
                target: '#peer.closed',
                actions: { type: 'closeWith', params: { reason: 'bitfieldNotFirst' } },
              },
              { guard: 'isBadBitfield', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'storeBitfield'] },
            ],
            'wire.haveAll': [
              { guard: 'isNotFast', target: '#peer.closed', actions: 'closeFromEvent' },
              {
                guard: 'isMessageSeen',
                target: '#peer.closed',
                actions: { type: 'closeWith', params: { reason: 'bitfieldNotFirst' } },
              },
              { actions: ['noteMessage', 'storeBitfield'] },
            ],
            'wire.haveNone': [
              { guard: 'isNotFast', target: '#peer.closed', actions: 'closeFromEvent' },
              {
                guard: 'isMessageSeen',
                target: '#peer.closed',
                actions: { type: 'closeWith', params: { reason: 'bitfieldNotFirst' } },
              },
              { actions: 'noteMessage' },
            ],
            'wire.have': [
              { guard: 'isHaveOutOfRange', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'storeHave'] },
            ],
            'wire.piece': [
              { guard: 'isUnrequestedBlock', target: '#peer.closed', actions: 'closeFromEvent' },
              { guard: 'isCancelledBlock', actions: ['noteMessage', 'forgetCancelled'] },
              { guard: 'isWrongBlockLength', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'acceptBlock'] },
            ],
            'wire.pieces': [
              { guard: 'isBadBlockBatch', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'acceptBlocks'] },
            ],
            'wire.reject': [
              { guard: 'isNotFast', target: '#peer.closed', actions: 'closeFromEvent' },
              { guard: 'isUnrequestedReject', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'handleReject'] },
            ],
            'wire.allowedFast': [
              { guard: 'isNotFast', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'storeAllowedFast'] },
            ],
            'wire.suggest': [
              { guard: 'isNotFast', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'storeSuggest'] },
            ],
            'wire.request': [
              { guard: 'isBadRequest', target: '#peer.closed', actions: 'closeFromEvent' },
              { guard: 'isRequestFlood', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'queueRequest'] },
            ],
            'wire.cancel': { actions: ['noteMessage', 'cancelRequest'] },
            'wire.error': { target: '#peer.closed', actions: 'closeFromEvent' },
            'wire.*': { actions: 'noteMessage' },
          },
          states: {
            watching: {
              after: {
                tick: [
                  { guard: 'isSilentTooLong', target: '#peer.closed', actions: 'closeFromEvent' },
                  {
                    guard: 'isStaleWhileChoked',
                    target: 'watching',
                    reenter: true,
                    actions: ['returnStale', 'reportRates', 'measureRate'],
                  },
                  { guard: 'isSnubbing', target: '#peer.closed', actions: 'closeFromEvent' },
                  { target: 'watching', reenter: true, actions: ['reportRates', 'measureRate'] },
                ],
              },
            },
          },
        },
      },
    },
    closed: {
      type: 'final',
      entry: 'reportClosed',
      output: ({ context }) => context.closeReason ?? { reason: 'socketClosed' },
    },
  },
});

/** The CloseReason for an event that closes the connection (the numbers that explain it included). */
function closeReasonOf(c: PeerContext, e: PeerEvent | { type: string }): CloseReason {
  const ev = e as PeerEvent;
  switch (ev.type) {
    case 'socket.closed':
      return ev.error === undefined
        ? { reason: 'socketClosed' }
        : { reason: 'socketError', message: ev.error };
    case 'cmd.close':
      return ev.reason;
    case 'wire.error':
      return { reason: 'wireError', code: ev.code, message: ev.message };
    case 'wire.bitfield':
      return { reason: 'badBitfield', length: ev.bitfield.length, expected: Math.ceil(c.pieceCount / 8) };
    case 'wire.have':
      return { reason: 'haveOutOfRange', index: ev.index, pieceCount: c.pieceCount };
    case 'wire.haveAll':
    case 'wire.haveNone':
    case 'wire.allowedFast':
    case 'wire.suggest':
      return { reason: 'fastNotNegotiated', message: ev.type.slice('wire.'.length) };
    case 'wire.reject':
      if (!c.fast) return { reason: 'fastNotNegotiated', message: 'reject' };
      return { reason: 'unrequestedReject', index: ev.index, begin: ev.begin, length: ev.length };
    case 'wire.request': {
      const why = requestProblem(c, ev.index, ev.begin, ev.length);
      if (why === undefined)
        return {
          reason: 'requestFlood',
          queued: c.requestQueue.size + c.reading.size + 1,
          limit: c.limits.maxPeerRequests,
        };
      return { reason: 'badRequest', index: ev.index, begin: ev.begin, length: ev.length, why };
    }
    case 'wire.pieces':
      return badBlockOf(c, ev.blocks) ?? { reason: 'socketClosed' };
    case 'wire.piece': {
      const ref = c.outstanding.get(blockKey(ev.index, ev.begin));
      if (ref === undefined)
        return { reason: 'unrequestedBlock', index: ev.index, begin: ev.begin, length: ev.block.length };
      return {
        reason: 'wrongBlockLength',
        index: ev.index,
        begin: ev.begin,
        expected: ref.length,
        received: ev.block.length,
      };
    }
    default:
      // Timer transitions: whichever limit tripped.
      if (c.silentMs + c.timeouts.tick >= c.timeouts.idle)
        return { reason: 'keepAliveTimeout', silentMs: c.silentMs + c.timeouts.tick };
      return {
        reason: 'requestTimeout',
        waitedMs: c.sinceBlockMs + c.timeouts.tick,
        outstanding: c.outstanding.size,
      };
  }
}

/** The CloseReason of the first block of a batch that would close the connection on its own, if any. */
function badBlockOf(
  c: Pick<PeerContext, 'outstanding' | 'cancelled'>,
  blocks: readonly ReceivedBlock[],
): CloseReason | undefined {
  const taken: number[] = []; // outstanding keys answered earlier in this batch
  const forgotten: number[] = []; // cancelled marks used up earlier in this batch
  for (const b of blocks) {
    const k = blockKey(b.index, b.begin);
    const ref = taken.includes(k) ? undefined : c.outstanding.get(k);
    if (ref !== undefined) {
      if (ref.length !== b.block.length)
        return {
          reason: 'wrongBlockLength',
          index: b.index,
          begin: b.begin,
          expected: ref.length,
          received: b.block.length,
        };
      taken.push(k);
    } else if (c.cancelled.has(k) && !forgotten.includes(k)) forgotten.push(k);
    else return { reason: 'unrequestedBlock', index: b.index, begin: b.begin, length: b.block.length };
  }
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
