/**
 * BEP 11, Peer Exchange, in the torrent machine (docs/machines.md, "Peer exchange"): which peers
 * each connection is told of, and when; and how much we take from what peers tell us.
 *
 * Sending: to a peer that gave ut_pex an id, the first message as its extension handshake comes, with
 * the peers we are connected to now — Transmission sends it right after the handshake, libtorrent's
 * ut_pex.cpp at the peer's next one-second tick; when there is no one to name yet, at the first
 * clock tick (every SLOT_TICK_MS, 5 s) that has someone. Then every PEX_INTERVAL_MS (a minute, BEP
 * 11's rule) the difference since the last message to it — at most MAX_PEX_SENT added and
 * MAX_PEX_SENT dropped, none when nothing changed. A peer listed
 * is a handshaken connection whose listening address we know: the one we dialled, or an incoming
 * peer's BEP 10 `p`; never the recipient itself. Flags: seed (it has every piece), reachable (we
 * dialled it). Each connection remembers what it was told (`pexSent`), so the difference is its own.
 *
 * Receiving: a peer's ut_pex messages closer together than PEX_MIN_INTERVAL_MS are ignored (the
 * convention is one a minute; libtorrent disconnects a peer that sends 7 within one, Transmission
 * sends one right after the extension handshake, then every 90 s), and what one connection named
 * and has not dropped is at most MAX_PEX_PEERS_PER_CONNECTION addresses (libtorrent's
 * max_pex_peers, 200); an address it names again is not taken again. What is
 * taken is queued as a tracker's peers are (deduplicated, bans respected, our own addresses
 * skipped, the address book bounded: torrent.machine.ts learnDialable). Once we have every piece, a
 * peer flagged as a seed is not taken: two seeds have nothing to trade. A local address (loopback,
 * private, link-local: src/net/local-address.ts) is taken only from a peer that is local itself,
 * as libtorrent does: from anyone else it would only make us dial into our own network. No
 * peer may name a host no peer listens on (0.0.0.0/8 and `::`, which Linux dials as our own host;
 * multicast, broadcast: src/net/dialable-host.ts), as the tracker's peers may not.
 * In a hybrid (BEP 52), what a connection of the v2 swarm names is taken in the v2 swarm (dialled
 * with the v2 hash), as libtorrent 2.0 does (pexSwarm).
 * A private torrent (BEP 27) or `--no-pex` does neither: `pex` false.
 */
import { hostOf } from '../src/net/address.js';
import { isDialableHost } from '../src/net/dialable-host.js';
import { isLocalAddress } from '../src/net/local-address.js';
import { MAX_PEX_SENT, PexFlag, type PexPeer } from '../src/wire/ut-pex.js';
import type { PeerCommand } from './peer.types.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';
import { SLOT_TICK_MS } from './torrent-slots.js';
import { isWebSeedKey } from './torrent-web-seeds.js';

/** How often a peer gets our ut_pex message (after the first): the convention's once a minute. */
export const PEX_INTERVAL_MS = 60_000;
/**
 * A peer's ut_pex message within this long of the last one we took is ignored: a minute, less room
 * for a timer that fires early and for the torrent clock's 5 s steps.
 */
export const PEX_MIN_INTERVAL_MS = 45_000;
/**
 * Addresses one connection may have named to us through PEX and not dropped (libtorrent's
 * max_pex_peers, which bounds the same set): a dropped one makes room for another.
 */
export const MAX_PEX_PEERS_PER_CONNECTION = 200;

/**
 * A peer whose extension handshake named ut_pex: told at once of the peers we are connected to
 * (none to name: its first message is due at the next tick). The clock (`nowMs`) moves in ticks and
 * this is between two, so its second message waits a tick more than the minute: never sooner than a
 * minute after the first. Heard again, it had turned ut_pex off (BEP 10: id 0) and on: what it was
 * told is forgotten (the turns it missed went on without a message), so its next message names
 * every peer, at its minute.
 */
export function pexSupported(context: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  if (!context.pex) return;
  const first = e.pexSent === undefined;
  e.pexDueMs = first ? context.nowMs : Math.max(e.pexDueMs, context.nowMs);
  e.pexSent = new Set();
  if (first && !context.leaving.has(e.key) && tell(e, pexPeers(context), fx))
    e.pexDueMs = context.nowMs + SLOT_TICK_MS + PEX_INTERVAL_MS;
}

/**
 * The addresses of a ut_pex message from `e` that we take (to be queued), or none: PEX off, a
 * message too soon after the last, or the connection's allowance spent.
 */
