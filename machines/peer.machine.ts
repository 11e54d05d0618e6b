/**
 * One peer connection (BEP 3): connect, handshake, then four independent flags — our interest and
 * their choke (the `download` region, "requesting" where interested meets unchoked), our choke and
 * their interest (`upload`) — plus two timer regions, until `closed` with a typed CloseReason.
 * Bytes come and go through the invoked `connection` actor (TCP in src/net, in-memory in test/sim).
 * See docs/machines.md for the states, invariants, flows and the pipelining formula.
 */
import { and, assign, enqueueActions, fromCallback, fromPromise, sendTo, setup } from 'xstate';
import type { BlockLayerAnswer, BlockLayerRead } from '../src/metainfo/merkle-proof.js';
import { Bitfield } from '../src/picker/bitfield.js';
import type { WireItem } from '../src/wire/messages.js';
import { hasExtensionBit, hasFastBit, ourReservedBytes } from '../src/wire/reserved-bits.js';
import {
  blockKey,
  type CloseReason,
  type ConnectionCommand,
  type ConnectionInput,
  type PeerEvent,
  type PeerInput,
  type PeerReport,
} from './peer.types.js';
import { badBlockOf, closeReasonOf } from './peer-close-reason.js';
import { initialPeerContext, isPieceIndex, type PeerContext, type PeerEffects } from './peer-context.js';
import {
  acceptedListenPort,
  acceptedReqq,
  extensionHandshake,
  peerUploadOnlyAfter,
  uploadOnlyNews,
} from './peer-extension.js';
import { handleReject, returnStale, storeAllowedFast, storeSuggest } from './peer-fast.js';
import { acceptsInfoHash, answersPeerHash, bytesEqual, openingMessages } from './peer-handshake.js';
import { answerHashRequest, blockHashesId, blockLayerMessage, isHashRequestFlood } from './peer-hashes.js';
import { isMetadataFlood, metadataAnswer } from './peer-metadata.js';
import { acceptedUtPex, pexMessage } from './peer-pex.js';
import { requestableAllowedFast, room, wantBlocks } from './peer-pipeline.js';
import { measureRate, reportRates } from './peer-rates.js';
import { requestBatchProblem, requestFate } from './peer-request-fate.js';
import {
  acceptBlock,
  acceptBlocks,
  returnOutstanding,
  sendCancels,
  sendRequests,
} from './peer-requesting.js';
import {
  blocksServed,
  cancelRequest,
  queueRequest,
  queueRequests,
  serveNext,
  setAmChoking,
} from './peer-serving.js';

/** A block-layer read's end (BEP 52, machines/peer-hashes.ts): its answer, or a read that threw. */
type BlockHashesEvent =
  | { type: 'xstate.done.actor.blockHashes.0' | 'xstate.done.actor.blockHashes.1'; output: BlockLayerAnswer }
  | { type: 'xstate.error.actor.blockHashes.0' | 'xstate.error.actor.blockHashes.1'; error: unknown };

/**
 * BEP 21: the peer's upload only, kept, and reported to the torrent machine when it changed (the
 * choker leaves an upload-only peer choked; the address book remembers it). Cleared, it counts in
 * the interest bucket (isInterestFlood): the choker may unchoke the peer at once, as when it
 * becomes interested.
 */
function notePeerUploadOnly(
  context: PeerContext,
  peerUploadOnly: boolean,
  enqueue: { assign(patch: Partial<PeerContext>): void; sendParent(report: PeerReport): void },
): void {
  if (peerUploadOnly === context.peerUploadOnly) return;
  enqueue.assign(
    peerUploadOnly ? { peerUploadOnly } : { peerUploadOnly, recentInterest: context.recentInterest + 1 },
  );
  enqueue.sendParent({ type: 'peer.uploadOnly', key: context.key, uploadOnly: peerUploadOnly });
}

