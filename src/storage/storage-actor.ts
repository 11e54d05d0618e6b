/**
 * The torrent machine's `storage` actor: an xstate callback actor around a PieceStore. It takes
 * `storage.write` (the blocks of one socket read), `storage.verify` and `storage.hashBlocks` and
 * answers `piece.verified` (`pieces.verified` for several in one turn) / `piece.hashFailed` (with
 * the hash of each block as it failed) / `piece.blockHashes` / `storage.error` (storage-events.ts). Serving reads no longer pass here: connections take blocks from the
 * session's ReadCache (read-cache.ts, send-queue.ts).
 *
 * Ordering: writes are gathered into runs (write-coalescer.ts) that may be written concurrently
 * (they touch disjoint bytes), but a verify of piece i first starts the runs still gathered for it
 * (PieceStore.flushPiece), then waits until every write of piece i received before it has settled
 * — otherwise the hash would read bytes not yet written. The store is owned by the caller (the actor never
 * closes it); after the actor stops, late results are dropped.
 */
import { fromCallback } from 'xstate';
import type { StorageInput } from '../../machines/torrent.types.js';
import { MAX_ARRAY_ITEMS } from '../inspect/summarise-event.js';
import { BLOCK_LENGTH } from '../picker/blocks.js';
import { hashBlocks } from './block-hashes.js';
import type { PieceStore } from './piece-store.js';
import { StorageError } from './storage-error.js';
import type { StorageCommand, StorageNotification } from './storage-events.js';

export function storageActor(store: PieceStore) {
  return fromCallback<StorageCommand, StorageInput>(({ sendBack, receive, input }) => {
    let stopped = false;
    // The torrent machine says its block length; a bare invoke (tests) has no input.
    const blockLength = (input as StorageInput | undefined)?.blockLength ?? BLOCK_LENGTH;
    /**
     * Pieces verified this turn, told at its end as one `pieces.verified` (one `piece.verified` when
     * alone): each event is a macrostep of the torrent machine, and with 256 KiB pieces from four
     * local seeders several pieces settle per turn (issue #8). Anything else told flushes them first,
     * so the order of notifications is kept.
     */
    let verified: number[] = [];
    const flushVerified = () => {
      if (verified.length === 0) return;
      const indexes = verified;
      verified = [];
      if (stopped) return;
      const [one] = indexes;
      sendBack(
        indexes.length === 1 && one !== undefined
          ? { type: 'piece.verified', index: one }
          : { type: 'pieces.verified', indexes },
      );
    };
    const send = (e: StorageNotification) => {
      flushVerified();
      if (!stopped) sendBack(e);
    };
    const verifiedNow = (index: number) => {
      if (stopped) return;
      if (verified.length === 0) setImmediate(flushVerified);
      verified.push(index);
      // The inspector keeps MAX_ARRAY_ITEMS of an array: a batch never holds more.
      if (verified.length >= MAX_ARRAY_ITEMS) flushVerified();
    };
    const fail = (e: unknown, index: number) => {
      const err = e instanceof StorageError ? e : StorageError.fromSystem(e, 'storage');
      send({ type: 'storage.error', message: err.message, code: err.code, index });
    };
    /** Per piece: writes not yet settled. */
    const pendingWrites = new Map<number, Set<Promise<void>>>();

    receive((event) => {
      if (stopped) return;
      if (event.type === 'storage.write') {
        for (const { index, begin, block } of event.blocks) {
          const p = store.writeBlock(index, begin, block);
          let set = pendingWrites.get(index);
          if (set === undefined) pendingWrites.set(index, (set = new Set()));
          // Blocks of one run share its promise: bookkeeping once per run, not per block.
          if (set.has(p)) continue;
          set.add(p);
          const settled = () => {
            set.delete(p);
            if (set.size === 0 && pendingWrites.get(index) === set) pendingWrites.delete(index);
          };
          p.then(settled, (e) => {
            settled();
            fail(e, index);
          });
        }
      } else if (event.type === 'storage.verify') {
        const { index } = event;
        try {
          store.flushPiece(index);
        } catch (e) {
          fail(e, index);
          return;
        }
        const writes = [...(pendingWrites.get(index) ?? [])];
        void Promise.all(writes)
          .then(() => store.verifyPiece(index))
          .then(async (ok) => {
            if (ok) return verifiedNow(index);
            // The blocks as they failed (the ban rule compares them once the piece passes), read
            // back before the machine hears of the failure: only then does it hand the piece out
            // again, so no new block can be written over them first.
            const blockHashes = await hashBlocks(store, index, blockLength);
            send({ type: 'piece.hashFailed', index, blockHashes });
          })
          .catch((e) => fail(e, index));
      } else if (event.type === 'storage.hashBlocks') {
        // A verified piece: never written again, nothing to wait for.
        const { index } = event;
        hashBlocks(store, index, blockLength).then(
          (hashes) => send({ type: 'piece.blockHashes', index, hashes }),
          (e) => fail(e, index),
        );
      }
    });
    return () => {
      stopped = true;
    };
  });
}
