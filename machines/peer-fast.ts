/**
 * The Fast Extension from the peer's side (BEP 6; docs/machines.md, "Fast Extension"): pieces it
 * allows us while it chokes us, its suggestions, its rejects, and requests it neither served nor
 * rejected while choking us.
 */

import { blockKey, MAX_ALLOWED_FAST, MAX_SUGGESTED, type PeerEvent } from './peer.types.js';
import { isPieceIndex, type PeerContext, type PeerEffects } from './peer-context.js';
import { room, takeBackOutstanding, wantBlocks } from './peer-pipeline.js';

type Event<T extends PeerEvent['type']> = Extract<PeerEvent, { type: T }>;

/** The peer's `allowedFast`: recorded, and asked for at once when choked and the peer has it. */
export function storeAllowedFast(
  context: PeerContext,
  event: Event<'wire.allowedFast'>,
  fx: PeerEffects,
): void {
  // BEP 6: we may request this piece while choked. Out of range or past the cap: ignored (a hint).
  const { index } = event;
  if (!isPieceIndex(context, index)) return;
  if (context.allowedFast.includes(index) || context.allowedFast.length >= MAX_ALLOWED_FAST) return;
  context.allowedFast.push(index);
  if (context.peerChoking && context.peerBitfield.has(index)) {
    const n = room(context);
    if (n > 0) fx.report(wantBlocks(context, n));
  }
}

/** The peer's `suggest`. */
export function storeSuggest(context: PeerContext, event: Event<'wire.suggest'>): void {
  // BEP 6 suggest is a hint: recorded (bounded, newest last) for the inspector; the picker keeps
  // its own order (rarest first), as libtorrent does unless the torrent is being super-seeded.
  if (!(event.index >= 0 && event.index < context.pieceCount)) return;
  const at = context.suggested.indexOf(event.index);
  if (at >= 0) context.suggested.splice(at, 1);
  context.suggested.push(event.index);
  if (context.suggested.length > MAX_SUGGESTED) context.suggested.shift();
}

/** The peer's `reject` (isUnrequestedReject passed). */
export function handleReject(context: PeerContext, event: Event<'wire.reject'>, fx: PeerEffects): void {
  // BEP 6: a rejected request is not coming: back to the supervisor for another peer (or this
  // one later). The answer to a request we cancelled only clears the mark.
  const k = blockKey(event.index, event.begin);
  const ref = context.outstanding.get(k);
  if (ref === undefined) {
    context.cancelled.delete(k);
    return;
  }
  context.outstanding.delete(k);
  fx.report({ type: 'peer.returned', key: context.key, returned: [ref] });
}

/** isStaleWhileChoked: the fast peer neither served nor rejected them; a late copy is dropped. */
export function returnStale(context: PeerContext, fx: PeerEffects): void {
  const returned = takeBackOutstanding(context);
  fx.assign({ sinceBlockMs: 0 });
  fx.report({ type: 'peer.returned', key: context.key, returned });
}
