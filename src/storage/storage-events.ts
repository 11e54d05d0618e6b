/**
 * The events between the torrent machine and its `storage` actor (storage-actor.ts). Pure types,
 * so machines/ may import them. Block bytes travel in `storage.write` only and are never put in
 * a machine's context.
 */
import type { StorageErrorCode } from './storage-error.js';

export type StorageCommand =
  | {
      /** Blocks accepted from one socket read, in order: one event, not one per block. */
      readonly type: 'storage.write';
      readonly blocks: readonly {
        readonly index: number;
        readonly begin: number;
        readonly block: Uint8Array;
      }[];
    }
  | { readonly type: 'storage.verify'; readonly index: number }
  /** A verified piece that had failed before: the hash of each of its blocks (block-hashes.ts). */
  | { readonly type: 'storage.hashBlocks'; readonly index: number };

export type StorageNotification =
  | { readonly type: 'piece.verified'; readonly index: number }
  /** Pieces verified within one turn of the event loop: one event for them all (storage-actor.ts). */
  | { readonly type: 'pieces.verified'; readonly indexes: readonly number[] }
  /** `blockHashes`: the SHA-1 of each block as it failed, read back before this was told. */
  | { readonly type: 'piece.hashFailed'; readonly index: number; readonly blockHashes: Uint8Array }
  /** The answer to `storage.hashBlocks`: 20 bytes per block, in block order. */
  | { readonly type: 'piece.blockHashes'; readonly index: number; readonly hashes: Uint8Array }
  | {
      readonly type: 'storage.error';
      readonly message: string;
      readonly code: StorageErrorCode;
      readonly index?: number;
    };
