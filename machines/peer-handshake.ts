/**
 * The handshake and what follows it (BEP 3, BEP 6): checking the remote's info hash and peer id,
 * and the messages that open the connection — our pieces, and the pieces we allow a fast peer.
 *
 * A hybrid torrent (BEP 52) is one payload in two swarms, named by its SHA-1 info-hash and by the
 * first 20 bytes of its SHA-256 one: a handshake carrying either is ours. An accepted connection of
 * a hybrid is answered after the peer's handshake, with the hash it used (libtorrent's
 * bt_peer_connection does the same). A hybrid whose piece layers we keep sets BEP 52's reserved bit
 * (peer.machine.ts, as libtorrent sets it on a hybrid's v1 connections): libtorrent then takes a
 * connection we dialled with the v1 hash as a v2 one, may answer with the v2 hash (accepted here
 * like the v1 one) and may ask it for hashes, which we answer (machines/peer-hashes.ts). Without
 * the layers the bit stays clear, as for a v1 torrent.
 */
import type { WireItem } from '../src/wire/messages.js';
import type { PeerContext } from './peer-context.js';

/** A remote handshake's info-hash names this torrent: its hash, or a hybrid's other swarm's. */
export function acceptsInfoHash(
  c: Pick<PeerContext, 'infoHash' | 'otherInfoHash'>,
  infoHash: Uint8Array,
): boolean {
  return (
    bytesEqual(infoHash, c.infoHash) ||
    (c.otherInfoHash !== undefined && bytesEqual(infoHash, c.otherInfoHash))
  );
}

/**
 * Our handshake waits for the peer's, to carry the hash it used: an accepted connection of a
 * hybrid (the peer may have come from either swarm). Otherwise ours goes at once.
 */
export function answersPeerHash(c: Pick<PeerContext, 'direction' | 'otherInfoHash'>): boolean {
  return c.direction === 'incoming' && c.otherInfoHash !== undefined;
}

/** Our first messages after the handshake, in the order they go on the wire. */
export function openingMessages(
  c: Pick<PeerContext, 'ourBitfield' | 'pieceCount' | 'grantedFast' | 'superSeed'>,
  fast: boolean,
): WireItem[] {
  const out: WireItem[] = [];
  // BEP 16: a super-seed says it has nothing — haveNone to a fast peer, else no bitfield, as
  // libtorrent's write_bitfield when super seeding — and no allowed fast set (those would be
  // pieces it never showed). Its pieces come one by one with have (cmd.reveal).
  if (c.superSeed) return fast ? [{ type: 'haveNone' }] : [];
  const have = c.ourBitfield.count;
  // BEP 6: a fast peer hears haveAll / haveNone instead of a full or empty bitfield. BEP 3: the
  // bitfield is optional, a peer with no pieces may skip it. The bytes are encoded synchronously.
  if (fast && have === c.pieceCount) out.push({ type: 'haveAll' });
  else if (fast && have === 0) out.push({ type: 'haveNone' });
  else if (have > 0) out.push({ type: 'bitfield', bitfield: c.ourBitfield.bytes });
  // BEP 6: the allowed fast set may be sent whether or not we have those pieces yet.
  if (fast) for (const index of c.grantedFast) out.push({ type: 'allowedFast', index });
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
