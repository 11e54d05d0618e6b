/**
 * Back-pressure from the disk to the network: a TCP connection actor whose read gate is closed stops
 * reading its socket (so TCP slows the sender and nothing piles up in memory), and reads on once the
 * gate opens. A real socket on 127.0.0.1 sends 8 MiB of piece messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, createMachine } from 'xstate';
import { BlockPool } from '../../../src/net/block-pool.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { WriteBacklog } from '../../../src/storage/write-backlog.js';
import { encodePieceHeader } from '../../../src/wire/encode-message.js';
import { loopbackPeer } from './loopback-peer.js';

const BLOCK = 16384;

/** The block lengths a connection's event hands on (wire.piece or wire.pieces). */
function pieceBytes(event: { type: string }): number[] {
  if (event.type === 'wire.piece') return [(event as unknown as { block: Uint8Array }).block.length];
  if (event.type === 'wire.pieces')
    return (event as unknown as { blocks: { block: Uint8Array }[] }).blocks.map((b) => b.block.length);
  return [];
}
const BLOCKS = 512; // 8 MiB

for (const pooled of [false, true])
  test(`a closed read gate stops reading the socket; opening it reads the rest${pooled ? ' (shared read buffer)' : ''}`, async (t) => {
    const port = await loopbackPeer(t, (socket) => {
      const block = new Uint8Array(BLOCK).fill(7);
      for (let i = 0; i < BLOCKS; i++) {
        socket.write(encodePieceHeader(i, 0, BLOCK));
        socket.write(block);
      }
    });

    // The gate closes after the first 64 KiB "queued for the disk" and nothing is written yet. As
    // in a download, a block's write is queued when the turn's batch reaches storage (the parent
    // here), at the end of the turn: until then the connection holds its bytes on the gate.
    const backlog = new WriteBacklog(64 * 1024, 0);
    let received = 0;
    const connection = createTcpConnection({
      ...(pooled ? { blockPool: new BlockPool() } : {}),
      readGate: backlog,
    });
    const parent = createMachine({
      invoke: {
        src: connection,
        input: { address: `127.0.0.1:${port}`, direction: 'outgoing', handle: null },
      },
      on: {
        '*': {
          actions: ({ event }) => {
            for (const n of pieceBytes(event)) {
              received += n;
              backlog.add(n);
            }
          },
        },
      },
    });
    const actor = createActor(parent);
    actor.start();
    t.after(() => actor.stop());

    await new Promise((r) => setTimeout(r, 400));
    const whileClosed = received;
    assert.equal(backlog.open, false);
    assert.equal(backlog.held, 0, 'every block read was handed on');
    assert.ok(whileClosed >= 64 * 1024, `read up to the gate (${whileClosed})`);
    // One socket read past the gate at most, never the 8 MiB the peer sent. Without the hold, libuv
    // reads a readable socket up to 32 times in one turn (256 KiB each with the shared buffer).
    assert.ok(whileClosed <= 1024 * 1024, `stopped reading at the gate: ${whileClosed} bytes`);

    backlog.done(backlog.bytes); // the disk caught up
    const deadline = Date.now() + 5000;
    while (received < BLOCKS * BLOCK && Date.now() < deadline) {
      backlog.done(backlog.bytes);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(received, BLOCKS * BLOCK, 'every byte read once the gate opened');
  });
