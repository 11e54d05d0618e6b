/**
 * Downloading from a peer (the peer machine's `download` region, BEP 3): the requests we send and
 * cancel, the blocks that answer them, and the requests a choke takes back (BEP 6: a fast peer's
 * choke takes back nothing).
 */

import { type BlockRef, blockKey, type PeerEvent, type ReceivedBlock } from './peer.types.js';
import type { PeerContext, PeerEffects } from './peer-context.js';
import { pipelineCap } from './peer-extension.js';
import { askBatch, room, slowStart, takeBackOutstanding, unanswered, wantBlocks } from './peer-pipeline.js';

type Event<T extends PeerEvent['type']> = Extract<PeerEvent, { type: T }>;

/** The torrent machine's blocks for this peer (cmd.request): requested, or handed back. */
export function sendRequests(context: PeerContext, event: Event<'cmd.request'>, fx: PeerEffects): void {
  const returned: BlockRef[] = [];
  const requested: BlockRef[] = [];
  for (const b of event.blocks) {
    const k = blockKey(b.index, b.begin);
    // Choked: only an allowed fast piece (BEP 6). Never more than the cap, never a piece the
    // peer lacks, never twice: hand it back instead. Never again to a fast peer while it owes the
    // answer to the request we cancelled: it may treat the second as a duplicate of the first and
    // answer once (bitstate and libtorrent do), or answer both; either way one request per block
    // keeps the accounting exact (peer-pipeline.ts, `unanswered`).
    const open =
      context.amInterested &&
      (!context.peerChoking || (context.fast && context.allowedFast.includes(b.index)));
    if (
      !open ||
      unanswered(context) >= pipelineCap(context) ||
      !context.peerBitfield.has(b.index) ||
      context.outstanding.has(k) ||
      (context.fast && context.cancelled.has(k))
    ) {
      returned.push(b);
      continue;
    }
    // BEP 3 peer: a cancelled mark survives the new request, the old copy may still be on the wire.
    context.outstanding.set(k, b);
    requested.push(b);
  }
  // One command for the batch: an xstate sendTo per request was a tenth of a download's garbage.
  if (requested.length > 0) fx.send({ type: 'request', blocks: requested });
  if (returned.length > 0) fx.report({ type: 'peer.returned', key: context.key, returned });
}

/** The torrent machine cancels blocks (endgame): each outstanding one is cancelled on the wire. */
export function sendCancels(context: PeerContext, event: Event<'cmd.cancel'>, fx: PeerEffects): void {
  for (const b of event.blocks) {
    const k = blockKey(b.index, b.begin);
    if (!context.outstanding.delete(k)) continue;
    context.cancelled.add(k);
    // Bounded: the oldest cancelled block is forgotten (a very late copy then closes as unrequested).
    if (context.cancelled.size > context.limits.maxPipeline)
      context.cancelled.delete(context.cancelled.values().next().value!);
    fx.send({
      type: 'send',
      message: { type: 'cancel', index: b.index, begin: b.begin, length: b.length },
    });
  }
}

/** A requested block arrived (validated by the guards): to the torrent machine, and ask for more. */
export function acceptBlock(context: PeerContext, event: Event<'wire.piece'>, fx: PeerEffects): void {
  context.outstanding.delete(blockKey(event.index, event.begin));
  context.bytesThisTick += event.block.length;
  context.sinceBlockMs = 0;
  slowStart(context, 1);
  const { key } = context;
  fx.report({
    type: 'peer.block',
    key,
    index: event.index,
    begin: event.begin,
    block: event.block,
  });
  const n = room(context);
  if (n >= askBatch(context)) fx.report(wantBlocks(context, n));
}

/** A batch of blocks from one socket chunk, validated by isBadBlockBatch. */
export function acceptBlocks(context: PeerContext, event: Event<'wire.pieces'>, fx: PeerEffects): void {
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
  slowStart(context, accepted.length);
  const { key } = context;
  fx.report({ type: 'peer.blocks', key, blocks: accepted });
  const n = room(context);
  if (n >= askBatch(context)) fx.report(wantBlocks(context, n));
}

/** The peer choked us. */
export function returnOutstanding(context: PeerContext, fx: PeerEffects): void {
  // BEP 6: a fast peer's choke discards nothing; each request still gets a piece or a reject
  // (isStaleWhileChoked is the backstop). The supervisor only hears that it is choked.
  if (context.fast) {
    fx.report({ type: 'peer.choked', key: context.key, returned: [] });
    return;
  }
  // BEP 3: a choke discards every pending request; they go back to the supervisor for others.
  // A lenient peer may still send some: like cancelled blocks, they are dropped, not a violation.
  const returned = takeBackOutstanding(context);
  fx.assign({ sinceBlockMs: 0 });
  fx.report({ type: 'peer.choked', key: context.key, returned });
}
