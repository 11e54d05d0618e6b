/**
 * What waits to go out, in wire order: consecutive messages are one span of a shared chunk (their
 * bytes exactly encodeMessage's), a block ends a span, a full chunk starts another, a message larger
 * than a chunk has a buffer of its own, and bytes handed out never change as more are packed; the
 * bytes, blocks and rejects waiting are counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Outgoing, PACK_CHUNK_BYTES, PackedQueue } from '../../../src/net/packed-queue.js';
import type { PinnedBlock } from '../../../src/storage/read-cache.js';
import { encodeMessage, encodeRequests } from '../../../src/wire/encode-message.js';
import type { WireMessage } from '../../../src/wire/messages.js';

/** Every item of the queue, taken off in order: bytes as hex, blocks as `block index:begin`. */
function drain(queue: PackedQueue): string[] {
  const out: string[] = [];
  for (let item: Outgoing | undefined = queue.first; item !== undefined; item = queue.first) {
    out.push(
      item.ref === undefined
        ? Buffer.from(item.bytes.subarray(item.start, item.end)).toString('hex')
        : `block ${item.ref.index}:${item.ref.begin}`,
    );
    queue.shift();
  }
  return out;
}

const hex = (...messages: WireMessage[]) =>
  Buffer.concat(messages.map((m) => encodeMessage(m))).toString('hex');

test('consecutive messages are one span; a block between them ends it; counts follow', () => {
  const q = new PackedQueue();
  const have: WireMessage = { type: 'have', index: 7 };
  const unchoke: WireMessage = { type: 'unchoke' };
  const reject: WireMessage = { type: 'reject', index: 1, begin: 16384, length: 16384 };
  q.message(have);
  q.message(unchoke);
  q.requests([{ index: 2, begin: 0, length: 16384 }]);
  q.block({ index: 3, begin: 0, length: 16384 });
  q.message(reject);
  q.message({ type: 'keepAlive' });
  assert.equal(q.blocks, 1);
  assert.equal(q.bytes, 9 + 5 + 17 + 17 + 4);
  assert.equal(q.rejects, 1, 'rejects are counted apart');
  assert.deepEqual(drain(q), [
    hex(have, unchoke, { type: 'request', index: 2, begin: 0, length: 16384 }),
    'block 3:0',
    hex(reject, { type: 'keepAlive' }),
  ]);
  assert.equal(q.blocks, 0);
  assert.equal(q.bytes, 0);
  assert.equal(q.rejects, 0);
});

test('a full chunk starts another; a request batch splits between two chunks at a message boundary', () => {
  const q = new PackedQueue();
  const haves = Math.floor(PACK_CHUNK_BYTES / 9); // 455 haves: 4,095 bytes
  for (let i = 0; i < haves; i++) q.message({ type: 'have', index: i });
  const blocks = Array.from({ length: 10 }, (_, i) => ({ index: 9, begin: i * 16384, length: 16384 }));
  q.requests(blocks);
  const items = drain(q);
  assert.equal(items.length, 2, 'the haves, then the requests in a fresh chunk');
  assert.equal(
    items.join(''),
    hex(...Array.from({ length: haves }, (_, i): WireMessage => ({ type: 'have', index: i }))) +
      Buffer.from(encodeRequests(blocks)).toString('hex'),
  );

  // 250 requests (4,250 bytes) do not fit one chunk: the batch goes on in the next.
  const many = Array.from({ length: 250 }, (_, i) => ({ index: i, begin: 0, length: 16384 }));
  q.requests(many);
  const spans = drain(q);
  assert.equal(spans.length, 2);
  assert.equal(spans.join(''), Buffer.from(encodeRequests(many)).toString('hex'));
  for (const span of spans) assert.equal((span.length / 2) % 17, 0, 'whole messages in each span');
});

test('a message larger than a chunk has a buffer of its own, in its place', () => {
  const q = new PackedQueue();
  const bitfield: WireMessage = { type: 'bitfield', bitfield: new Uint8Array(PACK_CHUNK_BYTES).fill(0xff) };
  q.message({ type: 'interested' });
  q.message(bitfield);
  q.message({ type: 'choke' });
  const buffers: Buffer[] = [];
  const spans: string[] = [];
  for (let item = q.first; item !== undefined; item = q.first) {
    assert.equal(item.ref, undefined);
    if (item.ref === undefined) {
      buffers.push(item.bytes);
      spans.push(Buffer.from(item.bytes.subarray(item.start, item.end)).toString('hex'));
    }
    q.shift();
  }
  assert.deepEqual(spans, [hex({ type: 'interested' }), hex(bitfield), hex({ type: 'choke' })]);
  assert.equal(buffers[1]!.length, 5 + PACK_CHUNK_BYTES, 'the bitfield in a buffer of its own');
  assert.equal(buffers[0], buffers[2], 'the messages around it in one chunk');
});

