/**
 * Why a peer connection closed: the typed CloseReason for the event that closed it, with the
 * numbers that explain it (docs/machines.md, "Close reasons").
 */

import { blockKey, type CloseReason, type PeerEvent, type ReceivedBlock } from './peer.types.js';
import { isPieceIndex, type PeerContext } from './peer-context.js';
import { hashRequestLimit } from './peer-hashes.js';
import { MAX_METADATA_REQUESTS } from './peer-metadata.js';
import { requestBatchProblem, requestFate } from './peer-request-fate.js';

/** The CloseReason for an event that closes the connection (the numbers that explain it included). */
export function closeReasonOf(c: PeerContext, e: PeerEvent | { type: string }): CloseReason {
  const ev = e as PeerEvent;
  switch (ev.type) {
    case 'socket.closed':
      if (ev.proxy !== undefined) return { reason: ev.proxy, message: ev.error ?? ev.proxy };
      return ev.error === undefined
        ? { reason: 'socketClosed' }
        : ev.retryAfterMs === undefined
          ? { reason: 'socketError', message: ev.error }
          : { reason: 'socketError', message: ev.error, retryAfterMs: ev.retryAfterMs };
    case 'cmd.close':
      return ev.reason;
    case 'wire.error':
      return { reason: 'wireError', code: ev.code, message: ev.message };
    case 'wire.bitfield':
      return { reason: 'badBitfield', length: ev.bitfield.length, expected: Math.ceil(c.pieceCount / 8) };
    case 'wire.have':
      return { reason: 'haveOutOfRange', index: ev.index, pieceCount: c.pieceCount };
    case 'wire.haves': {
      const index = ev.indices.find((i) => !isPieceIndex(c, i)) ?? -1;
      return { reason: 'haveOutOfRange', index, pieceCount: c.pieceCount };
    }
    case 'wire.haveAll':
    case 'wire.haveNone':
    case 'wire.allowedFast':
    case 'wire.suggest':
      return { reason: 'fastNotNegotiated', message: ev.type.slice('wire.'.length) };
    case 'wire.interested':
    case 'wire.uploadOnly': // BEP 21: cleared, it counts as becoming interested (isUploadOnlyFlood)
      return { reason: 'interestFlood', times: c.recentInterest + 1, limit: c.limits.interestBurst };
    case 'wire.unchoke':
      return { reason: 'unchokeFlood', unchokes: c.recentUnchokes + 1, limit: c.limits.unchokeBurst };
    case 'wire.reject':
      if (!c.fast) return { reason: 'fastNotNegotiated', message: 'reject' };
      return { reason: 'unrequestedReject', index: ev.index, begin: ev.begin, length: ev.length };
    case 'wire.request': {
      // isClosingRequest closed it: the reason is its fate's.
      const fate = requestFate(c, ev);
      return fate.fate === 'closed' ? fate.reason : { reason: 'socketClosed' };
    }
    case 'wire.requests':
      return requestBatchProblem(c, ev.requests) ?? { reason: 'socketClosed' };
    case 'wire.metadataRequest':
      return { reason: 'metadataFlood', requests: c.metadataRequests + 1, limit: MAX_METADATA_REQUESTS };
    case 'wire.hashRequest':
      return { reason: 'hashRequestFlood', requests: c.hashRequests + 1, limit: hashRequestLimit(c) };
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
export function badBlockOf(
  c: Pick<PeerContext, 'outstanding' | 'cancelled'>,
  blocks: readonly ReceivedBlock[],
): CloseReason | undefined {
  // Sets, not arrays: a turn's batch may carry hundreds of blocks (issue #8: `includes` made this
  // quadratic, ~1 % of the main thread from four local seeders).
  const taken = new Set<number>(); // outstanding keys answered earlier in this batch
  const forgotten = new Set<number>(); // cancelled marks used up earlier in this batch
  for (const b of blocks) {
    const k = blockKey(b.index, b.begin);
    const ref = taken.has(k) ? undefined : c.outstanding.get(k);
    if (ref !== undefined) {
      if (ref.length !== b.block.length)
        return {
          reason: 'wrongBlockLength',
          index: b.index,
          begin: b.begin,
          expected: ref.length,
          received: b.block.length,
        };
      taken.add(k);
    } else if (c.cancelled.has(k) && !forgotten.has(k)) forgotten.add(k);
    else return { reason: 'unrequestedBlock', index: b.index, begin: b.begin, length: b.block.length };
  }
  return undefined;
}
