/**
 * Handing out blocks (docs/machines.md, "Torrent machine"): what the picker gives each peer, never
 * past the per-peer cap; blocks that arrive, are written and verified; endgame cancels; and suspect
 * pieces, fetched again from one peer only (the ban rule).
 */
import { Bitfield } from '../src/picker/bitfield.js';
import type { BlockRef, PeerCommand, PeerKey, ReceivedBlock } from './peer.types.js';
import type { StorageCommand } from './torrent.types.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry, PeerRef } from './torrent-peers.js';
import { closeIfUninterestingUploadOnly } from './torrent-upload-only.js';
import { isWebSeedKey } from './torrent-web-seeds.js';

/** What accepted blocks ask of storage: the blocks to write, then the pieces they completed. */
export interface StorageWork {
  readonly writes: ReceivedBlock[];
  readonly verifies: number[];
}

/**
 * A block from peer `key`: the picker accepts it (or it is a late endgame duplicate / a block
 * returned meanwhile, dropped), it joins `work.writes`, endgame copies elsewhere are cancelled, and a
 * completed piece joins `work.verifies`.
 */
export function takeBlock(
  c: TorrentContext,
  key: PeerKey,
  b: ReceivedBlock,
  work: StorageWork,
  toPeer: (ref: PeerRef, cmd: PeerCommand) => void,
): void {
  const { index, begin, block } = b;
  const ref: BlockRef = { index, begin, length: block.length };
  const got = c.picker.blockReceived(ref, key);
  if (!got.accepted) return;
  work.writes.push(b);
  // Endgame: the same block is outstanding to others; tell them not to bother.
  for (const other of got.otherRequesters) {
    const o = c.peers.get(other);
    if (o !== undefined) toPeer(o.ref, { type: 'cmd.cancel', blocks: [ref] });
  }
  if (got.pieceComplete) work.verifies.push(index);
}

/**
 * The blocks of one socket read from peer `key`, each decided as `takeBlock` does; storage hears one
 * write for them all, then a verify per piece they completed (after the write, which it waits on).
 */
export function takeBlocks(
  c: TorrentContext,
  key: PeerKey,
  blocks: readonly ReceivedBlock[],
  toStorage: (cmd: StorageCommand) => void,
  toPeer: (ref: PeerRef, cmd: PeerCommand) => void,
): void {
  const work: StorageWork = { writes: [], verifies: [] };
  for (const b of blocks) takeBlock(c, key, b, work, toPeer);
  if (work.writes.length > 0) toStorage({ type: 'storage.write', blocks: work.writes });
  for (const index of work.verifies) toStorage({ type: 'storage.verify', index });
}

export interface Send {
  ref: PeerRef;
  cmd: PeerCommand;
}

/** Unchoked, or choked by a fast peer with allowed fast pieces to offer (BEP 6). */
export function canRequest(e: PeerEntry): boolean {
  return e.unchoked || e.allowedFast !== undefined;
}

/** Give `e` what the picker has for it, never past the per-peer cap; drop interest when nothing is left. */
export function fill(c: TorrentContext, e: PeerEntry): Send[] {
  const n = Math.min(e.wanted, c.maxPipeline - c.picker.outstandingFor(e.key));
  const from = e.unchoked ? e.bitfield : e.allowedFast;
  if (n <= 0 || from === undefined || !e.interested) return [];
  // A web seed fetches adjacent blocks in one GET: it is handed runs of pieces (BEP 19).
  const blocks = c.picker.pick(withoutOthersSuspects(c, e, from), n, e.key, isWebSeedKey(c, e.key));
  c.suspects.claim(e.key, blocks);
  e.wanted -= blocks.length;
  if (blocks.length > 0) return [{ ref: e.ref, cmd: { type: 'cmd.request', blocks } }];
  if (!e.unchoked) {
    // Nothing among its allowed fast pieces (interest is about all its pieces, so it stays): it
    // leaves topUp's round until its machine asks again (unchoked, or new allowed fast pieces).
    // Asked again after every returned block instead, each of hundreds of choked fast peers made
    // a fruitless pick: quadratic, seconds of CPU in a 500-peer endgame (docs/performance.md).
    e.allowedFast = undefined;
    e.wanted = 0;
    return [];
  }
  if (!c.picker.isInterested(e.bitfield)) {
    e.interested = false;
    e.wanted = 0;
    const out: Send[] = [{ ref: e.ref, cmd: { type: 'cmd.notInterested' } }];
    // BEP 21: an upload-only peer with nothing more we want is closed (torrent-upload-only.ts).
    closeIfUninterestingUploadOnly(c, e, (ref, cmd) => out.push({ ref, cmd }));
    return out;
  }
  return [];
}