export function pexTaken(
  context: TorrentContext,
  e: PeerEntry,
  added: readonly PexPeer[],
  dropped: readonly string[] = [],
): string[] {
  if (!context.pex) return [];
  if (e.pexHeardMs !== undefined && context.nowMs - e.pexHeardMs < PEX_MIN_INTERVAL_MS) return [];
  e.pexHeardMs = context.nowMs;
  const named = (e.pexNamed ??= new Set());
  for (const a of dropped) named.delete(a);
  const complete = context.picker.isComplete();
  const senderLocal = isLocalAddress(e.address);
  const out: string[] = [];
  for (const p of added) {
    if (named.size >= MAX_PEX_PEERS_PER_CONNECTION) break;
    if (named.has(p.address)) continue;
    if (complete && (p.flags & PexFlag.seed) !== 0) continue;
    if (!isDialableHost(hostOf(p.address))) continue;
    if (!senderLocal && isLocalAddress(p.address)) continue;
    named.add(p.address);
    out.push(p.address);
  }
  return out;
}

/**
 * The swarm the peers a connection names are taken in: a hybrid's (BEP 52) v2 swarm when the
 * connection is in it (then they are dialled with the v2 hash), else the torrent's own. As
 * libtorrent 2.0: ut_pex.cpp flags each peer it reads `pex_lt_v2` when the sender's
 * `peer_info_struct()->protocol_v2` is set, and peer_list.cpp's insert_peer / update_peer turn that
 * flag into `protocol_v2`, the hash the peer is dialled with (peer_connection.cpp
 * associated_info_hash). We read no such flag from the wire (it is not BEP 11's).
 */
export function pexSwarm(e: Pick<PeerEntry, 'v2Swarm'>): 'v2' | undefined {
  return e.v2Swarm === true ? 'v2' : undefined;
}

/** Where each connection we may name listens, with its BEP 11 flags. */
function pexPeers(context: TorrentContext): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of context.peers.values()) {
    if (!e.handshaken || context.leaving.has(e.key) || isWebSeedKey(context, e.key)) continue; // a URL is no peer address
    const address = e.direction === 'outgoing' ? e.address : e.listenAddress;
    if (address === undefined) continue;
    const seed = e.bitfield.count === context.pieceCount ? PexFlag.seed : 0;
    // BEP 11's utp flag: it speaks uTP (it reached us, or we it, over uTP), as libtorrent sets it.
    const utp = e.transport === 'utp' ? PexFlag.utp : 0;
    out.set(address, seed | utp | (e.direction === 'outgoing' ? PexFlag.reachable : 0));
  }
  return out;
}

/** What `e` has not been told yet (added) and what it was told that is gone (dropped), bounded. */
export function pexDiff(
  current: ReadonlyMap<string, number>,
  e: Pick<PeerEntry, 'address' | 'listenAddress'>,
  sent: ReadonlySet<string>,
): { added: PexPeer[]; dropped: string[] } {
  const added: PexPeer[] = [];
  for (const [address, flags] of current) {
    if (added.length >= MAX_PEX_SENT) break;
    if (sent.has(address) || address === e.address || address === e.listenAddress) continue;
    added.push({ address, flags });
  }
  const dropped: string[] = [];
  for (const address of sent) {
    if (dropped.length >= MAX_PEX_SENT) break;
    if (!current.has(address)) dropped.push(address);
  }
  return { added, dropped };
}

/** Sends `e` the difference between `current` and what it was told, if any; whether it did. */
function tell(e: PeerEntry, current: ReadonlyMap<string, number>, fx: TorrentEffects): boolean {
  const sent = e.pexSent;
  if (sent === undefined) return false;
  const { added, dropped } = pexDiff(current, e, sent);
  if (added.length === 0 && dropped.length === 0) return false;
  for (const a of dropped) sent.delete(a);
  for (const p of added) sent.add(p.address);
  fx.toPeer(e.ref, { type: 'cmd.pex', added, dropped } satisfies PeerCommand);
  return true;
}

/** The clock ticked: every peer whose ut_pex message is due gets the difference (if any). */
export function sendDuePex(context: TorrentContext, fx: TorrentEffects): void {
  if (!context.pex) return;
  let current: Map<string, number> | undefined;
  for (const e of context.peers.values()) {
    if (e.pexSent === undefined || e.pexDueMs > context.nowMs || context.leaving.has(e.key)) continue;
    current ??= pexPeers(context);
    e.pexDueMs = context.nowMs + PEX_INTERVAL_MS;
    tell(e, current, fx);
  }
}
