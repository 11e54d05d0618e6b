/** Bytes of payload in the verified pieces of `have` (the last piece may be short). */
import type { Bitfield } from './bitfield.js';

export function verifiedBytes(
  t: { readonly pieceLength: number; readonly pieceCount: number; readonly totalLength: number },
  have: Bitfield,
): number {
  if (t.pieceCount === 0) return 0;
  let bytes = have.count * t.pieceLength;
  if (have.has(t.pieceCount - 1)) bytes -= t.pieceCount * t.pieceLength - t.totalLength;
  return bytes;
}
