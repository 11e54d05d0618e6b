/**
 * BEP 21, the Extension for partial seeds: a peer that will not download anything more — a seed,
 * or a partial seed that has every piece of the files it wants — says `upload_only: 1` in its BEP 10
 * extension handshake. When that changes during a connection, libtorrent tells the peer with its
 * `upload_only` extension message (named in the handshake's `m` like any extension, libtorrent's
 * id 3): a BEP 10 extended message whose payload is one byte, 1 (upload only) or 0 (downloading
 * again). We do as libtorrent: name it in our `m`, send it to a peer that named it, and read it
 * under our id. A payload other than one byte is ignored, as libtorrent ignores it.
 *
 *   <len=0003><id=20><the peer's upload_only id><0 | 1>
 *
 * Pure (no Buffer), so the peer machine can encode.
 */
import type { WireItem } from './messages.js';

/** The key of the extension handshake (and the extension's name in its `m`). */
export const UPLOAD_ONLY = 'upload_only';

/** The extended message id we take upload_only messages under (ut_metadata 1, ut_pex 2; libtorrent's is 3 too). */
export const OUR_UPLOAD_ONLY_ID = 3;

/** The upload_only message to a peer that takes it under `extendedId`. */
export function uploadOnlyMessage(extendedId: number, uploadOnly: boolean): WireItem {
  return { type: 'extended', extendedId, payload: Uint8Array.of(uploadOnly ? 1 : 0) };
}

/** An upload_only message's payload: true or false, or undefined when it is not one byte (ignored). */
export function decodeUploadOnly(payload: Uint8Array): boolean | undefined {
  return payload.length === 1 ? payload[0] !== 0 : undefined;
}
