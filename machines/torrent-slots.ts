/**
 * Connection slots (docs/machines.md, "Connection slots"): which connections hold one of the
 * `maxPeers` slots, the separate allowance for incoming connections before their handshake, and
 * which connection makes room for a newcomer when every slot is taken — rather than refusing the
 * newcomer, as libtorrent (connections_slack, compare_disconnect_peer, inactivity_timeout) and
 * Transmission (closing peers idle past a limit when near full) do in spirit.
 *
 * - An incoming connection holds no slot until its handshake: it waits in `halfOpen`, at most
 *   `maxHalfOpen` (default: as many as `maxPeers`) of them; a newcomer finding the allowance full
 *   closes the oldest. An honest peer sends its handshake as soon as it connects (BEP 3), so it
 *   leaves `halfOpen` within a round trip; sockets that never send one can only churn among
 *   themselves and never hold a slot, so they no longer lock honest peers out. The allowance is as
 *   large as the slots because sockets accepted together are all adopted before any of their
 *   handshakes is read (a busy event loop, sockets queued during the start-up check): a burst of
 *   honest peers larger than the allowance loses its oldest.
 * - At its handshake an incoming connection takes a slot. When all are taken, the least useful
 *   handshaken connection is closed to make room: first one where neither side has been interested
 *   for UNINTERESTED_EVICT_MS (nothing can flow either way), longest so first; else one with no
 *   payload either way for IDLE_EVICT_MS (holding a slot with keep-alives), longest idle first.
 *   If none is that useless, the newcomer is closed instead (`tooManyConnections`): a slot never
 *   moves from a connection in use. Nothing is closed while a slot is free.
 * - Our own dials take a slot from the dial (we choose whom to dial; they time out on their own).
 */
import type { CloseReason, EvictionRule, PeerCommand } from './peer.types.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';
import { isWebSeedKey, liveWebSeeds } from './torrent-web-seeds.js';

/** The torrent machine's clock step (the `ticker` actor). */
export const SLOT_TICK_MS = 5_000;
/** Neither side interested this long: the connection may make room for a newcomer. */
export const UNINTERESTED_EVICT_MS = 60_000;
/** No payload either way this long: the connection may make room for a newcomer. */
export const IDLE_EVICT_MS = 300_000;

/** Connections holding a slot: all but incoming ones before their handshake and those leaving. */
export function slotsUsed(context: TorrentContext): number {
  // Web seeds (BEP 19) are in `peers` but hold no slot: they are HTTP servers, not peers to rotate.
  return context.peers.size - context.halfOpen.size - context.leaving.size - liveWebSeeds(context);
}

function close(context: TorrentContext, e: PeerEntry, reason: CloseReason, fx: TorrentEffects): void {
  context.halfOpen.delete(e.key);
  context.leaving.add(e.key);
  fx.toPeer(e.ref, { type: 'cmd.close', reason } satisfies PeerCommand);
}

/** Before adopting an incoming connection: room in the half-open allowance, the oldest closed. */
export function makeHalfOpenRoom(context: TorrentContext, fx: TorrentEffects): void {
  for (const key of context.halfOpen) {
    if (context.halfOpen.size < context.maxHalfOpen) return;
    // Every half-open key has its entry: both are made in one action and gone in one (onClosed).
    const e = context.peers.get(key)!;
    close(context, e, { reason: 'evicted', rule: 'halfOpen' }, fx);
  }
}

/**
 * What a connection's handshake does to the slots, decided by this one rule (the torrent machine's
 * guard isRefusedSlot and its takeSlot each ask it; with every slot taken that is two passes over the
 * peers for leastUseful, at most maxPeers each, per incoming handshake): nothing for a dial (it holds its slot from the
 * dial); an incoming one takes a `free` slot, or one a useless connection is closed for (`evict`),
 * or — when none is that useless — is `refused` (`tooManyConnections`). Nothing either (`held`)
 * for an incoming one that makeHalfOpenRoom closed while its `peer.handshaken` was already queued:
 * no longer in `halfOpen` but in `leaving`, it takes no slot (slotsUsed leaves it out), yet it goes
 * on as handshaken — `torrent.peerConnected` and the choker's join, then its close.
 */
export type SlotDecision =
  | { readonly slot: 'held' | 'free' | 'refused' }
  | { readonly slot: 'evict'; readonly victim: PeerEntry; readonly rule: EvictionRule };

export function slotFor(context: TorrentContext, e: PeerEntry): SlotDecision {
  if (!context.halfOpen.has(e.key)) return { slot: 'held' };
  if (slotsUsed(context) < context.maxPeers) return { slot: 'free' }; // e is half-open: not counted yet
  const victim = leastUseful(context, e);
  return victim === undefined
    ? { slot: 'refused' }
    : { slot: 'evict', victim: victim.entry, rule: victim.rule };
}

/**
 * A handshaken connection not refused (isRefusedSlot): it holds its slot, one made for it if need
 * be — or, closed by makeHalfOpenRoom before its handshake was taken (`held`, in `leaving`), none.
 */
export function takeSlot(context: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  const decision = slotFor(context, e);
  context.halfOpen.delete(e.key);
  if (decision.slot === 'evict')
    close(context, decision.victim, { reason: 'evicted', rule: decision.rule }, fx);
}

/** A newcomer refused a slot (isRefusedSlot): closed. */
export function refuseSlot(context: TorrentContext, e: PeerEntry, fx: TorrentEffects): void {
  close(context, e, { reason: 'tooManyConnections' }, fx);
}

/** Payload flowed either way at the peer's last rate report. */
function busy(e: PeerEntry): boolean {
  return e.downloadRate > 0 || e.uploadRate > 0;
}

/** The handshaken connection to close for `newcomer`, and the rule that allows it; else undefined. */
function leastUseful(
  context: TorrentContext,
  newcomer: PeerEntry,
): { entry: PeerEntry; rule: EvictionRule } | undefined {
  let uninterested: PeerEntry | undefined;
  let idle: PeerEntry | undefined;
  for (const e of context.peers.values()) {
    if (e === newcomer || !e.handshaken || context.leaving.has(e.key) || isWebSeedKey(context, e.key))
      continue;
    const since = e.uninterestedSinceMs;
    if (
      since !== undefined &&
      context.nowMs - since >= UNINTERESTED_EVICT_MS &&
      (uninterested?.uninterestedSinceMs ?? Number.POSITIVE_INFINITY) > since
    )
      uninterested = e;
    if (
      !busy(e) &&
      context.nowMs - e.idleSinceMs >= IDLE_EVICT_MS &&
      (idle?.idleSinceMs ?? Infinity) > e.idleSinceMs
    )
      idle = e;
  }
  if (uninterested !== undefined) return { entry: uninterested, rule: 'uninterested' };
  return idle === undefined ? undefined : { entry: idle, rule: 'idle' };
}

/** The ticker's beat: time passes, and each handshaken connection's use is noted. */
export function clockTick(context: TorrentContext): void {
  context.nowMs += SLOT_TICK_MS;
  for (const e of context.peers.values()) {
    if (!e.handshaken) continue;
    if (busy(e)) e.idleSinceMs = context.nowMs;
    if (e.interested || e.peerInterested) e.uninterestedSinceMs = undefined;
    else e.uninterestedSinceMs ??= context.nowMs;
  }
}
