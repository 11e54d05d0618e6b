/**
 * BEP 11, Peer Exchange, in the peer machine: the connection's part is small. The torrent machine
 * decides what each peer is told and when (machines/torrent-pex.ts); here a `cmd.pex` becomes a
 * ut_pex message under the id the peer gave ut_pex in its extension handshake, and a ut_pex message
 * from the peer (decoded and bounded by the connection: src/wire/decode-ut-pex.ts) is passed on as
 * `peer.pex` with its added and dropped peers — only when peer exchange is on for the torrent, which
 * is when we announced ut_pex. A dropped address stays in our address book (it may be the peer's
 * connection that failed, not the address), as libtorrent keeps it; it only frees room in what that
 * peer may name (machines/torrent-pex.ts). Pure.
 *
 *   cmd.pex { added, dropped }  →  <len><id=20><peer's ut_pex id>d5:added…8:dropped6…e
 *   wire.pex { added, dropped } →  peer.pex { key, added, dropped }   (pex on; else ignored)
 */
import type { WireItem } from '../src/wire/messages.js';
import { encodeUtPex, type PexPeer } from '../src/wire/ut-pex.js';
import type { PeerContext } from './peer-context.js';

/** Our ut_pex message to the peer, or undefined when it gave ut_pex no id (or PEX is off). */
export function pexMessage(
  c: Pick<PeerContext, 'pex' | 'peerUtPex'>,
  added: readonly PexPeer[],
  dropped: readonly string[],
): WireItem | undefined {
  if (!c.pex || c.peerUtPex === undefined) return undefined;
  return { type: 'extended', extendedId: c.peerUtPex, payload: encodeUtPex({ added, dropped }) };
}

/** A ut_pex id from an extension handshake that we may send under: 1–255 (0 means "none"). */
export function acceptedUtPex(id: number | undefined): number | undefined {
  return id !== undefined && Number.isInteger(id) && id >= 1 && id <= 255 ? id : undefined;
}
