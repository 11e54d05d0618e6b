/**
 * Piece verdicts and the ban rule (docs/machines.md, "The ban rule"): a verified piece forgives one
 * strike of each contributor; a failed one bans its sole contributor at once, or, with several,
 * becomes a suspect fetched again from one peer, each contributor getting a strike.
 */
import type { CloseReason, PeerCommand } from './peer.types.js';
import { BAN_STRIKES } from './torrent.types.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import { topUp } from './torrent-handout.js';

/** Storage verified piece `index`: forgive, announce it, and tell the peers that lack it. */
export function pieceVerified(context: TorrentContext, index: number, fx: TorrentEffects): void {
  context.picker.pieceVerified(index);
  // A good piece forgives one strike of each contributor.
  for (const key of context.contributors.get(index) ?? []) {
    const rec = context.addresses.get(key);
    if (rec !== undefined && rec.strikes > 0) rec.strikes--;
  }
  context.contributors.delete(index);
  context.suspects.delete(index);
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

/** Piece `index` failed its hash: the ban rule, then the piece is wanted again. */
export function pieceFailed(context: TorrentContext, index: number, fx: TorrentEffects): void {
  const contributors = context.picker.pieceFailed(index);
  context.contributors.delete(index);
  fx.emit({ type: 'torrent.pieceFailed', index, contributors });
  // The ban rule (docs/machines.md): the sole contributor of a failed piece is banned at once.
  // Several contributors: the piece becomes a suspect, fetched again from one peer only; on its
  // first failure each contributor also gets a strike, and BAN_STRIKES strikes ban.
  const wasSuspect = context.suspects.has(index);
  const sole = contributors.length === 1;
  if (sole) context.suspects.delete(index);
  else context.suspects.set(index, '');
  for (const key of contributors) {
    const rec = context.addresses.get(key);
    if (rec === undefined || rec.banned || (!sole && wasSuspect)) continue;
    rec.strikes++;
    if (!sole && rec.strikes < BAN_STRIKES) continue;
    rec.banned = true;
    fx.emit({
      type: 'torrent.peerBanned',
      address: key,
      why: sole ? 'soleContributor' : 'strikes',
      strikes: rec.strikes,
    });
    const e = context.peers.get(key);
    const reason: CloseReason = { reason: 'banned' };
    if (e !== undefined) fx.toPeer(e.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
  }
  // The piece is wanted again: peers that lost interest may have it.
  for (const e of context.peers.values()) {
    if (e.interested || !e.handshaken || !e.bitfield.has(index) || context.addresses.get(e.key)?.banned)
      continue;
    e.interested = true;
    fx.toPeer(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
  }
  for (const c of topUp(context)) fx.toPeer(c.ref, c.cmd);
}
