/** Packets held out of order and the selective ack that names them (src/utp/reorder-buffer.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SELECTIVE_ACK_BYTES, ReorderBuffer } from '../../../src/utp/reorder-buffer.js';

test('bit i of the selective ack is packet ack_nr + 2 + i, least significant bit first, across the wrap', () => {
  const r = new ReorderBuffer();
  const ackNr = 65533;
  for (const seq of [65535, 0, 9]) r.hold(seq, new Uint8Array(3), false); // ack_nr + 2, + 3, + 12
  const mask = r.selectiveAck(ackNr)!;
  assert.equal(mask.length, 4, 'a multiple of 4 bytes');
  assert.deepEqual([...mask], [0b0000_0011, 0b0000_0100, 0, 0]);
  assert.equal(r.bytes, 9);
});

test('packets past what the mask can name are held but not named; the mask stays within its cap', () => {
  const r = new ReorderBuffer();
  r.hold(10 + 2 + MAX_SELECTIVE_ACK_BYTES * 8, new Uint8Array(1), false); // one past the last bit
  assert.equal(r.selectiveAck(10), undefined);
  r.hold(10 + 2 + MAX_SELECTIVE_ACK_BYTES * 8 - 1, new Uint8Array(1), false); // the last bit
  const mask = r.selectiveAck(10)!;
  assert.equal(mask.length, MAX_SELECTIVE_ACK_BYTES);
  assert.equal(mask[MAX_SELECTIVE_ACK_BYTES - 1], 0b1000_0000);
});

test('a held payload is a copy (a view would pin its whole datagram); take gives it back once', () => {
  const r = new ReorderBuffer();
  const datagram = new Uint8Array(65536);
  const payload = datagram.subarray(65530);
  payload.fill(7);
  r.hold(5, payload, true);
  datagram.fill(0);
  const held = r.take(5)!;
  assert.equal(held.payload.buffer.byteLength, 6);
  assert.deepEqual([...held.payload], [7, 7, 7, 7, 7, 7]);
  assert.equal(held.fin, true);
  assert.equal(r.take(5), undefined);
  assert.equal(r.bytes, 0);
  assert.equal(r.size, 0);
});
