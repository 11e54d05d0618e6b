import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { MAX_ARRAY_ITEMS, summarise, summariseEvent } from '../../../src/inspect/summarise-event.js';
import { Bitfield } from '../../../src/picker/bitfield.js';

test('a block becomes its length; ids (≤ 20 bytes) keep their hex', () => {
  const e = summariseEvent({
    type: 'wire.piece',
    index: 3,
    begin: 16384,
    block: new Uint8Array(16384),
  } as never);
  assert.deepEqual(e, { type: 'wire.piece', index: 3, begin: 16384, block: { bytes: 16384 } });
  assert.ok(JSON.stringify(e).length < 100);
  const id = Buffer.from('-LT2080-abcdefghijkl');
  assert.deepEqual(summarise({ peerId: id }), { peerId: { bytes: 20, hex: id.toString('hex') } });
  assert.deepEqual(summarise(new Uint8Array(21)), { bytes: 21 });
});

test('toJSON summaries, Map/Set sizes, class instances by kind, caps on depth and arrays', () => {
  const bf = new Bitfield(100);
  bf.set(5);
  const socket = new Socket();
  const s = summarise({
    bits: bf,
    outstanding: new Map([['0:0', { index: 0 }]]),
    cancelled: new Set([1, 2]),
    handle: socket,
    err: new Error('boom'),
    fn: () => 1,
    deep: { a: { b: { c: { d: { e: 1 } } } } },
    list: Array.from({ length: MAX_ARRAY_ITEMS + 5 }, (_, i) => i),
    big: 10n,
    nan: Number.NaN,
  }) as Record<string, unknown>;
  socket.destroy();
  assert.deepEqual(s.bits, bf.toJSON());
  assert.deepEqual(s.outstanding, { size: 1 });
  assert.deepEqual(s.cancelled, { size: 2 });
  assert.deepEqual(s.handle, { object: 'Socket' });
  assert.deepEqual(s.err, { error: 'boom' });
  assert.equal('fn' in s, false);
  assert.deepEqual(s.deep, { a: { b: { c: '…' } } });
  assert.equal((s.list as unknown[]).length, MAX_ARRAY_ITEMS + 1);
  assert.equal((s.list as unknown[])[MAX_ARRAY_ITEMS], `… ${MAX_ARRAY_ITEMS + 5} items`);
  assert.equal(s.big, '10');
  assert.equal(s.nan, 'NaN');
});
