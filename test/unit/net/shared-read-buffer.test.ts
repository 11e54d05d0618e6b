/**
 * Dialled connections with a block pool read into one shared buffer (tcp-connection.ts, `onread`):
 * every block, bitfield and payload the machine receives must be its own copy, intact after the
 * buffer was overwritten by many later reads; the wire order is kept; and the blocks come in
 * pooled slabs that storage can give back. A real socket on 127.0.0.1 sends 4 MiB of pieces with
 * distinct contents, framed by a bitfield before and a have after.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, createMachine } from 'xstate';
import { BLOCK_SLAB_BYTES, BlockPool } from '../../../src/net/block-pool.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { encodeMessage, encodePieceHeader } from '../../../src/wire/encode-message.js';
import { loopbackPeer } from './loopback-peer.js';

const BLOCKS = 256; // 4 MiB

/** Block i: every byte is (i * 7 + offset) & 0xff, so any aliasing shows. */
function blockBytes(i: number): Uint8Array {
  const b = new Uint8Array(BLOCK_SLAB_BYTES);
  for (let k = 0; k < b.length; k++) b[k] = (i * 7 + k) & 0xff;
  return b;
}

interface Received {
  readonly type: string;
  readonly index?: number;
  readonly begin?: number;
  readonly block?: Uint8Array;
  readonly bitfield?: Uint8Array;
  readonly blocks?: readonly { index: number; begin: number; block: Uint8Array }[];
}

test('blocks read through the shared buffer are pooled copies, intact and in wire order', async (t) => {
  const bitfield = Uint8Array.from([0xde, 0xad, 0xbe, 0xef]);
  const port = await loopbackPeer(t, (socket) => {
    socket.write(encodeMessage({ type: 'bitfield', bitfield }));
    for (let i = 0; i < BLOCKS; i++) {
      socket.write(encodePieceHeader(i, 0, BLOCK_SLAB_BYTES));
      socket.write(blockBytes(i));
    }
    socket.write(encodeMessage({ type: 'have', index: 31 }));
  });

  const pool = new BlockPool(64 * 1024 * 1024);
  const events: Received[] = [];
  const parent = createMachine({
    invoke: {
      src: createTcpConnection({ blockPool: pool }),
      input: { address: `127.0.0.1:${port}`, direction: 'outgoing', handle: null },
    },
    on: { '*': { actions: ({ event }) => events.push(event as Received) } },
  });
  const actor = createActor(parent);
  actor.start();
  t.after(() => actor.stop());

  const deadline = Date.now() + 5000;
  while (!events.some((e) => e.type === 'wire.have') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));

  const types = events.map((e) => e.type).filter((x) => x !== 'socket.connected');
  assert.equal(types[0], 'wire.handshake');
  assert.equal(types[1], 'wire.bitfield');
  assert.equal(types.at(-1), 'wire.have', 'the have follows every piece before it');
  assert.deepEqual(
    [...new Set(types.slice(2, -1))].every((x) => x === 'wire.pieces' || x === 'wire.piece'),
    true,
  );
  // Checked only now, after 4 MiB went through the 256 KiB shared buffer many times over.
  assert.deepEqual(events.find((e) => e.type === 'wire.bitfield')?.bitfield, bitfield);
  const blocks = events.flatMap((e) =>
    e.type === 'wire.pieces' ? (e.blocks ?? []) : e.type === 'wire.piece' ? [e as Required<Received>] : [],
  );
  assert.equal(blocks.length, BLOCKS);
  blocks.forEach((b, i) => {
    assert.equal(b.index, i);
    assert.deepEqual(b.block, blockBytes(i), `block ${i} intact`);
  });
  // Several reads' blocks travel in one event (one per turn of the event loop).
  assert.ok(events.filter((e) => e.type === 'wire.pieces' || e.type === 'wire.piece').length < BLOCKS);

  // Every block is a slab of the pool, whether its frame lay whole in one read or was split across
  // reads (assembled in the decoder's reused frame buffer): never a view of either buffer.
  assert.ok(blocks.every((b) => b.block.buffer.byteLength === 1024 * 1024));
  // Given back, the slabs are free for the next blocks.
  const freeBefore = pool.free;
  for (const b of blocks) pool.release(b.block);
  assert.equal(pool.free, freeBefore + BLOCKS);
});
