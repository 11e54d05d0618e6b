/**
 * A real torrent machine seeding in memory (no sockets, no disk) to peers that connect, handshake
 * and leave: a long seed's churn of peer connections, each a peer machine with its connection
 * actor that stops, for the inspection tools to watch.
 */
import { type Actor, createActor, fromCallback, type InspectionEvent } from 'xstate';
import { peerMachine } from '../../../machines/peer.machine.js';
import type { ConnectionCommand, ConnectionEvent, ConnectionInput } from '../../../machines/peer.types.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import type { StorageCommand, StorageInput } from '../../../machines/torrent.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';

import { PIECE_COUNT, PIECE_LENGTH } from './in-memory-download.js';

export { PIECE_COUNT, PIECE_LENGTH };

/**
 * An incoming peer that handshakes and reads our first messages; then it hangs up, unless its
 * handle says it stays (it stays until the torrent closes it).
 */
const incomingConnection = fromCallback<ConnectionCommand, ConnectionInput>(
  ({ sendBack, receive, input }) => {
    const send = (e: ConnectionEvent) => sendBack(e);
    let open = true;
    queueMicrotask(() => {
      send({ type: 'socket.connected' });
      send({
        type: 'wire.handshake',
        infoHash: input.infoHash,
        peerId: new Uint8Array(20).fill(9),
        reserved: new Uint8Array(8),
      });
    });
    receive((c) => {
      if (!open || c.type === 'close' || (input.handle as Handle).stays) return;
      open = false;
      queueMicrotask(() => send({ type: 'socket.closed' }));
    });
    return () => {
      open = false;
    };
  },
);

interface Handle {
  readonly stays: boolean;
}

const memoryStorage = fromCallback<StorageCommand, StorageInput>(() => undefined);

export interface InMemorySeed {
  readonly actor: Actor<typeof torrentMachine>;
  /** Lets `count` peers connect one after another, each gone before the next comes. */
  churn(count: number): Promise<void>;
  /** Lets `count` peers connect that stay connected. */
  hold(count: number): void;
  /** Peers connected now. */
  livePeers(): number;
}

/** A complete torrent seeding to whoever connects; stopped by the caller (`actor.stop()`). */
export function inMemorySeed(inspect: (e: InspectionEvent) => void): InMemorySeed {
  const actor = createActor(
    torrentMachine.provide({
      actors: {
        peer: peerMachine.provide({ actors: { connection: incomingConnection } }),
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
        have: Bitfield.full(PIECE_COUNT),
        seedWhenComplete: true,
        maxPeers: 10,
        seed: 1,
      },
      inspect,
    },
  );
  actor.start();
  const livePeers = () => actor.getSnapshot().context.peers.size;
  let serial = 0;
  const connect = (stays: boolean) => {
    const n = serial++;
    const handle: Handle = { stays };
    actor.send({
      type: 'peer.incoming',
      address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:6881`,
      handle,
    });
  };
  const churn = async (count: number) => {
    const staying = livePeers();
    for (let i = 0; i < count; i++) {
      connect(false);
      // The peer handshakes and hangs up over a few microtasks; the next one comes after.
      for (let turns = 0; livePeers() > staying; turns++) {
        if (turns > 1000) throw new Error(`peer ${serial - 1} did not leave`);
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  };
  const hold = (count: number) => {
    for (let i = 0; i < count; i++) connect(true);
  };
  return { actor, churn, hold, livePeers };
}
