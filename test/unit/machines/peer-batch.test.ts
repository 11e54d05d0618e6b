/**
 * wire.pieces (the blocks of one socket read in one event, issue #8) is decided exactly as the same
 * blocks one wire.piece at a time: the same blocks reported, the same close reason for the first bad
 * block; on a close the batch's good blocks are handed back instead of reported.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent, PeerReport, ReceivedBlock } from '../../../machines/peer.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { startPeer } from './peer-harness.js';

const ALL = Bitfield.full(20).bytes;
const block = (index: number, begin = 0, length = 16384): ReceivedBlock => ({
  index,
  begin,
  block: new Uint8Array(length).fill(index + 1),
});

/** A peer with requests for pieces 0..n-1 (begin 0) outstanding, then `events` delivered. */
function run(n: number, events: ConnectionEvent[], cancel: number[] = []) {
  const h = startPeer();
  h.handshake();
  h.deliver({ type: 'wire.bitfield', bitfield: ALL });
  h.command({ type: 'cmd.interested' });
  h.deliver({ type: 'wire.unchoke' });
  h.command({
    type: 'cmd.request',
    blocks: Array.from({ length: n }, (_, i) => ({ index: i, begin: 0, length: 16384 })),
  });
  if (cancel.length > 0)
    h.command({ type: 'cmd.cancel', blocks: cancel.map((index) => ({ index, begin: 0, length: 16384 })) });
  for (const e of events) h.deliver(e);
  const got = h.reports.flatMap((r: PeerReport) =>
    r.type === 'peer.block' ? [r.index] : r.type === 'peer.blocks' ? r.blocks.map((b) => b.index) : [],
  );
  const closed = h.reports.find((r) => r.type === 'peer.closed');
  return { h, got, output: h.output(), returned: closed?.type === 'peer.closed' ? closed.returned : [] };
}

const oneByOne = (blocks: ReceivedBlock[]): ConnectionEvent[] =>
  blocks.map((b) => ({ type: 'wire.piece', index: b.index, begin: b.begin, block: b.block }));

test('a batch of requested blocks is one peer.blocks, in wire order, with the bytes, like one piece each', () => {
  const blocks = [block(2), block(0), block(1)];
  const batched = run(3, [{ type: 'wire.pieces', blocks }]);
  const single = run(3, oneByOne(blocks));
  assert.deepEqual(batched.got, [2, 0, 1]);
  assert.deepEqual(batched.got, single.got);
  const report = batched.h.reports.find((r) => r.type === 'peer.blocks');
  assert.ok(report?.type === 'peer.blocks');
  assert.deepEqual(
    report.blocks.map((b) => b.block[0]),
    [3, 1, 2],
  );
  assert.equal(batched.h.isClosed(), false);
});

test('a cancelled copy inside a batch is dropped quietly; a second copy of it closes', () => {
  const blocks = [block(0), block(1), block(2)];
  const batched = run(3, [{ type: 'wire.pieces', blocks }], [1]);
  assert.deepEqual(batched.got, [0, 2]);
  assert.equal(batched.h.isClosed(), false, 'cancel races the piece (BEP 3)');
  const twice = run(3, [{ type: 'wire.pieces', blocks: [block(1), block(0), block(1)] }], [1]);
  assert.deepEqual(twice.output, { reason: 'unrequestedBlock', index: 1, begin: 0, length: 16384 });
  assert.deepEqual(twice.output, run(3, oneByOne([block(1), block(0), block(1)]), [1]).output);
});

test('a duplicate or an unrequested block in a batch closes like its single piece; good blocks go back', () => {
  const dup = run(3, [{ type: 'wire.pieces', blocks: [block(0), block(1), block(0)] }]);
  assert.deepEqual(dup.output, { reason: 'unrequestedBlock', index: 0, begin: 0, length: 16384 });
  assert.deepEqual(dup.output, run(3, oneByOne([block(0), block(1), block(0)])).output);
  assert.deepEqual(dup.got, [], 'nothing of a bad batch is reported');
  assert.deepEqual(
    dup.returned.map((r) => r.index).sort(),
    [0, 1, 2],
    'every request comes back to the supervisor',
  );
  const stranger = run(2, [{ type: 'wire.pieces', blocks: [block(0), block(7)] }]);
  assert.deepEqual(stranger.output, { reason: 'unrequestedBlock', index: 7, begin: 0, length: 16384 });
});

test('a block of the wrong length in a batch closes with wrongBlockLength and the numbers', () => {
  const r = run(2, [{ type: 'wire.pieces', blocks: [block(0), block(1, 0, 100)] }]);
  assert.deepEqual(r.output, {
    reason: 'wrongBlockLength',
    index: 1,
    begin: 0,
    expected: 16384,
    received: 100,
  });
  assert.deepEqual(r.output, run(2, oneByOne([block(0), block(1, 0, 100)])).output);
});
