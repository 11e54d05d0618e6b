/**
 * BEP 21, partial seeds, in the torrent machine (the peer machine's half is peer-extension.ts): we
 * are upload only once every wanted piece is verified and we seed — a complete seed, or a partial
 * seed of the files selected — and every connection hears it (`cmd.uploadOnly`). A peer that says
 * it is upload only is kept on its entry (the choker does not unchoke it: choker.machine.ts) and on
 * the address it listens at, which, as libtorrent's peer list does (`maybe_upload_only` in
 * is_connect_candidate), is not dialled while we are upload only too: nothing would flow either way.
 *
 * While we download, an upload-only peer whose bitfield we have and that has no piece we want is
 * closed (`uninterestingUploadOnly`), as libtorrent's disconnect_if_redundant closes it
 * (uninteresting_upload_peer) — at once, not only when a slot is needed: it will never want
 * anything from us, and we want nothing from it. Judged when its bitfield comes, when it says it
 * is upload only, and when we lose interest in it (torrent-handout.ts fill: the last piece of its
 * we wanted is ours or in flight no more). A peer with no piece at all (BEP 6 haveNone, or no
 * bitfield) is not judged, as libtorrent does not judge one that sent no bitfield; the slots'
 * `uninterested` rule lets it go when room is needed (torrent-slots.ts).
 *
 * Dialled again? libtorrent's peer list dials it again after min_reconnect_time (60 s), a normal
 * close counting no failure (is_connect_candidate excludes such a peer only once the torrent is
 * finished): each time to find the same — an upload-only peer downloads nothing, so what it has does
 * not change while it stays upload only, and what we want only shrinks (the selection is fixed for
 * a torrent machine's life). We do not: its address is marked `nothingWanted` and not dialled nor
 * requeued while we download (nor, as upload only, once we seed). A peer whose HAVEs would make it
 * interesting is one that downloads, so not upload only: it says so first (its upload_only message
 * 0 clears the mark) on a connection it makes to us.
 */
import type { PeerCommand } from './peer.types.js';
import type { AddressRecord } from './torrent-address-book.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';
import { heldForLayers } from './torrent-piece-layers.js';
import { isWebSeedKey } from './torrent-web-seeds.js';

/** We will not download: every wanted piece is verified. */
export function isUploadOnly(context: TorrentContext): boolean {
  return context.picker.isComplete();
}

/**
 * A partial seed (BEP 21): every wanted piece verified, not every piece (a `--select` / `--only`
 * download). Its trackers hear `paused` in each announce and never `completed`
 * (machines/tracker-announce-event.ts).
 */
export function isPartialSeed(context: TorrentContext): boolean {
  return context.picker.isComplete() && !context.picker.have.isComplete();
}

/** Where the peer of `e` listens, as far as we know: a dial's address, an incoming peer's BEP 10 `p`. */
function listeningRecord(context: TorrentContext, e: PeerEntry): AddressRecord | undefined {
  const listening = e.direction === 'outgoing' ? e.address : e.listenAddress;
  return listening === undefined ? undefined : context.addresses.get(listening);
}

/** The peer said it will (not) download from us: noted on its entry and where it listens. */
export function notePeerUploadOnly(context: TorrentContext, e: PeerEntry, uploadOnly: boolean): void {
  e.uploadOnly = uploadOnly;
  const rec = listeningRecord(context, e);
  if (rec === undefined) return;
  if (uploadOnly) rec.uploadOnly = true;
  else {
    delete rec.uploadOnly;
    delete rec.nothingWanted;
  }
}

/**
 * We became upload only (seeding): every connection is told (peers spawned from now on are born
 * so). A peer still asked for a hybrid's piece layers (torrent-piece-layers.ts: heldForLayers) is
 * told once they are in, or once it has nothing left to give them (`layerSources`): two upload-only
 * ends close their connection, and the layers with it.
 */
export function tellPeersUploadOnly(
  context: TorrentContext,
  fx: TorrentEffects,
  which: 'all' | 'layerSources' = 'all',
): void {
  for (const e of context.peers.values()) {
    const held = heldForLayers(context, e);
    if (which === 'all' ? held : e.layerSource !== true || held) continue;
    // A super-seeded connection (BEP 16) is not told: it is to take us for a downloader.
    if (e.superSeed) continue;
    fx.toPeer(e.ref, { type: 'cmd.uploadOnly' } satisfies PeerCommand);
  }
}

/**
 * An address not worth dialling: its peer is upload only and so are we, or (while we download) it
 * had nothing we want (`nothingWanted`).
 */
export function isUploadOnlyPairAt(context: TorrentContext, rec: AddressRecord): boolean {
  return rec.uploadOnly === true && (rec.nothingWanted === true || isUploadOnly(context));
}

/**
 * libtorrent's uninteresting_upload_peer: `e` is upload only, its bitfield came, it has no piece we
 * want, and we still download (both upload only is the peer machine's `notNeeded`), and it is not
 * on its way out already.
 */
export function isUninterestingUploadOnly(context: TorrentContext, e: PeerEntry): boolean {
  return (
    e.uploadOnly &&
    e.handshaken &&
    e.bitfieldCame &&
    !isUploadOnly(context) &&
    !context.leaving.has(e.key) &&
    !isWebSeedKey(context, e.key) &&
    !context.picker.isInterested(e.bitfield)
  );
}

/**
 * Closes `e` as `uninterestingUploadOnly` when isUninterestingUploadOnly says so, its listening
 * address marked `nothingWanted` (not dialled again while we download). True when it was closed.
 */
export function closeIfUninterestingUploadOnly(
  context: TorrentContext,
  e: PeerEntry,
  toPeer: TorrentEffects['toPeer'],
): boolean {
  if (!isUninterestingUploadOnly(context, e)) return false;
  const rec = listeningRecord(context, e);
  if (rec !== undefined) rec.nothingWanted = true;
  context.leaving.add(e.key);
  toPeer(e.ref, { type: 'cmd.close', reason: { reason: 'uninterestingUploadOnly' } } satisfies PeerCommand);
  return true;
}

/**
 * Piece `index` verified: an upload-only peer that has it may have had nothing else we want (the
 * last piece of its we wanted, now ours): closed as closeIfUninterestingUploadOnly says. Only peers
 * with the piece are judged — one without it is as interesting as it was.
 */
export function closeUninterestingUploadOnlyWith(
  context: TorrentContext,
  index: number,
  toPeer: TorrentEffects['toPeer'],
): void {
  for (const e of context.peers.values())
    if (e.uploadOnly && e.bitfield.has(index)) closeIfUninterestingUploadOnly(context, e, toPeer);
}
