/**
 * What becomes of a peer's `request` (BEP 3, BEP 6; docs/machines.md, "Serving"), decided here
 * only: the machine's guards (isClosingRequest, isClosingRequestBatch), the queue (queueRequest in
 * peer-serving.ts) and the close reason (closeReasonOf) all read requestFate, so they cannot
 * disagree on a request, nor a batch with the same requests one by one.
 *
 * The hot path (a seeder takes requests at line rate): a fate that keeps the connection is one of
 * a few shared objects, never allocated; only a closing one carries its CloseReason.
 */
import { MAX_BLOCK_LENGTH } from '../src/wire/limits.js';
import { type BlockRef, blockKey, type CloseReason, type RequestProblem } from './peer.types.js';
import { isPieceIndex, type PeerContext } from './peer-context.js';

/** The reasons a request closes the connection. */
export type RequestCloseReason = Extract<
  CloseReason,
  { reason: 'badRequest' | 'requestFlood' | 'requestsWhileChoked' }
>;

/**
 * A request's fate:
 * - `queued`: to be served (a piece, in order);
 * - `duplicate`: already queued or handed to the connection: one answer, nothing more;
 * - `discarded`: we choke the peer (BEP 3: it may have crossed our choke); a fast peer gets a reject
 *   (BEP 6). Counted in a row (chokedRequests);
 * - `rejected`: a fast peer asked for a piece we lack: a reject (BEP 6, as libtorrent), not a close;
 * - `dropped`: the peer's queue with us is full (maxPeerRequests), as Transmission and libtorrent
 *   drop past theirs; a fast peer gets a reject. Counted in a row (droppedRequests);
 * - `closed`: a bad request, a flood past a full queue, or too many in a row while we choke.
 */
export type RequestFate =
  | { readonly fate: 'queued' | 'duplicate' | 'discarded' | 'rejected' | 'dropped' }
  | { readonly fate: 'closed'; readonly reason: RequestCloseReason };

const QUEUED: RequestFate = Object.freeze({ fate: 'queued' });
const DUPLICATE: RequestFate = Object.freeze({ fate: 'duplicate' });
const DISCARDED: RequestFate = Object.freeze({ fate: 'discarded' });
const REJECTED: RequestFate = Object.freeze({ fate: 'rejected' });
const DROPPED: RequestFate = Object.freeze({ fate: 'dropped' });

/**
 * The counts a fate reads and moves (tallyFate): the context's own, written in place (hot path),
 * or a batch's copy while requestBatchProblem plays the batch through.
 */
export interface RequestTally {
  /** Dropped in a row at a full queue (a flood past limits.floodRequests). */
  droppedRequests: number;
  /** Refused in a row for our choke (a flood past limits.maxChokedRequests). */
  chokedRequests: number;
  /** Bytes of granted pieces queued while we choke (BEP 6 allowed fast, isGrantedWhileChoking). */
  grantedBytes: number;
}

/** A batch played through (requestBatchProblem): its counts so far, and the keys it queued so far. */
interface BatchPlay extends RequestTally {
  readonly queued: Set<number>;
}

