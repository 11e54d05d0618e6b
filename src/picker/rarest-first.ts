import type { Bitfield } from './bitfield.js';
import { PieceStatus, type PieceTable } from './piece-table.js';

/**
 * How many bucket entries one pick may look at before it turns the search around and walks the
 * peer's own bitfield instead. A peer with few pieces (a leecher announcing `have`s) would
 * otherwise make every pick read the whole crowded low buckets without a hit.
 */
export const DEFAULT_SCAN_BUDGET = 1024;

/**
 * Untouched pieces `peerHas` has, rarest first, random among equal availability, enough of them
 * to cover `blocksNeeded` blocks. Nothing is changed: the caller starts the pieces.
 *
 * Walks the availability buckets upwards from 1 (bucket 0 is pieces no connected peer has), each
 * from a random offset: O(entries read) and usually a handful. Past `budget` entries it falls back
 * to `byPeer`, O(pieces / 8 + pieces the peer has), which is bounded whatever the swarm looks like.
 */
export function rarestFreshPieces(
  table: PieceTable,
  peerHas: Bitfield,
  blocksNeeded: number,
  blockCount: (index: number) => number,
  random: () => number,
  budget: number,
): number[] {
  const chosen: number[] = [];
  let planned = 0;
  let read = 0;
  for (let a = 1; a < table.fresh.bucketCount && planned < blocksNeeded; a++) {
    const bucket = table.fresh.bucket(a);
    const size = bucket.length;
    if (size === 0) continue;
    const start = Math.floor(random() * size);
    for (let s = 0; s < size && planned < blocksNeeded; s++) {
      if (++read > budget) return byPeer(table, peerHas, blocksNeeded, blockCount, random);
      const i = bucket[(start + s) % size]!;
      if (!peerHas.has(i)) continue;
      chosen.push(i);
      planned += blockCount(i);
    }
  }
  return chosen;
}

/** The same choice made from the peer's side: group its untouched pieces by availability. */
function byPeer(
  table: PieceTable,
  peerHas: Bitfield,
  blocksNeeded: number,
  blockCount: (index: number) => number,
  random: () => number,
): number[] {
  const levels: number[][] = [];
  peerHas.forEachSet((i) => {
    if (table.statusOf(i) !== PieceStatus.fresh) return;
    const a = table.availabilityOf(i);
    (levels[a] ??= []).push(i);
  });
  const chosen: number[] = [];
  let planned = 0;
  for (let a = 1; a < levels.length && planned < blocksNeeded; a++) {
    const level = levels[a];
    if (level === undefined) continue;
    const start = Math.floor(random() * level.length);
    for (let s = 0; s < level.length && planned < blocksNeeded; s++) {
      const i = level[(start + s) % level.length]!;
      chosen.push(i);
      planned += blockCount(i);
    }
  }
  return chosen;
}
