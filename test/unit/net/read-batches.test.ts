/**
 * The read half's batches (read-batches.ts): a turn's pieces go on as one event at the end of the
 * turn, and their bytes count against the read gate from the moment they are read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadBatches } from '../../../src/net/read-batches.js';
import { WriteBacklog } from '../../../src/storage/write-backlog.js';

const BLOCK = 16384;
const block = (index: number) => ({ index, begin: 0, block: new Uint8Array(BLOCK) });

test('pieces read in a turn close the gate before they are handed on, and are released when they are', () => {
  const gate = new WriteBacklog(4 * BLOCK, BLOCK);
  const sent: { type: string }[] = [];
  const batches = new ReadBatches((e) => {
    sent.push(e);
    // Storage queues the writes as the batch reaches it.
    if (e.type === 'wire.pieces') gate.add((e as { blocks: unknown[] }).blocks.length * BLOCK);
  }, gate);
  for (let i = 0; i < 3; i++) batches.piece(block(i));
  assert.equal(gate.open, true, '3 blocks: below high');
  batches.piece(block(3));
  assert.equal(gate.open, false, 'closed by blocks not yet handed on');
  assert.equal(gate.held, 4 * BLOCK);
  assert.equal(sent.length, 0);
  batches.flushPieces();
  assert.deepEqual(
    sent.map((e) => e.type),
    ['wire.pieces'],
  );
  assert.equal(gate.held, 0, 'released once handed on');
  assert.equal(gate.bytes, 4 * BLOCK, 'now counted as queued for the disk');
  assert.equal(gate.open, false);
  gate.done(3 * BLOCK);
  assert.equal(gate.open, true);
});

test('a closed batch releases what it held and holds nothing more', () => {
  const gate = new WriteBacklog(10 * BLOCK, BLOCK);
  const sent: { type: string }[] = [];
  const batches = new ReadBatches((e) => sent.push(e), gate);
  batches.piece(block(0));
  batches.piece(block(1));
  batches.close(); // sends what it gathered
  assert.equal(gate.held, 0);
  assert.deepEqual(
    sent.map((e) => e.type),
    ['wire.pieces'],
  );
  batches.piece(block(2));
  batches.flushPieces();
  assert.equal(gate.held, 0, 'a piece after close is dropped, not held');
  assert.equal(sent.length, 1);
});

test("a read's haves go as one wire.haves at its end, after what came before them and before what follows", () => {
  const sent: { type: string; indices?: number[]; index?: number }[] = [];
  const batches = new ReadBatches((e) => sent.push(e));
  batches.request({ index: 0, begin: 0, length: BLOCK });
  batches.have(3);
  batches.have(4);
  batches.flush(); // another message: what was gathered goes first
  batches.have(5);
  batches.endOfRead();
  batches.have(6);
  batches.have(7);
  batches.have(8);
  batches.endOfRead();
  assert.deepEqual(sent, [
    { type: 'wire.request', index: 0, begin: 0, length: BLOCK },
    { type: 'wire.haves', indices: [3, 4] },
    { type: 'wire.have', index: 5 },
    { type: 'wire.haves', indices: [6, 7, 8] },
  ]);
});
