/**
 * The handshake and what follows it (BEP 3, BEP 6): checking the remote's info hash and peer id,
 * and the messages that open the connection — our pieces, and the pieces we allow a fast peer.
 */
import type { WireItem } from '../src/wire/messages.js';
import type { PeerContext } from './peer-context.js';

/** Our first messages after the handshake, in the order they go on the wire. */
export function openingMessages(
  c: Pick<PeerContext, 'ourBitfield' | 'pieceCount' | 'grantedFast'>,
  fast: boolean,
): WireItem[] {
  const out: WireItem[] = [];
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