/**
 * The pieces `key` may be handed: `from` less the suspect pieces another peer owns or `key` is
 * barred from (a copy, only when there are some). Masked before the pick, not filtered after it: blocks handed back after a
 * pick were missing again, so the picker had left endgame under blocks it had just handed out as
 * endgame duplicates (found by the swarm simulation).
 */
export function withoutOthersSuspects(c: TorrentContext, e: PeerEntry, from: Bitfield): Bitfield {
  if (c.suspects.size === 0) return from;
  const { key } = e;
  const bar = suspectBarKey(e);
  let masked: Bitfield | undefined;
  for (const index of c.suspects.indices()) {
    if (!from.has(index) || c.suspects.mayTake(index, key, bar, c.nowMs)) continue;
    masked ??= new Bitfield(from.size, from.bytes);
    masked.clear(index);
  }
  return masked ?? from;
}

/**
 * What a suspect's bar is kept under (suspect-pieces.ts): a dialled peer's address, an incoming
 * peer's host (src/net/ban-key.ts), whose next connection comes from another source port.
 */
function suspectBarKey(e: Pick<PeerEntry, 'key' | 'direction' | 'host'>): string {
  return e.direction === 'incoming' ? e.host : e.key;
}

/**
 * A suspect's owner that chokes or goes frees the piece for another single owner, and may not own
 * it again for a while (suspect-pieces.ts).
 */
export function releaseSuspects(c: TorrentContext, e: Pick<PeerEntry, 'key' | 'direction' | 'host'>): void {
  c.suspects.release(e.key, suspectBarKey(e), c.nowMs);
}

/** After blocks came back (choke, close, failed piece): offer them to every peer with room. */
export function topUp(c: TorrentContext): Send[] {
  const out: Send[] = [];
  for (const e of c.peers.values()) if (e.wanted > 0 && canRequest(e)) out.push(...fill(c, e));
  return out;
}

/** The peer's bitfield (a later one replaces the earlier one): availability, then our interest. */
export function peerBitfield(c: TorrentContext, e: PeerEntry, bitfield: Bitfield, fx: TorrentEffects): void {
  // A later bitfield (aria2 sends several) replaces the earlier one in the availability counts.
  if (e.bitfield !== bitfield && e.bitfield.count > 0) c.picker.removeAvailability(e.bitfield);
  c.picker.addAvailability(bitfield);
  e.bitfield = bitfield;
  if (!e.interested && c.picker.isInterested(e.bitfield)) {
    e.interested = true;
    fx.toPeer(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
  }
}

/** The peer's `have`: availability, then interest, or blocks of it if the peer has room. */
export function peerHave(c: TorrentContext, e: PeerEntry, index: number, fx: TorrentEffects): void {
  c.picker.addHave(index);
  if (!e.interested && c.picker.wantsPiece(index)) {
    e.interested = true;
    fx.toPeer(e.ref, { type: 'cmd.interested' } satisfies PeerCommand);
  } else if (canRequest(e) && e.wanted > 0) {
    for (const s of fill(c, e)) fx.toPeer(s.ref, s.cmd);
  }
}

/** The peer has room for `count` requests; `allowedFast` when it chokes us (BEP 6). */
export function peerWants(
  c: TorrentContext,
  e: PeerEntry,
  count: number,
  allowedFast: readonly number[] | undefined,
  fx: TorrentEffects,
): void {
  if (allowedFast === undefined) {
    e.unchoked = true;
    e.allowedFast = undefined;
  } else {
    // Choked by a fast peer: pick only among its allowed fast pieces (a handful, BEP 6).
    e.unchoked = false;
    e.allowedFast = new Bitfield(c.pieceCount);
    for (const i of allowedFast) e.allowedFast.set(i);
  }
  e.wanted = count;
  for (const s of fill(c, e)) fx.toPeer(s.ref, s.cmd);
}

/** Blocks a peer handed back (peer.returned) or lost to a choke (peer.choked): offered to others. */
export function blocksReturned(
  c: TorrentContext,
  key: PeerKey,
  returned: readonly BlockRef[],
  choked: boolean,
  fx: TorrentEffects,
): void {
  const e = c.peers.get(key);
  for (const ref of returned) c.picker.blockReturned(ref, key);
  if (e !== undefined) {
    e.wanted = 0; // it asks again when it has room
    if (choked) {
      e.unchoked = false;
      e.allowedFast = undefined;
      releaseSuspects(c, e);
    }
  }
  for (const s of topUp(c)) fx.toPeer(s.ref, s.cmd);
}
