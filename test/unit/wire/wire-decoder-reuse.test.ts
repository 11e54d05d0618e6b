/**
 * `reuseFrames`: split frames are assembled in one buffer the decoder keeps (for a connection that
 * copies every block it keeps, tcp-connection.ts), so a split piece costs no allocation; frames
 * larger than that buffer still get their own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { REUSED_FRAME_BYTES, WireDecoder } from '../../../src/wire/wire-decoder.js';

function piece(index: number, fill: number): Uint8Array {
  return encodeMessage({ type: 'piece', index, begin: 0, block: new Uint8Array(16384).fill(fill) });
}

/** Pushes `bytes` in two chunks split at `at`, returning the messages emitted. */
function pushSplit(d: WireDecoder, bytes: Uint8Array, at: number): WireItem[] {
  const out: WireItem[] = [];
  assert.equal(
    d.push(bytes.subarray(0, at), (m) => out.push(m)),
    undefined,
  );
  assert.equal(
    d.push(bytes.subarray(at), (m) => out.push(m)),
    undefined,
  );
  return out;
}

test('split piece frames are assembled in the one reused buffer, and decode right', () => {
  const d = new WireDecoder({ expectHandshake: false, reuseFrames: true });
  const reused = d.reusedFrameBuffer;
  assert.ok(reused !== undefined);
  const [first] = pushSplit(d, piece(1, 0xaa), 100);
  assert.ok(first?.type === 'piece');
  assert.equal(first.block.buffer, reused);
  assert.ok(first.block.every((x) => x === 0xaa));
  const [second] = pushSplit(d, piece(2, 0xbb), 5000);
  assert.ok(second?.type === 'piece' && second.index === 2);
  assert.equal(second.block.buffer, reused);
  assert.ok(second.block.every((x) => x === 0xbb));
  // The contract: a message viewing the reused buffer is valid only until the next push.
  assert.ok(
    first.block.every((x) => x === 0xbb),
    'the first block was overwritten by the second',
  );
});

test('a split frame larger than the reused buffer gets its own buffer', () => {
  const d = new WireDecoder({ expectHandshake: false, reuseFrames: true });
  const bitfield = new Uint8Array(REUSED_FRAME_BYTES * 2).fill(0xcc);
  const [big] = pushSplit(d, encodeMessage({ type: 'bitfield', bitfield }), 10);
  assert.ok(big?.type === 'bitfield');
  assert.notEqual(big.bitfield.buffer, d.reusedFrameBuffer);
  assert.deepEqual(big.bitfield, bitfield);
});

test('without reuseFrames every split frame has its own buffer', () => {
  const d = new WireDecoder({ expectHandshake: false });
  assert.equal(d.reusedFrameBuffer, undefined);
  const [a] = pushSplit(d, piece(1, 1), 100);
  const [b] = pushSplit(d, piece(2, 2), 100);
  assert.ok(a?.type === 'piece' && b?.type === 'piece');
  assert.notEqual(a.block.buffer, b.block.buffer);
  assert.ok(a.block.every((x) => x === 1));
});
