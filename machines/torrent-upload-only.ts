/**
 * BEP 21, partial seeds, in the torrent machine (the peer machine's half is peer-extension.ts): we
 * are upload only once every wanted piece is verified and we seed — a complete seed, or a partial
 * seed of the files selected — and every connection hears it (`cmd.uploadOnly`). A peer that says
 * it is upload only is kept on its entry (the choker does not unchoke it: choker.machine.ts) and on
 * the address it listens at, which, as libtorrent's peer list does (`maybe_upload_only` in
 * is_connect_candidate), is not dialled while we are upload only too: nothing would flow either way.
 */
import type { PeerCommand } from './peer.types.js';
import type { AddressRecord } from './torrent-address-book.js';
import type { TorrentContext, TorrentEffects } from './torrent-context.js';
import type { PeerEntry } from './torrent-peers.js';

/** We will not download: every wanted piece is verified. */
export function isUploadOnly(context: TorrentContext): boolean {
  return context.picker.isComplete();
}

/** The peer said it will (not) download from us: noted on its entry and where it listens. */
export function notePeerUploadOnly(context: TorrentContext, e: PeerEntry, uploadOnly: boolean): void {
  e.uploadOnly = uploadOnly;
  const listening = e.direction === 'outgoing' ? e.address : e.listenAddress;
  const rec = listening === undefined ? undefined : context.addresses.get(listening);
  if (rec === undefined) return;
  if (uploadOnly) rec.uploadOnly = true;
  else delete rec.uploadOnly;
}

/** We became upload only (seeding): every connection is told (peers spawned from now on are born so). */
export function tellPeersUploadOnly(context: TorrentContext, fx: TorrentEffects): void {
  for (const e of context.peers.values()) fx.toPeer(e.ref, { type: 'cmd.uploadOnly' } satisfies PeerCommand);
}

/** An address not worth dialling: its peer is upload only, and so are we. */
export function isUploadOnlyPairAt(context: TorrentContext, rec: AddressRecord): boolean {
  return rec.uploadOnly === true && isUploadOnly(context);
}
