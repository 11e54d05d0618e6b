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
 */
import type { WireItem } from '../src/wire/messages.js';
import { OUR_UT_METADATA_ID, UT_METADATA } from '../src/wire/ut-metadata.js';
import { OUR_UT_PEX_ID, UT_PEX } from '../src/wire/ut-pex.js';
import type { PeerContext } from './peer-context.js';
import { servedMetadata } from './peer-metadata.js';

/** BEP 10: extended message id 0 is the extension handshake. */
export const EXTENSION_HANDSHAKE_ID = 0;
/** Our client name and version, the handshake's `v`. */
export const CLIENT_VERSION = 'bitstate 0.1.0';

/**
 * The bencoded handshake dictionary, keys in byte order (BEP 3):
 * `{ m: { ut_metadata: 1, ut_pex: 2 }, metadata_size: <size>, p: <listenPort>,
 * reqq: <maxPeerRequests>, v: CLIENT_VERSION }`, without `p` when we do not listen, without
 * ut_metadata and `metadata_size` when we have no metadata to serve (BEP 9), and without ut_pex
 * when peer exchange is off (BEP 11, BEP 27). Written out here because the bencode encoder in
 * src/metainfo uses Buffer (machines stay free of Node); a unit test checks the bytes against that
 * encoder.
 */
export function extensionHandshakePayload(
  reqq: number,
  listenPort?: number,
  metadataSize?: number,
  pex = false,
): Uint8Array {
  const v = new TextEncoder().encode(CLIENT_VERSION);
  const p = acceptedListenPort(listenPort) === undefined ? '' : `1:pi${listenPort}e`;
  // `ut_metadata` < `ut_pex` in byte order.
  const names =
    (metadataSize === undefined ? '' : `11:${UT_METADATA}i${OUR_UT_METADATA_ID}e`) +
    (pex ? `6:${UT_PEX}i${OUR_UT_PEX_ID}e` : '');
  const size = metadataSize === undefined ? '' : `13:metadata_sizei${Math.trunc(metadataSize)}e`;
  const m = `1:md${names}e${size}`;
  const head = new TextEncoder().encode(`d${m}${p}4:reqqi${Math.trunc(reqq)}e1:v${v.length}:`);
  const out = new Uint8Array(head.length + v.length + 1);
  out.set(head, 0);
  out.set(v, head.length);
  out[out.length - 1] = 0x65; // 'e'
  return out;
}

/** Our extension handshake, sent right after our opening messages when both ends set the BEP 10 bit. */
export function extensionHandshake(
  c: Pick<PeerContext, 'limits' | 'listenPort' | 'metadata' | 'pex'>,
): WireItem {
  return {
    type: 'extended',
    extendedId: EXTENSION_HANDSHAKE_ID,
    payload: extensionHandshakePayload(
      c.limits.maxPeerRequests,
      c.listenPort,
      servedMetadata(c)?.length,
      c.pex,
    ),
  };
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