/** A `request` we must refuse, or undefined when it is one we can serve. */
export function requestProblem(
  c: Pick<PeerContext, 'pieceCount' | 'pieceLength' | 'totalLength' | 'ourBitfield' | 'announced'>,
  index: number,
  begin: number,
  length: number,
): RequestProblem | undefined {
  if (!isPieceIndex(c, index)) return 'indexOutOfRange';
  if (length === 0) return 'empty';
  if (length > MAX_BLOCK_LENGTH) return 'tooLong';
  const size = index === c.pieceCount - 1 ? c.totalLength - index * c.pieceLength : c.pieceLength;
  if (begin + length > size) return 'pastPieceEnd';
  // BEP 16: a super-seeded peer was told of the pieces we announced only (cmd.reveal); any other
  // is one we lack for it (a fast peer's request for it rejected, as libtorrent rejects it).
  if (c.announced !== undefined ? !c.announced.has(index) : !c.ourBitfield.has(index)) return 'notHave';
  return undefined;
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

/**
 * The fate of `ref`, the peer's next request. `key` is its blockKey when the caller needs it too
 * (one number made per request, not two: the hot path); `batch` when it is one of a batch played
 * through without taking it (requestBatchProblem).
 */
export function requestFate(
  c: PeerContext,
  ref: BlockRef,
  key: number = blockKey(ref.index, ref.begin),
  batch?: BatchPlay,
): RequestFate {
  const tally: RequestTally = batch ?? c;
  const why = requestProblem(c, ref.index, ref.begin, ref.length);
  if (why !== undefined && !(why === 'notHave' && c.fast))
    return closed({ reason: 'badRequest', index: ref.index, begin: ref.begin, length: ref.length, why });
  // BEP 3: a request while we choke is discarded. Past limits.maxChokedRequests in a row the peer
  // is asking on regardless (libtorrent's too_many_requests_when_choked): each refusal of a fast
  // peer would be one more reject to queue.
  if (c.amChoking && !isGrantedWhileChoking(c, ref, tally.grantedBytes)) {
    if (tally.chokedRequests + 1 >= c.limits.maxChokedRequests)
      return closed({
        reason: 'requestsWhileChoked',
        requests: tally.chokedRequests + 1,
        limit: c.limits.maxChokedRequests,
      });
    return DISCARDED;
  }
  const duplicate = c.requestQueue.has(key) || c.reading.has(key) || (batch?.queued.has(key) ?? false);
  const queued = c.requestQueue.size + c.reading.size + (batch?.queued.size ?? 0);
  const full = queued >= c.limits.maxPeerRequests;
  // A peer that pipelines deeper than we serve is not hostile; one that goes on past
  // limits.floodRequests drops in a row is (judged before the piece: a fast peer's request for one
  // we lack counts as one more at a full queue). While we choke only granted pieces get here, and
  // a full queue drops them without closing.
  if (full && !duplicate && !c.amChoking && tally.droppedRequests + 1 >= c.limits.floodRequests)
    return closed({ reason: 'requestFlood', queued: queued + 1, limit: c.limits.maxPeerRequests });
  if (why === 'notHave') return REJECTED;
  if (duplicate) return DUPLICATE;
  if (full) return DROPPED;
  return QUEUED;
}

function closed(reason: RequestCloseReason): RequestFate {
  return { fate: 'closed', reason };
}

/** What a fate does to the counts: refusals and drops in a row, ended by a request queued. */
export function tallyFate(tally: RequestTally, fate: RequestFate, ref: BlockRef, amChoking: boolean): void {
  switch (fate.fate) {
    case 'discarded':
      tally.chokedRequests++;
      return;
    case 'dropped':
      tally.droppedRequests++;
      return;
    case 'queued':
      if (amChoking) tally.grantedBytes += ref.length;
      tally.droppedRequests = 0;
      tally.chokedRequests = 0;
      return;
  }
}

/**
 * Why the requests of one read (wire.requests) close the connection, if they do: the reason of the
 * first whose fate is `closed` when they are played through one by one, as queueRequests takes
 * them (on a copy of the counts: a guard changes nothing).
 */
export function requestBatchProblem(
  c: PeerContext,
  requests: readonly BlockRef[],
): RequestCloseReason | undefined {
  // The usual case, a seeder's hot path: unchoked and room in the queue for the whole batch. Then
  // no request can meet a full queue (no flood) nor our choke: only a bad request closes, so the
  // batch is judged request by request without playing the counts and the queue through.
  if (!c.amChoking && c.requestQueue.size + c.reading.size + requests.length <= c.limits.maxPeerRequests) {
    for (const r of requests) {
      const why = requestProblem(c, r.index, r.begin, r.length);
      if (why !== undefined && !(why === 'notHave' && c.fast))
        return { reason: 'badRequest', index: r.index, begin: r.begin, length: r.length, why };
    }
    return undefined;
  }
  const batch: BatchPlay = {
    droppedRequests: c.droppedRequests,
    chokedRequests: c.chokedRequests,
    grantedBytes: c.grantedBytes,
    queued: new Set(),
  };
  for (const r of requests) {
    const key = blockKey(r.index, r.begin);
    const fate = requestFate(c, r, key, batch);
    if (fate.fate === 'closed') return fate.reason;
    tallyFate(batch, fate, r, c.amChoking);
    if (fate.fate === 'queued') batch.queued.add(key);
  }
  return undefined;
}
