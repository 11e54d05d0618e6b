/**
 * BEP 10, the Extension Protocol, in the peer machine: our extension handshake (extended message
 * id 0) and the fields of the peer's we use: `reqq`, how many outstanding requests it serves
 * without dropping, `p`, the port it listens on, and `m.ut_metadata`, where to send BEP 9 answers.
 * We announce ut_metadata (BEP 9, machines/peer-metadata.ts), with `metadata_size`, when we have the
 * torrent's metadata to serve, and ut_pex (BEP 11, machines/peer-pex.ts) unless the torrent is
 * private (BEP 27) or peer exchange is off. The handshake also exists so a peer that pipelines
 * deeper than our maxPeerRequests (and lacks BEP 6 rejects) learns our queue size instead of
 * waiting out its request timeouts, and so a peer we dialled learns where to dial us back (our
 * `p`). Pure: the peer's payload is decoded by the connection actor.
 *
 * BEP 21, partial seeds, as libtorrent does it: our handshake says `upload_only: 1` when we will not
 * download (a seed, or a partial seed: every wanted piece verified, seeding), and names libtorrent's
 * `upload_only` message in `m`, under which a peer tells us when that changes; when ours changes
 * during a connection we send that message to a peer that named it (src/wire/upload-only.ts). A
 * peer's `upload_only` is kept (the torrent machine hears it: the choker leaves such a peer choked),
 * and when both ends are upload only nothing can flow either way: the connection is closed
 * (`notNeeded`, libtorrent's upload_upload_connection).
 */
import type { WireItem } from '../src/wire/messages.js';
import { OUR_UPLOAD_ONLY_ID, UPLOAD_ONLY, uploadOnlyMessage } from '../src/wire/upload-only.js';
import { OUR_UT_METADATA_ID, UT_METADATA } from '../src/wire/ut-metadata.js';
import { OUR_UT_PEX_ID, UT_PEX } from '../src/wire/ut-pex.js';
import type { PeerEvent } from './peer.types.js';
import type { PeerContext } from './peer-context.js';
import { servedMetadata } from './peer-metadata.js';

/** BEP 10: extended message id 0 is the extension handshake. */
export const EXTENSION_HANDSHAKE_ID = 0;
/** Our client name and version, the handshake's `v`. */
export const CLIENT_VERSION = 'bitstate 0.1.0';

/**
 * The bencoded handshake dictionary, keys in byte order (BEP 3):
 * `{ m: { upload_only: 3, ut_metadata: 1, ut_pex: 2 }, metadata_size: <size>, p: <listenPort>,
 * reqq: <maxPeerRequests>, upload_only: 1, v: CLIENT_VERSION }`, without `p` when we do not listen,
 * without ut_metadata and `metadata_size` when we have no metadata to serve (BEP 9), without ut_pex
 * when peer exchange is off (BEP 11, BEP 27), and without the top-level `upload_only` while we
 * download (BEP 21). Written out here because the bencode encoder in src/metainfo uses Buffer
 * (machines stay free of Node); a unit test checks the bytes against that encoder.
 */
export function extensionHandshakePayload(
  reqq: number,
  listenPort?: number,
  metadataSize?: number,
  pex = false,
  uploadOnly = false,
): Uint8Array {
  const v = new TextEncoder().encode(CLIENT_VERSION);
  const p = acceptedListenPort(listenPort) === undefined ? '' : `1:pi${listenPort}e`;
  // `upload_only` < `ut_metadata` < `ut_pex` in byte order.
  const names =
    `11:${UPLOAD_ONLY}i${OUR_UPLOAD_ONLY_ID}e` +
    (metadataSize === undefined ? '' : `11:${UT_METADATA}i${OUR_UT_METADATA_ID}e`) +
    (pex ? `6:${UT_PEX}i${OUR_UT_PEX_ID}e` : '');
  const size = metadataSize === undefined ? '' : `13:metadata_sizei${Math.trunc(metadataSize)}e`;
  const m = `1:md${names}e${size}`;
  const ours = uploadOnly ? `11:${UPLOAD_ONLY}i1e` : '';
  const head = new TextEncoder().encode(`d${m}${p}4:reqqi${Math.trunc(reqq)}e${ours}1:v${v.length}:`);
  const out = new Uint8Array(head.length + v.length + 1);
  out.set(head, 0);
  out.set(v, head.length);
  out[out.length - 1] = 0x65; // 'e'
  return out;
}

/** Our extension handshake, sent right after our opening messages when both ends set the BEP 10 bit. */
export function extensionHandshake(
  c: Pick<PeerContext, 'limits' | 'listenPort' | 'metadata' | 'pex' | 'uploadOnly'>,
): WireItem {
  return {
    type: 'extended',
    extendedId: EXTENSION_HANDSHAKE_ID,
    payload: extensionHandshakePayload(
      c.limits.maxPeerRequests,
      c.listenPort,
      servedMetadata(c)?.length,
      c.pex,
      c.uploadOnly,
    ),
  };
}

/**
 * BEP 21: the upload_only message the peer is owed — ours changed since our extension handshake (or
 * our last such message) told it, and it named the message in its `m` — or undefined. A peer that
 * did not name it (Transmission, aria2) learns it from our handshake only, as libtorrent leaves it.
 */
export function uploadOnlyNews(
  c: Pick<PeerContext, 'extensions' | 'uploadOnly' | 'uploadOnlySent' | 'peerUploadOnlyId'>,
): WireItem | undefined {
  if (!c.extensions || c.peerUploadOnlyId === undefined || c.uploadOnly === c.uploadOnlySent)
    return undefined;
  return uploadOnlyMessage(c.peerUploadOnlyId, c.uploadOnly);
}

/**
 * BEP 21: whether the peer will download from us after this event. Its extension handshake can
 * only say it will not (a handshake sent again without `upload_only` changes nothing, as in
 * libtorrent); its upload_only message says either. Any other event changes nothing.
 */
export function peerUploadOnlyAfter(c: Pick<PeerContext, 'peerUploadOnly'>, e: PeerEvent): boolean {
  if (e.type === 'wire.extendedHandshake') return c.peerUploadOnly || e.uploadOnly === true;
  if (e.type === 'wire.uploadOnly') return e.uploadOnly;
  return c.peerUploadOnly;
}

/**
 * The peer's `reqq`, kept when it is a usable queue size (an integer ≥ 1); anything else leaves the
 * cap as it was (a malformed field is ignored, not fatal). Stored as sent; pipelineCap takes the min.
 */
export function acceptedReqq(reqq: number | undefined): number | undefined {
  return reqq !== undefined && Number.isSafeInteger(reqq) && reqq >= 1 ? reqq : undefined;
}

/** A TCP port a peer can be dialled on (1–65535); anything else is no port (ignored, not fatal). */
export function acceptedListenPort(port: number | undefined): number | undefined {
  return port !== undefined && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

/** Outstanding requests we allow this peer: maxPipeline, lowered to the peer's reqq (BEP 10). */
export function pipelineCap(c: Pick<PeerContext, 'limits' | 'peerReqq'>): number {
  return c.peerReqq === undefined ? c.limits.maxPipeline : Math.min(c.limits.maxPipeline, c.peerReqq);
}
