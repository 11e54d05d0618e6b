/**
 * The torrent machine's `storage` actor: an xstate callback actor around a PieceStore. It takes
 * `storage.write` (the blocks of one socket read) and `storage.verify` and answers
 * `piece.verified` / `piece.hashFailed` / `storage.error` (storage-events.ts). Serving reads no
 * longer pass here: connections take blocks from the session's ReadCache (read-cache.ts,
 * send-queue.ts).
 *
 * Ordering: writes are gathered into runs (write-coalescer.ts) that may be written concurrently
 * (they touch disjoint bytes), but a verify of piece i first starts the runs still gathered for it
 * (PieceStore.flushPiece), then waits until every write of piece i received before it has settled
 * — otherwise the hash would read bytes not yet written. The store is owned by the caller (the actor never
 * closes it); after the actor stops, late results are dropped.
 */
import { fromCallback } from 'xstate';
import type { StorageInput } from '../../machines/torrent.types.js';
import type { PieceStore } from './piece-store.js';
import { StorageError } from './storage-error.js';
import type { StorageCommand, StorageNotification } from './storage-events.js';

export function storageActor(store: PieceStore) {
  return fromCallback<StorageCommand, StorageInput>(({ sendBack, receive }) => {
    let stopped = false;
    const send = (e: StorageNotification) => {
      if (!stopped) sendBack(e);
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
          .then(
            (ok) => send({ type: ok ? 'piece.verified' : 'piece.hashFailed', index }),
            (e) => fail(e, index),
          );
      }
    });
    return () => {
      stopped = true;
    };
  });
}
