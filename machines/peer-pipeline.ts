/**
 * The request pipeline to one peer (docs/machines.md, "Pipelining"): how many requests we keep
 * outstanding, how much room is free, when to ask the torrent machine for more, and the requests
 * we take back when the peer will not answer them.
 */

import type { BlockRef, PeerLimits, PeerReport } from './peer.types.js';
import type { PeerContext } from './peer-context.js';
import { pipelineCap } from './peer-extension.js';

/** target = clamp(ceil(rate × requestQueueSeconds / blockLength), minPipeline, maxPipeline). */
export function pipelineTarget(rate: number, l: PeerLimits): number {
  const t = Math.ceil((rate * l.requestQueueSeconds) / l.blockLength);
  return Math.min(l.maxPipeline, Math.max(l.minPipeline, t));
}

/**
 * Slow start (libtorrent's, after TCP's): until the first tick has measured the rate, every block
 * received widens the pipeline by one, so it doubles each round trip from `initialPipeline` up to
 * `maxPipeline`. Measured (issue #8, 1 GiB from one local libtorrent seeder, which answers from its
 * disk threads within milliseconds): with the pipeline held at 32 until the first tick, the first
 * second ran at ~140 MB/s and the rest at ~600; a peer that sends little widens it little, and the
 * first tick sets the target from the measured rate either way.
 */
export function slowStart(c: PeerContext, blocks: number): void {
  if (!c.rateMeasured) c.target = Math.min(c.limits.maxPipeline, c.target + blocks);
}

/**
 * Our requests the peer has not answered yet: the outstanding ones, and for a fast peer the
 * cancelled ones too — BEP 6 owes each request one answer (the piece or a reject), so a cancelled
 * request still sits in the peer's queue until then, and its mark must outlive it. Not counted, a
 * cancel freed a slot at once: in an endgame over hundreds of peers a connection sent, cancelled
 * and re-sent more than maxPipeline requests before the first answers came, the oldest marks were
 * forgotten, and a late piece closed a good peer as unrequested (issue #8, the 500-connection
 * benchmark). A fast peer that never answers a cancel keeps that slot: it gets fewer requests.
 * A BEP 3 peer may drop a cancelled request silently, so its marks are not counted (they are
 * bounded instead, oldest forgotten).
 */
export function unanswered(c: Pick<PeerContext, 'outstanding' | 'cancelled' | 'fast'>): number {
  return c.outstanding.size + (c.fast ? c.cancelled.size : 0);
}

/** Requests we may still send (at most min(target, maxPipeline, the peer's BEP 10 reqq) unanswered): none unless interested and unchoked (or choked with allowed fast pieces). */
export function room(c: PeerContext): number {
  if (!c.amInterested || (c.peerChoking && requestableAllowedFast(c).length === 0)) return 0;
  return Math.max(0, Math.min(c.target, pipelineCap(c)) - unanswered(c));
}

/** BEP 6: the pieces we may request while the peer chokes us: allowed fast ones it has. */
export function requestableAllowedFast(
  c: Pick<PeerContext, 'fast' | 'allowedFast' | 'peerBitfield'>,
): number[] {
  if (!c.fast || c.allowedFast.length === 0) return [];
  return c.allowedFast.filter((i) => c.peerBitfield.has(i));
}

/** The ask for `count` more blocks; while choked, limited to the allowed fast pieces. */
export function wantBlocks(c: PeerContext, count: number): PeerReport {
  if (!c.peerChoking) return { type: 'peer.wantBlocks', key: c.key, count };
  return { type: 'peer.wantBlocks', key: c.key, count, allowedFast: requestableAllowedFast(c) };
}

/**
 * After a block, ask for more only once a quarter of the pipeline is free: one peer.wantBlocks, one
 * cmd.request and one socket write then carry many requests instead of one each (measured, issue #8:
 * per-block asks were two of the four machine events per block). The pipeline never falls below
 * three quarters of its target, and an empty one (room = target) always asks.
 */
export function askBatch(c: Pick<PeerContext, 'target' | 'limits' | 'peerReqq'>): number {
  return Math.max(1, Math.floor(Math.min(c.target, pipelineCap(c)) / 4));
}

/**
 * Every outstanding request, taken back: marked cancelled (a late copy is dropped, not a
 * violation), the marks bounded by maxPipeline (oldest forgotten first).
 */
export function takeBackOutstanding(c: PeerContext): BlockRef[] {
  const returned = [...c.outstanding.values()];
  for (const k of c.outstanding.keys()) c.cancelled.add(k);
  c.outstanding.clear();
  for (const k of c.cancelled) {
    if (c.cancelled.size <= c.limits.maxPipeline) break;
    c.cancelled.delete(k);
  }
  return returned;
}