test('bytes handed out stay as they were while more are packed behind them', () => {
  const q = new PackedQueue();
  q.message({ type: 'have', index: 1 });
  const item = q.first;
  assert.ok(item !== undefined && item.ref === undefined);
  const given = item.bytes.subarray(item.start, item.end); // as written to the socket
  q.shift();
  for (let i = 0; i < 1000; i++) q.message({ type: 'have', index: 0xffffffff });
  assert.equal(Buffer.from(given).toString('hex'), hex({ type: 'have', index: 1 }));
});

test('clear empties the queue and answers the blocks whose bytes were read', () => {
  const q = new PackedQueue();
  const read = q.block({ index: 0, begin: 0, length: 4 });
  const pinned: PinnedBlock = { block: new Uint8Array(4), chunk: undefined };
  read.pinned = pinned;
  q.block({ index: 0, begin: 4, length: 4 }); // still being read
  q.message({ type: 'have', index: 0 });
  assert.equal(q.readyBlocks(), 1);
  assert.deepEqual(q.clear(), [pinned]);
  assert.equal(q.first, undefined);
  assert.equal(q.blocks + q.bytes, 0);
});

test('messageAhead: ahead of the first block not yet taken off (read or not), behind everything before it, counted; without one, at the end', () => {
  const q = new PackedQueue();
  const range = { piecesRoot: new Uint8Array(32).fill(9), baseLayer: 1, index: 0, length: 2, proofLayers: 0 };
  const hashes: WireMessage = { type: 'hashes', ...range, hashes: new Uint8Array(64).fill(3) };
  const reject: WireMessage = { type: 'hashReject', ...range, index: 2 };
  const big: WireMessage = {
    type: 'hashes',
    ...range,
    length: 256,
    hashes: new Uint8Array(256 * 32).fill(5),
  };
  const have: WireMessage = { type: 'have', index: 7 };
  const choke: WireMessage = { type: 'choke' };
  q.message(have);
  q.block({ index: 1, begin: 0, length: 4 }).pinned = { block: new Uint8Array(4), chunk: undefined }; // read (waiting for tokens)
  q.block({ index: 1, begin: 4, length: 4 }); // being read
  q.block({ index: 1, begin: 8, length: 4 }).pinned = { block: new Uint8Array(4), chunk: undefined }; // read, behind
  q.message(choke);
  q.messageAhead(hashes);
  q.messageAhead(reject); // packed on behind the hashes: one span
  q.messageAhead(big); // a buffer of its own, still ahead of the block
  q.message(have); // behind everything (packed after the answers: a span of its own)
  assert.equal(q.blocks, 3);
  assert.equal(q.bytes, 9 + 5 + (4 + 49 + 64) + (4 + 49) + (4 + 49 + 256 * 32) + 9);
  assert.deepEqual(drain(q), [
    hex(have),
    hex(hashes, reject),
    hex(big),
    'block 1:0',
    'block 1:4',
    'block 1:8',
    hex(choke),
    hex(have),
  ]);
  assert.equal(q.bytes, 0);

  // A block read but not taken off (waiting for upload tokens): ahead of it too.
  q.block({ index: 2, begin: 0, length: 4 }).pinned = { block: new Uint8Array(4), chunk: undefined };
  q.message(choke);
  q.messageAhead(hashes);
  assert.deepEqual(drain(q), [hex(hashes), 'block 2:0', hex(choke)]);

  // No block: behind everything, as `message`.
  q.message(choke);
  q.messageAhead(hashes);
  assert.deepEqual(drain(q), [hex(choke, hashes)]);

  // Only a buffer of its own put ahead: what is packed next still grows the last span.
  q.block({ index: 3, begin: 0, length: 4 }); // being read
  q.message(choke);
  q.messageAhead(big);
  q.message(have);
  assert.deepEqual(drain(q), [hex(big), 'block 3:0', hex(choke, have)]);
});
