/**
 * Serving a peer (the peer machine's `upload` region, BEP 3 and BEP 6): which requests we refuse,
 * the queue of valid ones, the blocks handed to the connection to send (`serve`: at most readWindow
 * not yet written, none while congested; the connection takes their bytes from the read cache, so
 * they never pass through a machine), and the one answer per request a fast peer is owed.
 *
 * A block handed to the connection is committed: it leaves before anything we send after it, so a
 * later cancel or choke does not take it back (BEP 3: a cancel may cross the piece; BEP 6: the piece
 * is that request's one answer, and it precedes our choke on the wire).
 */
import { MAX_BLOCK_LENGTH } from '../src/wire/limits.js';
import {
  type BlockRef,
  blockKey,
  type CloseReason,
  type ConnectionCommand,
  type PeerEvent,
  type RequestProblem,
} from './peer.types.js';
import { isPieceIndex, type PeerContext, type PeerEffects } from './peer-context.js';

type Event<T extends PeerEvent['type']> = Extract<PeerEvent, { type: T }>;

/**
 * Queued requests to hand to the connection: never more than readWindow unwritten, none while
 * congested or choking (while we choke a fast peer the queue holds only requests for granted pieces).
 */
export function nextReads(c: PeerContext): BlockRef[] {
  const out: BlockRef[] = [];
  if ((c.amChoking && !c.fast) || c.congested) return out;
  for (const [k, ref] of c.requestQueue) {
    if (c.reading.size >= c.limits.readWindow) break;
    c.requestQueue.delete(k);
    c.reading.set(k, ref);
    out.push(ref);
  }
  return out;
}

/** Hand what nextReads allows to the connection, as one `serve`. */
export function serveNext(c: PeerContext, fx: PeerEffects): void {
  const blocks = nextReads(c);
  if (blocks.length > 0) fx.send({ type: 'serve', blocks });
}

