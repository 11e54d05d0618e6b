/**
 * Super-seeding (BEP 16) in the torrent machine: which piece each super-seeded connection is shown
 * and when (the bookkeeping is super-seed-reveals.ts; the peer machine's half — no bitfield,
 * `have` for a revealed piece, requests for the others refused — is in peer.machine.ts).
 *
 * - Only a full seed super-seeds (TorrentInput.superSeed, every piece verified): a connection made
 *   once we have every piece is super-seeded for its life (PeerEntry.superSeed); one made while we
 *   still downloaded has had our bitfield and haves, and is served as a seed serves.
 * - Its handshake done, the peer is shown MAX_REVEALED_PER_PEER pieces (libtorrent's
 *   write_bitfield when super seeding reveals two). Once every piece is held or shown somewhere,
 *   one at a time: libtorrent goes on showing two, and the second is then a piece the peer may
 *   fetch from us as well as from the peer that has it — a piece sent twice. (Two libtorrent
 *   downloaders linked once each had seen the seed, the seed at 512 KiB/s: its upload was
 *   1.016–1.031 × the payload in 41 runs, quiet and loaded; the protocol bounds it at the size plus
 *   two shown and two held pieces per downloader. With an unlimited seed the end's duplicates
 *   depend on when the downloaders meet more than on this rule: up to 1.6 ×.)
 * - The next piece comes when the peer announces `have` for one it was shown, as libtorrent does
 *   by default. BEP 16 waits instead for another peer to announce it (libtorrent's
 *   `strict_super_seeding`, deprecated in 2.0): a swarm of one downloader, or of downloaders that
 *   never take the piece from each other, would stall on it. The rarest-first choice, which shows a
 *   piece held or shown elsewhere only when the peer lacks no other, is what spreads the pieces.
 * - The peer's bitfield naming a piece it was shown (shown before its bitfield came) replaces it.
 * - A peer that goes not interested without a `have` for the pieces it was shown (a client that
 *   spares a have to a peer that announced the piece; or one that does not want them) is shown the
 *   next, as libtorrent's incoming_not_interested: else it and a swarm where we are the only seed
 *   would wait for good. Only the pieces it had heard of when it last said interested: one shown
 *   on its `have` just before may have crossed the not interested. Those count as revealed no
 *   more and are not shown it again (PeerEntry.declined); our haves for them stand
 *   (PeerContext.announced: a request that crossed is served).
 * - A connection that closes gives its pieces back (they count as revealed no more).
 */
import { Bitfield } from '../src/picker/bitfield.js';
import type { PeerCommand } from './peer.types.js';
import { MAX_REVEALED_PER_PEER } from './super-seed-reveals.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';

/** We super-seed now: asked to, and every piece is verified (a partial seed never does). */
export function isSuperSeeding(c: Pick<TorrentContext, 'superSeed' | 'picker' | 'pieceCount'>): boolean {
  return c.superSeed !== undefined && c.picker.have.count === c.pieceCount;
}

/** The peer's handshake is done: show it its first pieces. */
export function revealOpening(c: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  if (e.superSeed) revealMore(c, e, fx);
}

/** The peer announced `have` for `index`: one it was shown is replaced by the next. */
export function superSeedHave(c: TorrentContext, e: PeerEntry, index: number, fx: TorrentEffects): void {
  if (!e.superSeed || !e.revealed.includes(index)) return;
  forget(c, e, index);
  revealMore(c, e, fx);
}

/** The peer's bitfield: the pieces it was shown and has are replaced. */
export function superSeedBitfield(c: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  if (!e.superSeed) return;
  for (const index of [...e.revealed]) if (e.bitfield.has(index)) forget(c, e, index);
  revealMore(c, e, fx);
}

/** The peer said `interested`: the pieces shown it by then are ones it has heard of. */
export function superSeedInterested(e: PeerEntry): void {
  if (e.superSeed) e.interestedIn = [...e.revealed];
}

/**
 * The peer said not interested: the pieces it was shown and had heard of when it last said
 * interested are taken or not wanted; they are declined and it is shown the next. A piece shown
 * since (on its `have` for another, one the not interested may have crossed) stays shown.
 */
export function superSeedNotInterested(c: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  if (!e.superSeed) return;
  const heard = e.revealed.filter((index) => e.interestedIn.includes(index));
  e.interestedIn = [];
  if (heard.length === 0) return;
  e.declined ??= new Bitfield(c.pieceCount);
  for (const index of heard) {
    e.declined.set(index);
    forget(c, e, index);
  }
  revealMore(c, e, fx);
}

/** The connection closed: its pieces are revealed to one peer fewer. */
export function superSeedClosed(c: TorrentContext, e: PeerEntry): void {
  for (const index of e.revealed) c.superSeed?.conceal(index);
  e.revealed.length = 0;
}

function forget(c: TorrentContext, e: PeerEntry, index: number): void {
  const at = e.revealed.indexOf(index);
  if (at < 0) return;
  e.revealed.splice(at, 1);
  c.superSeed?.conceal(index);
}

/**
 * Up to MAX_REVEALED_PER_PEER pieces shown, each with a `have` (cmd.reveal): the first whatever
 * is best (the peer always has one to fetch), a second only while pieces no one has remain.
 */
function revealMore(c: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  const reveals = c.superSeed;
  if (reveals === undefined) return;
  const availabilityOf = (i: number) => c.picker.availabilityOf(i);
  const notToShow = e.declined === undefined ? e.bitfield : withDeclined(e.bitfield, e.declined);
  while (e.revealed.length < MAX_REVEALED_PER_PEER) {
    const index = reveals.choose(notToShow, e.revealed, availabilityOf);
    if (index === undefined) return;
    // A second piece only if no one has it nor is shown it: one another peer holds or is shown
    // the peer may fetch from us as well as from it, and that is a piece sent twice.
    if (e.revealed.length > 0 && (reveals.revealedTo(index) > 0 || availabilityOf(index) > 0)) return;
    reveals.reveal(index);
    e.revealed.push(index);
    fx.toPeer(e.ref, { type: 'cmd.reveal', index, revealed: [...e.revealed] } satisfies PeerCommand);
  }
}

/** The peer's pieces and those it declined, as one bitfield: the pieces not to show it. */
function withDeclined(has: Bitfield, declined: Bitfield): Bitfield {
  const both = new Bitfield(has.size, has.bytes.slice());
  declined.forEachSet((i) => both.set(i));
  return both;
}