/** Our handshake, carrying `infoHash`: BEP 10 and BEP 6 bits, and BEP 52's for a v2 torrent or a hybrid whose piece layers we serve or fetch. */
function ourHandshake(context: PeerContext, infoHash: Uint8Array): WireItem {
  return {
    type: 'handshake',
    reserved: ourReservedBytes(context.pieceLayerTrees !== undefined || context.fetchesLayers),
    infoHash,
    peerId: context.peerId,
  };
}

/** The effects of an action body (PeerEffects), bound to its enqueue: in order, as it calls them. */
function effects(enqueue: {
  sendTo(to: 'connection', command: ConnectionCommand): void;
  sendParent(report: PeerReport): void;
  assign(patch: Partial<PeerContext>): void;
}): PeerEffects {
  return {
    send: (command) => enqueue.sendTo('connection', command),
    report: (report) => enqueue.sendParent(report),
    assign: (patch) => enqueue.assign(patch),
  };
}

export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent | BlockHashesEvent,
    input: {} as PeerInput,
    output: {} as CloseReason,
    children: {} as {
      connection: 'connection';
      'blockHashes.0': 'blockHashes';
      'blockHashes.1': 'blockHashes';
    },
  },
  actors: {
    /** Provided by the world (src/net or test/sim); this placeholder fails the connection at once. */
    connection: fromCallback<ConnectionCommand, ConnectionInput>(({ sendBack }) => {
      sendBack({ type: 'socket.closed', error: 'no connection actor provided' });
    }),
    /**
     * BEP 52: a block-layer hash request's pieces read back and hashed (machines/peer-hashes.ts),
     * provided by the session (src/storage/block-layer-hashes.ts); this placeholder has no disk:
     * the request is rejected.
     */
    blockHashes: fromPromise<BlockLayerAnswer, BlockLayerRead>(async ({ input }) => ({
      range: input.range,
      hashes: undefined,
    })),
  },
  delays: {
    connectTimeout: ({ context }) => context.timeouts.connect,
    handshakeTimeout: ({ context }) => context.timeouts.handshake,
    keepAliveInterval: ({ context }) => context.timeouts.keepAlive,
    tick: ({ context }) => context.timeouts.tick,
  },
  guards: {
    isOtherTorrent: ({ context, event }) =>
      event.type === 'wire.handshake' && !acceptsInfoHash(context, event.infoHash),
    isOurself: ({ context, event }) =>
      event.type === 'wire.handshake' && bytesEqual(event.peerId, context.peerId),
    isMessageSeen: ({ context }) => context.messageSeen,
    isBadBitfield: ({ context, event }) =>
      event.type === 'wire.bitfield' && !Bitfield.isWellFormed(context.pieceCount, event.bitfield),
    isHaveOutOfRange: ({ context, event }) =>
      (event.type === 'wire.have' && !isPieceIndex(context, event.index)) ||
      (event.type === 'wire.haves' && event.indices.some((i) => !isPieceIndex(context, i))),
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
    // An unchoke past the bucket (limits.unchokeBurst, one leaking per tick): the peer is flapping.
    isUnchokeFlood: ({ context }) =>
      context.peerChoking && context.recentUnchokes + 1 > context.limits.unchokeBurst,
    // The same for interest: each time a peer becomes interested the choker may unchoke it at once.
    isInterestFlood: ({ context }) =>
      !context.peerInterested && context.recentInterest + 1 > context.limits.interestBurst,
    // The same bucket for BEP 21: an upload-only peer saying it downloads again may be unchoked at once.
    isUploadOnlyFlood: ({ context, event }) =>
      event.type === 'wire.uploadOnly' &&
      !event.uploadOnly &&
      context.peerUploadOnly &&
      context.recentInterest + 1 > context.limits.interestBurst,
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
    // BEP 21: this handshake or upload_only message makes both ends upload only (both seeds, or
    // partial seeds that want nothing more): nothing can flow either way, and the connection is
    // closed (`notNeeded`), as libtorrent closes an upload_upload_connection.
    isUploadOnlyPairAfter: ({ context, event }) =>
      (event.type === 'wire.extendedHandshake' || event.type === 'wire.uploadOnly') &&
      context.uploadOnly &&
      peerUploadOnlyAfter(context, event),
    // BEP 21: we become upload only while the peer is.
    isPeerUploadOnly: ({ context }) => context.peerUploadOnly,
    isMetadataFlood: ({ context }) => isMetadataFlood(context),
    isHashRequestFlood: ({ context }) => isHashRequestFlood(context),
    // A request's fate is decided once (requestFate, peer-request-fate.ts): this guard, queueRequest
    // and the close reason all read it. A bad request (badRequest), a flood past a full queue
    // (requestFlood) or too many while we choke (requestsWhileChoked) close; a fast peer asking for
    // a piece we lack gets a reject (BEP 6, as libtorrent does), not a close.
    isClosingRequest: ({ context, event }) =>
      event.type === 'wire.request' && requestFate(context, event).fate === 'closed',
    // A batch closes as its requests would one by one (requestBatchProblem plays their fates through).
    isClosingRequestBatch: ({ context, event }) =>
      event.type === 'wire.requests' && requestBatchProblem(context, event.requests) !== undefined,
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
    // At once, but for an accepted connection of a hybrid: that one is answered in acceptHandshake.
    sendHandshake: enqueueActions(({ context, enqueue }) => {
      if (answersPeerHash(context)) return;
      enqueue.sendTo('connection', { type: 'send', message: ourHandshake(context, context.infoHash) });
    }),
    acceptHandshake: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.handshake') return;
      // A hybrid's accepted connection: our handshake now, with the hash the peer used (BEP 52).
      if (answersPeerHash(context))
        enqueue.sendTo('connection', { type: 'send', message: ourHandshake(context, event.infoHash) });
      const fast = hasFastBit(event.reserved);
      const extensions = hasExtensionBit(event.reserved);
      const encryption = event.encryption ?? 'none';
      const transport = event.transport ?? 'tcp';
      // The allowed fast set over that hash, when the connection could only compute it now.
      const grantedFast = event.allowedFast ?? context.grantedFast;
      enqueue.assign({ remotePeerId: event.peerId, fast, extensions, encryption, transport, grantedFast });
      const report: PeerReport = {
        type: 'peer.handshaken',
        key: context.key,
        peerId: event.peerId,
        reserved: event.reserved.slice(), // the event's bytes are a view into the socket's chunk
        bitfield: context.peerBitfield,
        fast,
        encryption,
        transport,
        // A hybrid: the swarm this connection is in, the hash the peer's handshake named (a copy:
        // the event's bytes are a view) — for a dial, ours, or the v2 one when the peer took our
        // v1 dial as a v2 connection (libtorrent's upgrade, with BEP 52's bit on both ends).
        ...(context.otherInfoHash === undefined ? {} : { infoHash: event.infoHash.slice() }),
      };
      enqueue.sendParent(report);
      // Our pieces, then (BEP 6) the pieces we allow a fast peer: openingMessages.
      for (const message of openingMessages({ ...context, grantedFast }, fast))
        enqueue.sendTo('connection', { type: 'send', message });
      // BEP 10: the extension handshake may follow the handshake at any time; like libtorrent we
      // send it at once, so the peer learns our reqq before it fills its pipeline.
      if (extensions) {
        enqueue.sendTo('connection', { type: 'send', message: extensionHandshake(context) });
        enqueue.assign({ uploadOnlySent: context.uploadOnly });
      }
    }),
    // BEP 10: the peer's reqq caps our pipeline to it (pipelineCap); a missing or bad one changes
    // nothing. An incoming peer's `p` tells the torrent machine where it can be dialled (an
    // outgoing peer's we dialled already).
    // BEP 9: a piece of the metadata, or a reject (machines/peer-metadata.ts). The count is written
    // in place, as the other counters of noteMessage are.
    answerMetadataRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.metadataRequest') return;
      context.metadataRequests++;
      const message = metadataAnswer(context, event.piece);
      if (message !== undefined) enqueue.sendTo('connection', { type: 'send', message });
    }),
    // BEP 52: the hashes asked for, or a hash reject (machines/peer-hashes.ts); counted in place. A
    // block-layer request is answered once its pieces are read back and hashed (`blockHashes`).
    answerHashRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.hashRequest') return;
      context.hashRequests++;
      const answer = answerHashRequest(context, event);
      if (answer.kind === 'send') {
        enqueue.sendTo('connection', { type: 'send', message: answer.message });
        return;
      }
      context.blockHashReads |= 1 << answer.slot;
      context.blockHashReadCount++;
      enqueue.spawnChild('blockHashes', {
        id: blockHashesId(answer.slot) as 'blockHashes.0',
        input: answer.read,
      });
    }),
    // BEP 52, a hybrid fetched by magnet fetching its piece layers (machines/torrent-piece-layers.ts):
    // our hash request goes out; the answers go to the torrent machine, `hashes` with the run the
    // connection found proved (a root copied: the event's is a view into the receive buffer).
    sendHashRequest: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'cmd.hashRequest') return;
      enqueue.sendTo('connection', { type: 'send', message: { type: 'hashRequest', ...event.range } });
    }),
    forwardHashes: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.hashes' && event.type !== 'wire.hashReject') return;
      const range = {
        piecesRoot: event.piecesRoot.slice(),
        baseLayer: event.baseLayer,
        index: event.index,
        length: event.length,
        proofLayers: event.proofLayers,
      };
      enqueue.sendParent(
        event.type === 'wire.hashes'
          ? ({ type: 'peer.hashes', key: context.key, range, proved: event.proved } satisfies PeerReport)
          : ({ type: 'peer.hashReject', key: context.key, range } satisfies PeerReport),
      );
    }),
    // The read of a block-layer request ended: its slot is free, its answer sent (hashes, or a
    // reject when the disk did not give the piece-layer hash back).
    sendBlockHashes: enqueueActions(({ context, event, enqueue }, params: { slot: number }) => {
      context.blockHashReads &= ~(1 << params.slot);
      if (!event.type.startsWith('xstate.done.actor.')) return;
      const { range, hashes } = (event as { output: BlockLayerAnswer }).output;
      enqueue.sendTo('connection', { type: 'send', message: blockLayerMessage(range, hashes) });
    }),
    storeExtensionHandshake: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.extendedHandshake') return;
      const reqq = acceptedReqq(event.reqq);
      if (reqq !== undefined) enqueue.assign({ peerReqq: reqq });
      if (event.utMetadata !== undefined) enqueue.assign({ peerUtMetadata: event.utMetadata });
      // BEP 11: the torrent machine hears that this peer takes ut_pex. A handshake sent again may
      // move it to another id, used from then on, or turn it off with 0 (BEP 10): nothing is sent
      // to it then, though the torrent machine keeps its turn; turned on again, the torrent machine
      // hears it again and tells it of every peer afresh (torrent-pex.ts pexSupported).
      // Its listening port first: the first ut_pex message goes as pexSupported arrives, and must
      // know which address is the recipient's own, never to be named to it.
      const port = acceptedListenPort(event.listenPort);
      if (port !== undefined && context.direction === 'incoming')
        enqueue.sendParent({ type: 'peer.listening', key: context.key, port } satisfies PeerReport);
      const utPex = context.pex ? acceptedUtPex(event.utPex) : undefined;
      if (utPex !== undefined) {
        if (context.peerUtPex === undefined)
          enqueue.sendParent({ type: 'peer.pexSupported', key: context.key } satisfies PeerReport);
        enqueue.assign({ peerUtPex: utPex });
      } else if (event.utPex === 0) enqueue.assign({ peerUtPex: undefined });
      // BEP 21: where the peer takes libtorrent's upload_only message (0: nowhere any more), and
      // whether it will download from us; the message it is owed once it named the message.
      let peerUploadOnlyId = context.peerUploadOnlyId;
      if (event.uploadOnlyId !== undefined) {
        peerUploadOnlyId = event.uploadOnlyId === 0 ? undefined : event.uploadOnlyId;
        enqueue.assign({ peerUploadOnlyId });
      }
      notePeerUploadOnly(context, peerUploadOnlyAfter(context, event), enqueue);
      const news = uploadOnlyNews({ ...context, peerUploadOnlyId });
      if (news !== undefined) {
        enqueue.sendTo('connection', { type: 'send', message: news });
        enqueue.assign({ uploadOnlySent: context.uploadOnly });
      }
    }),
    // BEP 21: libtorrent's upload_only message: the peer will (not) download from us any more.
    storePeerUploadOnly: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.uploadOnly')
        notePeerUploadOnly(context, peerUploadOnlyAfter(context, event), enqueue);
    }),
    // BEP 21: we will not download any more; the peer hears it if it takes upload_only messages
    // (otherwise our extension handshake, if not sent yet, says it).
    becomeUploadOnly: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ uploadOnly: true });
      const news = uploadOnlyNews({ ...context, uploadOnly: true });
      if (news === undefined) return;
      enqueue.sendTo('connection', { type: 'send', message: news });
      enqueue.assign({ uploadOnlySent: true });
    }),
    // BEP 11: the peers a ut_pex message added go to the torrent machine, which queues them (and
    // ignores a peer sending too often); with PEX off we announced no ut_pex: nothing is taken.
    forwardPex: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.pex' || !context.pex) return;
      if (event.added.length === 0 && event.dropped.length === 0) return;
      const { added, dropped } = event;
      enqueue.sendParent({ type: 'peer.pex', key: context.key, added, dropped } satisfies PeerReport);
    }),
    sendPex: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cmd.pex') return;
      const message = pexMessage(context, event.added, event.dropped);
      if (message !== undefined) enqueue.sendTo('connection', { type: 'send', message });
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
      if (event.type !== 'wire.have' && event.type !== 'wire.haves') return;
      let allowedFastCame = false;
      for (const index of event.type === 'wire.have' ? [event.index] : event.indices) {
        if (!context.peerBitfield.set(index)) continue; // a piece it had: nothing new
        enqueue.sendParent({ type: 'peer.have', key: context.key, index } satisfies PeerReport);
        if (context.allowedFast.includes(index)) allowedFastCame = true;
      }
      // Choked, and an allowed fast piece became available: ask for it.
      if (allowedFastCame && context.peerChoking) {
        const n = room(context);
        if (n > 0) enqueue.sendParent(wantBlocks(context, n));
      }
    }),
    storeAllowedFast: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.allowedFast') storeAllowedFast(context, event, effects(enqueue));
    }),
    storeSuggest: ({ context, event }) => {
      if (event.type === 'wire.suggest') storeSuggest(context, event);
    },
    askForAllowedFast: enqueueActions(({ context, enqueue }) => {
      // Choked while interested: a fast peer's allowed fast pieces may still be requested (BEP 6).
      if (requestableAllowedFast(context).length === 0) return;
      const n = room(context);
      if (n > 0) enqueue.sendParent(wantBlocks(context, n));
    }),
    returnStale: enqueueActions(({ context, enqueue }) => returnStale(context, effects(enqueue))),
    acceptBlock: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.piece') acceptBlock(context, event, effects(enqueue));
    }),
    acceptBlocks: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.pieces') acceptBlocks(context, event, effects(enqueue));
    }),
    forgetCancelled: ({ context, event }) => {
      if (event.type === 'wire.piece') context.cancelled.delete(blockKey(event.index, event.begin));
    },
    sendRequests: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'cmd.request') sendRequests(context, event, effects(enqueue));
    }),
    sendCancels: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'cmd.cancel') sendCancels(context, event, effects(enqueue));
    }),
    handleReject: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.reject') handleReject(context, event, effects(enqueue));
    }),
    sendHave: sendTo('connection', ({ event }) => ({
      type: 'send' as const,
      message: { type: 'have' as const, index: event.type === 'cmd.have' ? event.index : -1 },
    })),
    // BEP 16: a piece shown to the peer with `have`, which it may request from now on (announced).
    sendReveal: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cmd.reveal') return;
      enqueue.assign({ revealed: event.revealed });
      context.announced?.set(event.index); // made once, changed in place (peer-context.ts)
      enqueue.sendTo('connection', { type: 'send', message: { type: 'have', index: event.index } });
    }),
    setInterested: assign((_, params: { interested: boolean }) => ({ amInterested: params.interested })),
    setPeerChoking: assign(({ context }, params: { choking: boolean }) => ({
      peerChoking: params.choking,
      recentUnchokes:
        context.peerChoking && !params.choking ? context.recentUnchokes + 1 : context.recentUnchokes,
    })),
    leakFlaps: assign(({ context }) => ({
      recentUnchokes: Math.max(0, context.recentUnchokes - 1),
      recentInterest: Math.max(0, context.recentInterest - 1),
    })),
    setPeerInterested: enqueueActions(({ context, enqueue }, params: { interested: boolean }) => {
      enqueue.assign({
        peerInterested: params.interested,
        recentInterest:
          params.interested && !context.peerInterested ? context.recentInterest + 1 : context.recentInterest,
      });
      enqueue.sendParent({
        type: 'peer.interest',
        key: context.key,
        interested: params.interested,
      } satisfies PeerReport);
    }),
    returnOutstanding: enqueueActions(({ context, enqueue }) => returnOutstanding(context, effects(enqueue))),
    askForBlocks: enqueueActions(({ context, enqueue }) => {
      enqueue.sendParent({ type: 'peer.unchoked', key: context.key } satisfies PeerReport);
      const n = room(context);
      if (n > 0) enqueue.sendParent(wantBlocks(context, n));
    }),
    measureRate: enqueueActions(({ context, enqueue }) => measureRate(context, effects(enqueue))),
    queueRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.request') queueRequest(context, event, effects(enqueue));
    }),
    queueRequests: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.requests') queueRequests(context, event, effects(enqueue));
    }),
    cancelRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'wire.cancel') cancelRequest(context, event, effects(enqueue));
    }),
    serveRequests: enqueueActions(({ context, enqueue }) => serveNext(context, effects(enqueue))),
    blocksServed: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'socket.served') blocksServed(context, event.count, effects(enqueue));
    }),
    setAmChoking: enqueueActions(({ context, enqueue }, params: { choking: boolean }) =>
      setAmChoking(context, params.choking, effects(enqueue)),
    ),
    setCongested: assign((_, params: { congested: boolean }) => ({ congested: params.congested })),
    reportRates: enqueueActions(({ context, enqueue }) => reportRates(context, effects(enqueue))),
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
  context: ({ input }) => initialPeerContext(input),
  invoke: {
    id: 'connection',
    src: 'connection',
    input: ({ context }) => ({
      address: context.address,
      direction: context.direction,
      handle: context.handle,
      infoHash: context.infoHash,
      ...(context.otherInfoHash === undefined ? {} : { otherInfoHash: context.otherInfoHash }),
      pieceCount: context.pieceCount,
      ...(context.mseFirst ? { mseFirst: true } : {}),
      ...(context.utpFirst ? { utpFirst: true } : {}),
    }),
  },
  // The machine's output is its final state's output (XState v5 needs the root to pass it on).
  output: ({ event }) => event.output as CloseReason,
  initial: 'connecting',
  on: {
    'socket.closed': { target: '.closed', actions: 'closeFromEvent' },
    'cmd.close': { target: '.closed', actions: 'closeFromEvent' },
    'xstate.done.actor.blockHashes.0': { actions: { type: 'sendBlockHashes', params: { slot: 0 } } },
    'xstate.done.actor.blockHashes.1': { actions: { type: 'sendBlockHashes', params: { slot: 1 } } },
    'xstate.error.actor.blockHashes.0': { actions: { type: 'sendBlockHashes', params: { slot: 0 } } },
    'xstate.error.actor.blockHashes.1': { actions: { type: 'sendBlockHashes', params: { slot: 1 } } },
    // BEP 21, before the handshakes: our extension handshake will say it.
    'cmd.uploadOnly': { actions: assign({ uploadOnly: true }) },
    // BEP 52: a hybrid's piece layers, fetched after its magnet: hash requests answered from now on.
    'cmd.pieceLayerTrees': {
      actions: assign({ pieceLayerTrees: ({ event }) => event.trees }),
    },
  },
  states: {
    connecting: {
      on: {
        'socket.connected': { target: 'handshaking', actions: 'noteConnected' },
        // An accepted socket's MSE preface failed (tcp-connection.ts): its reason, not socketClosed.
        'wire.error': { target: 'closed', actions: 'closeFromEvent' },
      },
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
        'cmd.reveal': { actions: 'sendReveal' },
        'cmd.pex': { actions: 'sendPex' },
        'cmd.hashRequest': { actions: 'sendHashRequest' },
        'cmd.uploadOnly': [
          {
            guard: 'isPeerUploadOnly',
            target: '#peer.closed',
            actions: { type: 'closeWith', params: { reason: 'notNeeded' } },
          },
          { actions: 'becomeUploadOnly' },
        ],
        'socket.served': { actions: 'blocksServed' },
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
                'wire.unchoke': [
                  { guard: 'isUnchokeFlood', target: '#peer.closed', actions: 'closeFromEvent' },
                  { actions: { type: 'setPeerChoking', params: { choking: false } } },
                ],
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
                    'wire.unchoke': [
                      { guard: 'isUnchokeFlood', target: '#peer.closed', actions: 'closeFromEvent' },
                      {
                        target: 'requesting',
                        actions: { type: 'setPeerChoking', params: { choking: false } },
                      },
                    ],
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
          // `inbox`, queued here (bounded by maxPeerRequests), handed to the connection (serve →
          // socket.served, at most readWindow unwritten) and paused while congested.
          initial: 'choking',
          on: {
            'wire.interested': [
              { guard: 'isInterestFlood', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: { type: 'setPeerInterested', params: { interested: true } } },
            ],
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
            'wire.haves': [
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
              { guard: 'isClosingRequest', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'queueRequest'] },
            ],
            'wire.requests': [
              { guard: 'isClosingRequestBatch', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'queueRequests'] },
            ],
            'wire.cancel': { actions: ['noteMessage', 'cancelRequest'] },
            'wire.extendedHandshake': [
              {
                guard: 'isUploadOnlyPairAfter',
                target: '#peer.closed',
                actions: [
                  'noteMessage',
                  'storeExtensionHandshake',
                  { type: 'closeWith', params: { reason: 'notNeeded' } },
                ],
              },
              { actions: ['noteMessage', 'storeExtensionHandshake'] },
            ],
            'wire.uploadOnly': [
              { guard: 'isUploadOnlyFlood', target: '#peer.closed', actions: 'closeFromEvent' },
              {
                guard: 'isUploadOnlyPairAfter',
                target: '#peer.closed',
                actions: [
                  'noteMessage',
                  'storePeerUploadOnly',
                  { type: 'closeWith', params: { reason: 'notNeeded' } },
                ],
              },
              { actions: ['noteMessage', 'storePeerUploadOnly'] },
            ],
            'wire.pex': { actions: ['noteMessage', 'forwardPex'] },
            'wire.metadataRequest': [
              { guard: 'isMetadataFlood', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'answerMetadataRequest'] },
            ],
            'wire.hashRequest': [
              { guard: 'isHashRequestFlood', target: '#peer.closed', actions: 'closeFromEvent' },
              { actions: ['noteMessage', 'answerHashRequest'] },
            ],
            'wire.hashes': { actions: ['noteMessage', 'forwardHashes'] },
            'wire.hashReject': { actions: ['noteMessage', 'forwardHashes'] },
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
                    actions: ['returnStale', 'reportRates', 'measureRate', 'leakFlaps'],
                  },
                  { guard: 'isSnubbing', target: '#peer.closed', actions: 'closeFromEvent' },
                  {
                    target: 'watching',
                    reenter: true,
                    actions: ['reportRates', 'measureRate', 'leakFlaps'],
                  },
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
