/**
 * Blocks: the unit of a `request` (BEP 3). A piece is fetched as blocks of BLOCK_LENGTH bytes (the
 * last block of the last piece may be shorter); `<len=0013><id=6><index><begin><length>` asks for one.
 * Clients reject requests larger than 16 KiB, so that is the size everybody uses.
 */
export const BLOCK_LENGTH = 16384;

/** One block of one piece, as a `request`/`cancel`/`piece` message names it. */
export interface BlockRef {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** Opaque id of a peer connection, chosen by the caller (e.g. "127.0.0.1:6881#3"). */
export type PeerKey = string;
