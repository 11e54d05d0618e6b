/** The bytes a uTP connection has yet to cut into packets (src/utp/utp-write-queue.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UtpWriteQueue } from '../../../src/utp/utp-write-queue.js';

test('what is taken is what was pushed, in order, whatever the chunk and take sizes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { maxLength: 12 }),
      fc.integer({ min: 1, max: 2000 }),
      (chunks, size) => {
        const q = new UtpWriteQueue();
        for (const c of chunks) q.push(c);
        const all = Buffer.concat(chunks);
        assert.equal(q.length, all.length);
        const out: Uint8Array[] = [];
        while (q.length > 0) out.push(q.take(Math.min(size, q.length)));
        assert.ok(Buffer.concat(out).equals(all));
      },
    ),
  );
});

test('a pushed buffer is copied: the caller may overwrite it at once', () => {
  const q = new UtpWriteQueue();
  const b = Buffer.from('hello world');
  q.push(b);
  b.fill(0);
  assert.equal(Buffer.from(q.take(11)).toString(), 'hello world');
});

test('a take inside one chunk is a view of the queue’s own copy; across chunks, a joined copy', () => {
  const q = new UtpWriteQueue();
  q.push(new Uint8Array(100).fill(1));
  q.push(new Uint8Array(100).fill(2));
  const inside = q.take(60);
  const across = q.take(80);
  assert.equal(inside.byteLength, 60);
  assert.notEqual(inside.buffer.byteLength, 60, 'a view of the 100-byte chunk');
  assert.equal(across.buffer.byteLength, 80, 'its own buffer');
  assert.deepEqual([...across.subarray(0, 40)], new Array(40).fill(1));
  assert.deepEqual([...across.subarray(40)], new Array(40).fill(2));
  assert.equal(q.length, 60);
  q.clear();
  assert.equal(q.length, 0);
});
