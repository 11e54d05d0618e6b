/**
 * Dialled connections with a block pool read into one shared buffer (tcp-connection.ts, `onread`),
 * or, once busy, into windows of the pool's read arena (read-arena.ts): every block, bitfield and
 * payload the machine receives must be intact after many later reads; the wire order is kept; and
 * the blocks come in pooled slabs or counted arena views that storage can give back. A real socket
 * on 127.0.0.1 sends 4 MiB of pieces with distinct contents, framed by a bitfield before and a have
 * after.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { createActor, createMachine } from 'xstate';
import { BLOCK_SLAB_BYTES, BlockPool } from '../../../src/net/block-pool.js';
import { READ_CHUNK_BYTES } from '../../../src/net/read-arena.js';
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
  readonly payload?: Uint8Array;
}

const PAYLOAD = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff);

/** Runs the 4 MiB exchange through a connection with `pool`; the events, once the have came. */
async function receiveAll(t: TestContext, pool: BlockPool): Promise<Received[]> {
  const bitfield = Uint8Array.from([0xde, 0xad, 0xbe, 0xef]);
  const port = await loopbackPeer(t, (socket) => {
    socket.write(encodeMessage({ type: 'bitfield', bitfield }));
    for (let i = 0; i < BLOCKS; i++) {
      socket.write(encodePieceHeader(i, 0, BLOCK_SLAB_BYTES));
      socket.write(blockBytes(i));
    }
    // A message with a payload after the pieces: read into an arena window when there is one.
    socket.write(encodeMessage({ type: 'extended', extendedId: 3, payload: PAYLOAD }));
    socket.write(encodeMessage({ type: 'have', index: 31 }));
  });
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
  assert.deepEqual(types.slice(-2), ['wire.extended', 'wire.have'], 'they follow every piece before them');
  assert.deepEqual(
    [...new Set(types.slice(2, -2))].every((x) => x === 'wire.pieces' || x === 'wire.piece'),
    true,
  );
  // Checked only now, after 4 MiB went through the reads' memory.
  assert.deepEqual(events.find((e) => e.type === 'wire.bitfield')?.bitfield, bitfield);
  const payload = events.find((e) => e.type === 'wire.extended')?.payload;
  assert.deepEqual(payload, PAYLOAD);
  assert.ok(
    payload !== undefined && !pool.owns(payload) && !pool.readArena.has(payload),
    'a copy of its own',
  );
  // Several reads' blocks travel in one event (one per turn of the event loop).
  const batches = events.filter((e) => e.type === 'wire.pieces' || e.type === 'wire.piece');
  assert.ok(batches.length < BLOCKS);
  return events;
}

function blocksOf(events: readonly Received[]): Required<Received>[] {
  const blocks = events.flatMap((e) =>
    e.type === 'wire.pieces' ? (e.blocks ?? []) : e.type === 'wire.piece' ? [e as Required<Received>] : [],
  ) as Required<Received>[];
  assert.equal(blocks.length, BLOCKS);
  blocks.forEach((b, i) => {
    assert.equal(b.index, i);
    assert.deepEqual(b.block, blockBytes(i), `block ${i} intact`);
  });
  return blocks;
}

test('without a read arena, blocks read through the shared buffer are pooled copies, intact and in wire order', async (t) => {
  const pool = new BlockPool(64 * 1024 * 1024, 0);
  const blocks = blocksOf(await receiveAll(t, pool));
  // Every block is a slab of the pool, whether its frame lay whole in one read or was split across
  // reads (assembled in the decoder's reused frame buffer): never a view of either buffer.
  assert.ok(blocks.every((b) => b.block.buffer.byteLength === 1024 * 1024 && pool.owns(b.block)));
  // Given back, the slabs are free for the next blocks.
  const freeBefore = pool.free;
  for (const b of blocks) pool.release(b.block);
  assert.equal(pool.free, freeBefore + BLOCKS);
});

test('a busy socket reads into the read arena: its blocks are counted views, intact, and their chunks come back', async (t) => {
  const pool = new BlockPool(64 * 1024 * 1024, 8 * READ_CHUNK_BYTES);
  const arena = pool.readArena;
  const events = await receiveAll(t, pool);
  const blocks = blocksOf(events);
  // The sender wrote 4 MiB at once: after its first full read the socket reads into windows, so
  // most blocks are views of arena chunks (those split across two reads are slabs).
  const views = blocks.filter((b) => arena.counts(b.block));
  const slabs = blocks.filter((b) => !arena.counts(b.block));
  assert.ok(views.length > BLOCKS / 2, `${views.length} of ${BLOCKS} blocks are arena views`);
  assert.ok(
    slabs.every((b) => pool.owns(b.block)),
    'every other block is a pooled slab',
  );
  assert.ok(arena.chunkBytes <= 8 * READ_CHUNK_BYTES);
  // While they are out, the chunks are not free; given back (some twice), they all are, except the
  // one the connection still reads into.
  for (const b of blocks) pool.release(b.block);
  for (const b of blocks) pool.release(b.block);
  assert.ok(views.every((b) => !arena.counts(b.block)));
  const chunks = arena.chunkBytes / READ_CHUNK_BYTES;
  assert.ok(arena.free >= chunks - 1, `${arena.free} of ${chunks} chunks free`);
});