/** A `request` we must refuse, or undefined when it is one we can serve. */
export function requestProblem(
  c: Pick<PeerContext, 'pieceCount' | 'pieceLength' | 'totalLength' | 'ourBitfield'>,
  index: number,
  begin: number,
  length: number,
): RequestProblem | undefined {
  if (!isPieceIndex(c, index)) return 'indexOutOfRange';
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

/**
 * While we choke the peer, a request we serve anyway: BEP 6, a piece we granted a fast peer, within
 * the grant's worth (grantedFast.length × pieceLength bytes per choke, counted in `grantedBytes`).
 */
export function isGrantedWhileChoking(
  c: Pick<PeerContext, 'fast' | 'grantedFast' | 'pieceLength'>,
  ref: BlockRef,
  grantedBytes: number,
): boolean {
  return (
    c.fast &&
    c.grantedFast.includes(ref.index) &&
    grantedBytes + ref.length <= c.grantedFast.length * c.pieceLength
  );
}

/** A valid `request` (isBadRequest, isRequestFlood and isChokedRequestFlood passed): queued, dropped or rejected. */
export function queueRequest(context: PeerContext, event: Event<'wire.request'>, fx: PeerEffects): void {
  enqueueRequest(context, { index: event.index, begin: event.begin, length: event.length }, fx);
  serveNext(context, fx);
}

/** The requests of one read (requestBatchProblem found none that closes): as one by one, one serve. */
export function queueRequests(context: PeerContext, event: Event<'wire.requests'>, fx: PeerEffects): void {
  for (const ref of event.requests) enqueueRequest(context, ref, fx);
  serveNext(context, fx);
}

/** What queueRequest does to one request, without serving. */
function enqueueRequest(context: PeerContext, ref: BlockRef, fx: PeerEffects): void {
  // BEP 3: a request while we choke is discarded (it may have crossed our choke on the wire).
  // BEP 6: a fast peer gets exactly one answer per request: a piece, or a reject when we choke
  // (unless the piece is one we granted it, within the grant's worth), lack the piece or are full.
  // Refusals for our choke are counted in a row (written in place, hot path): past
  // limits.maxChokedRequests the peer is closed (isChokedRequestFlood), as libtorrent does.
  if (context.amChoking && !isGrantedWhileChoking(context, ref, context.grantedBytes)) {
    context.chokedRequests++;
    if (context.fast) fx.send(reject(ref));
    return;
  }
  if (!context.ourBitfield.has(ref.index)) {
    fx.send(reject(ref)); // only a fast peer gets here (isBadRequest)
    return;
  }
  const k = blockKey(ref.index, ref.begin);
  if (context.requestQueue.has(k) || context.reading.has(k)) return; // a duplicate: one answer
  // Past our queue's cap a request is dropped (a fast peer's rejected), as Transmission and
  // libtorrent drop past theirs (a peer that pipelines deeper than we serve is not hostile);
  // only a flood closes (isRequestFlood). The count is written in place (hot path; a batch reads
  // it back between its requests).
  if (context.requestQueue.size + context.reading.size >= context.limits.maxPeerRequests) {
    context.droppedRequests++;
    if (context.fast) fx.send(reject(ref));
    return;
  }
  if (context.amChoking) context.grantedBytes += ref.length;
  context.droppedRequests = 0;
  context.chokedRequests = 0;
  context.requestQueue.set(k, { index: ref.index, begin: ref.begin, length: ref.length });
}

/**
 * Why a batch of requests closes the connection, if it does: the first bad request (isBadRequest),
 * else the request that makes the drops in a row a flood (isRequestFlood), or the refusals for our
 * choke in a row too many (isChokedRequestFlood), found by playing the batch through the queue as
 * enqueueRequest would.
 */
export function requestBatchProblem(
  c: PeerContext,
  requests: readonly BlockRef[],
): Extract<CloseReason, { reason: 'badRequest' | 'requestFlood' | 'requestsWhileChoked' }> | undefined {
  let size = c.requestQueue.size + c.reading.size;
  let dropped = c.droppedRequests;
  let refused = c.chokedRequests;
  let grantedBytes = c.grantedBytes;
  const added = new Set<number>();
  for (const r of requests) {
    const why = requestProblem(c, r.index, r.begin, r.length);
    if (why !== undefined && !(why === 'notHave' && c.fast))
      return { reason: 'badRequest', index: r.index, begin: r.begin, length: r.length, why };
    const k = blockKey(r.index, r.begin);
    if (c.amChoking) {
      // Refused for our choke (counted), or granted: then queued as enqueueRequest would, though
      // a full queue never closes while we choke (isRequestFlood), so drops need no count here.
      if (!isGrantedWhileChoking(c, r, grantedBytes)) {
        if (refused + 1 >= c.limits.maxChokedRequests)
          return { reason: 'requestsWhileChoked', requests: refused + 1, limit: c.limits.maxChokedRequests };
        refused++;
      } else if (why === undefined && !c.requestQueue.has(k) && !c.reading.has(k) && !added.has(k)) {
        if (size < c.limits.maxPeerRequests) {
          size++;
          added.add(k);
          refused = 0;
          grantedBytes += r.length;
        }
      }
      continue;
    }
    // As isRequestFlood judges each request, then enqueueRequest counts it: a piece we lack is
    // rejected (not a drop, though a full queue still judges it).
    if (c.requestQueue.has(k) || c.reading.has(k) || added.has(k)) continue;
    if (size >= c.limits.maxPeerRequests) {
      if (dropped + 1 >= c.limits.floodRequests)
        return { reason: 'requestFlood', queued: size + 1, limit: c.limits.maxPeerRequests };
      if (why === undefined) dropped++;
    } else if (why === undefined) {
      size++;
      added.add(k);
      dropped = 0;
    }
  }
  return undefined;
}

/** The peer's `cancel`. */
export function cancelRequest(context: PeerContext, event: Event<'wire.cancel'>, fx: PeerEffects): void {
  // BEP 3 cancel: drop it from the queue. One handed to the connection is already on its way (the
  // piece is the answer). BEP 6: a fast peer still gets one answer for a dropped one: the reject.
  const k = blockKey(event.index, event.begin);
  const ref = context.requestQueue.get(k);
  if (ref === undefined) return;
  context.requestQueue.delete(k);
  if (context.fast) fx.send(reject(ref));
}

/** The connection wrote the first `count` blocks it was handed (socket.served): the window moves on. */
export function blocksServed(context: PeerContext, count: number, fx: PeerEffects): void {
  let n = count;
  for (const [k, ref] of context.reading) {
    if (n-- <= 0) break;
    context.reading.delete(k);
    context.bytesSentThisTick += ref.length;
  }
  serveNext(context, fx);
}

/** We choke or unchoke the peer. */
export function setAmChoking(context: PeerContext, choking: boolean, fx: PeerEffects): void {
  // A choke discards every request the peer queued with us (BEP 3). BEP 6: a fast peer gets a
  // reject for each, except those for pieces we granted it (still served). Blocks already handed to
  // the connection leave before the choke message, as pieces sent before it.
  if (choking) {
    for (const [k, ref] of context.requestQueue) {
      if (context.fast && context.grantedFast.includes(ref.index)) continue;
      context.requestQueue.delete(k);
      if (context.fast) fx.send(reject(ref));
    }
  }
  // Refusals for our choke are counted from here: crossings of this choke, not of an earlier one.
  fx.assign({ amChoking: choking, grantedBytes: 0, chokedRequests: 0 });
}
