/**
 * Serving a peer (the peer machine's `upload` region, BEP 3 and BEP 6): which requests we refuse,
 * the queue of valid ones, reads handed to storage through the torrent machine (at most readWindow
 * at once, none while congested), and the one answer per request a fast peer is owed.
 */
import { MAX_BLOCK_LENGTH } from '../src/wire/limits.js';
import {
  type BlockRef,
  blockKey,
  type ConnectionCommand,
  type PeerEvent,
  type PeerReport,
  type RequestProblem,
} from './peer.types.js';
import type { PeerContext, PeerEffects } from './peer-context.js';

type Event<T extends PeerEvent['type']> = Extract<PeerEvent, { type: T }>;

/**
 * Hand queued requests to storage: never more than readWindow at once, none while congested or
 * choking (while we choke a fast peer the queue holds only requests for granted pieces).
 */
export function nextReads(c: PeerContext): PeerReport[] {
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

/** The answer a fast peer gets instead of silence (BEP 6: exactly one piece or reject per request). */
export function reject(ref: BlockRef): ConnectionCommand {
  return {
    type: 'send',
    message: { type: 'reject', index: ref.index, begin: ref.begin, length: ref.length },
  };
}

/** A valid `request` (isBadRequest and isRequestFlood passed): queued, dropped or rejected. */
export function queueRequest(context: PeerContext, event: Event<'wire.request'>, fx: PeerEffects): void {
  // BEP 3: a request while we choke is discarded (it may have crossed our choke on the wire).
  // BEP 6: a fast peer gets exactly one answer per request: a piece, or a reject when we choke
  // (unless the piece is one we granted it, within the grant's worth), lack the piece or are full.
  const ref: BlockRef = { index: event.index, begin: event.begin, length: event.length };
  if (context.amChoking) {
    if (!context.fast) return;
    const grant = context.grantedFast.length * context.pieceLength;
    if (!context.grantedFast.includes(ref.index) || context.grantedBytes + ref.length > grant) {
      fx.send(reject(ref));
      return;
    }
  }
  if (!context.ourBitfield.has(ref.index)) {
    fx.send(reject(ref)); // only a fast peer gets here (isBadRequest)
    return;
  }
  const k = blockKey(event.index, event.begin);
  if (context.requestQueue.has(k) || context.reading.has(k)) return; // a duplicate: one answer
  // Past our queue's cap a request is dropped (a fast peer's rejected), as Transmission and
  // libtorrent drop past theirs (a peer that pipelines deeper than we serve is not hostile);
  // only a flood closes (isRequestFlood).
  if (context.requestQueue.size + context.reading.size >= context.limits.maxPeerRequests) {
    fx.assign({ droppedRequests: context.droppedRequests + 1 });
    if (context.fast) fx.send(reject(ref));
    return;
  }
  if (context.amChoking) context.grantedBytes += ref.length;
  if (context.droppedRequests > 0) fx.assign({ droppedRequests: 0 });
  context.requestQueue.set(k, ref);
  for (const r of nextReads(context)) fx.report(r);
}

/** The peer's `cancel`. */
export function cancelRequest(context: PeerContext, event: Event<'wire.cancel'>, fx: PeerEffects): void {
  // BEP 3 cancel: drop it from the queue; one already being read is dropped when it comes back.
  // BEP 6: a fast peer still gets one answer for it: the reject.
  const k = blockKey(event.index, event.begin);
  const ref = context.requestQueue.get(k) ?? context.reading.get(k);
  context.requestQueue.delete(k);
  context.reading.delete(k);
  if (ref !== undefined && context.fast) fx.send(reject(ref));
}

/** A block storage read for the peer (cmd.piece): sent unless cancelled or choked since. */
export function sendPiece(context: PeerContext, event: Event<'cmd.piece'>, fx: PeerEffects): void {
  const k = blockKey(event.index, event.begin);
  // Cancelled or choked since it was asked for: not sent (BEP 3; a fast peer had its reject).
  if (!context.reading.delete(k) || (context.amChoking && !context.fast)) return;
  fx.send({
    type: 'send',
    message: { type: 'piece', index: event.index, begin: event.begin, block: event.block },
  });
  context.bytesSentThisTick += event.block.length;
  for (const r of nextReads(context)) fx.report(r);
}

/** We choke or unchoke the peer. */
export function setAmChoking(context: PeerContext, choking: boolean, fx: PeerEffects): void {
  // A choke discards every request the peer queued with us (BEP 3). BEP 6: a fast peer gets a
  // reject for each, queued or being read, except those for pieces we granted it (still served).
  if (choking) {
    for (const queue of [context.requestQueue, context.reading])
      for (const [k, ref] of queue) {
        if (context.fast && context.grantedFast.includes(ref.index)) continue;
        queue.delete(k);
        if (context.fast) fx.send(reject(ref));
      }
  }
  fx.assign({ amChoking: choking, grantedBytes: 0 });
}
