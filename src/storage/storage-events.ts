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
  | { readonly type: 'storage.verify'; readonly index: number };

export type StorageNotification =
  | { readonly type: 'piece.verified'; readonly index: number }
  /** Pieces verified within one turn of the event loop: one event for them all (storage-actor.ts). */
  | { readonly type: 'pieces.verified'; readonly indexes: readonly number[] }
  | { readonly type: 'piece.hashFailed'; readonly index: number }
  | {
      readonly type: 'storage.error';
      readonly message: string;
      readonly code: StorageErrorCode;
      readonly index?: number;
    };
