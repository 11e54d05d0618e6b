/**
 * A real torrent machine with real peer machines downloading from in-memory seeders (no sockets,
 * no disk): the system the inspection tools watch, small enough for unit tests.
 */
import { createActor, fromCallback, type InspectionEvent } from 'xstate';
import { peerMachine } from '../../../machines/peer.machine.js';
import {
  type ConnectionCommand,
  type ConnectionEvent,
  type ConnectionInput,
  wireItemsOf,
} from '../../../machines/peer.types.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import type { StorageCommand, StorageEvent, StorageInput } from '../../../machines/torrent.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';

export const PIECE_COUNT = 12;
export const PIECE_LENGTH = 32 * 1024;

const seederConnection = fromCallback<ConnectionCommand, ConnectionInput>(({ sendBack, receive, input }) => {
  const send = (e: ConnectionEvent) => sendBack(e);
  let open = true;
  queueMicrotask(() => send({ type: 'socket.connected' }));
  receive((c) => {
    if (!open) return;
    if (c.type === 'close') {
      open = false;
      return;
    }
    if (c.type === 'serve') return; // it never requests
    for (const m of wireItemsOf(c)) onMessage(m);
  });
  const onMessage = (m: WireItem) => {
    if (m.type === 'handshake') {
      send({
        type: 'wire.handshake',
        infoHash: m.infoHash,
        peerId: new Uint8Array(20).fill(9),
        reserved: new Uint8Array(8),
        // The first seeder's connection is as if MSE had settled on RC4 (docs/encryption.md), the
        // second's as if it came over uTP (docs/utp.md).
        ...(input.address.startsWith('10.0.0.1:') ? { encryption: 'rc4' as const } : {}),
        ...(input.address.startsWith('10.0.0.2:') ? { transport: 'utp' as const } : {}),
      });
      send({ type: 'wire.bitfield', bitfield: Bitfield.full(PIECE_COUNT).bytes });
    } else if (m.type === 'interested') send({ type: 'wire.unchoke' });
    else if (m.type === 'request')
      queueMicrotask(() => {
        if (open)
          send({ type: 'wire.piece', index: m.index, begin: m.begin, block: new Uint8Array(m.length) });
      });
  };
  return () => {
    open = false;
  };
});

const memoryStorage = fromCallback<StorageCommand, StorageInput>(({ sendBack, receive }) => {
  receive((c) => {
    if (c.type === 'storage.verify')
      queueMicrotask(() => sendBack({ type: 'piece.verified', index: c.index } satisfies StorageEvent));
  });
});

/** Downloads PIECE_COUNT pieces from `seeders` in-memory peers; resolves with the machine's output. */
export function inMemoryDownload(seeders: number, inspect: (e: InspectionEvent) => void): Promise<unknown> {
  const actor = createActor(
    torrentMachine.provide({
      actors: {
        peer: peerMachine.provide({ actors: { connection: seederConnection } }),
        storage: memoryStorage,
      },
    }),
    {
      input: {
        infoHash: new Uint8Array(20).fill(3),
        peerId: new Uint8Array(20).fill(1),
        pieceCount: PIECE_COUNT,
        pieceLength: PIECE_LENGTH,
        totalLength: PIECE_COUNT * PIECE_LENGTH,
        maxPeers: 10,
        seed: 1,
      },
      inspect,
    },
  );
  const done = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('in-memory download did not finish in 5 s')), 5000);
    actor.subscribe({
      complete: () => {
        clearTimeout(timer);
        resolve(actor.getSnapshot().output);
      },
      error: (err) => {
        clearTimeout(timer);
        reject(err);
      },
    });
  });
  actor.start();
  for (let i = 0; i < seeders; i++) actor.send({ type: 'peer.add', address: `10.0.0.${i + 1}:6881` });
  return done.finally(() => actor.stop());
}
