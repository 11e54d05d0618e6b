/**
 * Piece verdicts and the ban rule (docs/machines.md, "The ban rule"). A failed piece bans its sole
 * contributor at once; with several, each block's sender and hash is remembered (failed-blocks.ts)
 * and the piece becomes a suspect, fetched again from one peer. When a remembered piece passes,
 * storage hashes its blocks again and exactly the peers whose block differed are banned.
 */
import type { PeerCommand, PeerKey } from './peer.types.js';
import { banPeer, isBanned } from './torrent-address-book.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import { topUp } from './torrent-handout.js';

/** Storage verified piece `index`: announce it, tell the peers that lack it, judge its past failures. */
export function pieceVerified(context: TorrentContext, index: number, fx: TorrentEffects): void {
  context.picker.pieceVerified(index);
  context.suspects.delete(index);
  // It failed before: which blocks were bad is known once the blocks that passed are hashed.
  if (context.failedBlocks.has(index)) {
    context.failedBlocks.judging(index);
    fx.toStorage({ type: 'storage.hashBlocks', index });
  }
  const { have } = context.picker;
  fx.emit({
    type: 'torrent.pieceVerified',
    index,
    have: have.count,
    pieceCount: context.pieceCount,
  });
  // Have suppression: a peer that has the piece gains nothing from our `have`.
  for (const e of context.peers.values())
    if (e.handshaken && !e.bitfield.has(index))
      fx.toPeer(e.ref, { type: 'cmd.have', index } satisfies PeerCommand);
}

/** The blocks of piece `index` as it passed (`storage.hashBlocks`): ban whoever sent it other bytes. */
export function blocksJudged(
  context: TorrentContext,
  index: number,
  hashes: Uint8Array,
  fx: TorrentEffects,
): void {
  for (const key of context.failedBlocks.piecePassed(index, hashes)) ban(context, key, 'badBlock', index, fx);
}

/**
 * Piece `index` failed its hash; `blockHashes` are its blocks as they failed. The ban rule, then
 * the piece is wanted again.
 */
export function pieceFailed(
  context: TorrentContext,
  index: number,
  blockHashes: Uint8Array,
  fx: TorrentEffects,
): void {
  const senders = context.picker.blockSenders(index);
  const contributors = context.picker.pieceFailed(index);
  fx.emit({ type: 'torrent.pieceFailed', index, contributors });
  const [sole] = contributors;
  if (contributors.length === 1 && sole !== undefined) {
    // Every byte was its: banned at once. A suspect's owner ends here when it sent bad data.
    context.suspects.delete(index);
    ban(context, sole, 'soleContributor', index, fx);
  } else if (contributors.length > 1) {
    // Several: who sent which block is remembered, judged when the piece passes; meanwhile it is
    // fetched again from one peer only, so the next attempt passes or names its culprit.
    context.suspects.add(index);
    for (const key of context.failedBlocks.pieceFailed(index, senders, blockHashes))
      ban(context, key, 'badBlock', index, fx);
  }
  // The piece is wanted again: peers that lost interest may have it.
  for (const e of context.peers.values()) {
    if (e.interested || !e.handshaken || !e.bitfield.has(index) || isBanned(context, e.key)) continue;
    e.interested = true;
    fx.toPeer(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
  }
  for (const c of topUp(context)) fx.toPeer(c.ref, c.cmd);
}

/** Banned once (torrent-address-book.ts `banPeer`: its host is refused, its connections closed). */
function ban(
  context: TorrentContext,
  key: PeerKey,
  why: 'soleContributor' | 'badBlock',
  index: number,
  fx: TorrentEffects,
): void {
  if (!isBanned(context, key)) banPeer(context, key, why, index, fx);
}
