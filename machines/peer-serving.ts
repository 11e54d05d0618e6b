/**
 * Serving a peer (the peer machine's `upload` region, BEP 3 and BEP 6): each request taken as its
 * fate says (requestFate, peer-request-fate.ts), the queue of valid ones, the blocks handed to the
 * connection to send (`serve`: at most readWindow not yet written, none while congested; the
 * connection takes their bytes from the read cache, so they never pass through a machine), and the
 * one answer per request a fast peer is owed.
 *
 * A block handed to the connection is committed: it leaves before anything we send after it, so a
 * later cancel or choke does not take it back (BEP 3: a cancel may cross the piece; BEP 6: the piece
 * is that request's one answer, and it precedes our choke on the wire).
 */
import { type BlockRef, blockKey, type ConnectionCommand, type PeerEvent } from './peer.types.js';
import type { PeerContext, PeerEffects } from './peer-context.js';
import { requestFate, tallyFate } from './peer-request-fate.js';

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

/** The answer a fast peer gets instead of silence (BEP 6: exactly one piece or reject per request). */
export function reject(ref: BlockRef): ConnectionCommand {
  return {
    type: 'send',
    message: { type: 'reject', index: ref.index, begin: ref.begin, length: ref.length },
  };
}

/** A `request` isClosingRequest let through: queued, a duplicate, discarded, rejected or dropped (requestFate). */
export function queueRequest(context: PeerContext, event: Event<'wire.request'>, fx: PeerEffects): void {
  enqueueRequest(context, event, fx);
  serveNext(context, fx);
}

/** The requests of one read (isClosingRequestBatch found none that closes): as one by one, one serve. */
export function queueRequests(context: PeerContext, event: Event<'wire.requests'>, fx: PeerEffects): void {
  for (const ref of event.requests) enqueueRequest(context, ref, fx);
  serveNext(context, fx);
}

/** What queueRequest does to one request, without serving: its fate, taken. */
function enqueueRequest(context: PeerContext, ref: BlockRef, fx: PeerEffects): void {
  const key = blockKey(ref.index, ref.begin);
  const fate = requestFate(context, ref, key);
  tallyFate(context, fate, ref, context.amChoking);
  switch (fate.fate) {
    case 'queued':
      context.requestQueue.set(key, {
        index: ref.index,
        begin: ref.begin,
        length: ref.length,
      });
      return;
    // BEP 6: a fast peer gets exactly one answer per request: a piece, or a reject when we choke
    // (unless the piece is one we granted it, within the grant's worth), lack the piece or are full.
    case 'discarded':
    case 'dropped':
      if (context.fast) fx.send(reject(ref));
      return;
    case 'rejected':
      fx.send(reject(ref));
      return;
    // A duplicate has its answer coming. A closing request never gets here: the guard closed first.
    case 'duplicate':
    case 'closed':
      return;
  }
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
