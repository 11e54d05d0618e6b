/**
 * MetadataFetch (machines/metadata-fetch.ts), the fetch's bookkeeping, in cases the property test
 * reaches too rarely to pin.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataFetch } from '../../../machines/metadata-fetch.js';

const SIZE = 20_000; // two pieces: 16,384 + 3,616 bytes
const piece = (i: number) => new Uint8Array(i === 0 ? 16_384 : SIZE - 16_384);

test('a single source that sends a whole bad copy and leaves while it is hashed is still named, and not asked again', () => {
  const f = new MetadataFetch({ maxPerPeer: 2, requestTimeoutTicks: 10, backoffTicks: 60 });
  f.addPeer('A', SIZE);
  f.addPeer('B', SIZE);
  // A copy from two peers fails: nobody is named, and every later copy comes from one peer.
  f.data('A', 0, SIZE, piece(0));
  f.data('B', 1, SIZE, piece(1));
  assert.ok(f.complete);
  f.hashFailed();
  const source = ['A', 'B'].find((p) => f.outstandingOf(p).size > 0)!;
  for (const p of [...f.outstandingOf(source)]) f.data(source, p, SIZE, piece(p));
  assert.ok(f.complete, 'a whole copy from the one source');
  // Its connection closes while the machine hashes the copy: the copy (and who sent it) is kept.
  assert.deepEqual(f.removePeer(source), [], 'nothing asked while a whole copy waits for its hash');
  assert.ok(f.complete);
  const commands = f.hashFailed();
  assert.deepEqual(commands[0], { type: 'drop', peer: source, reason: 'badMetadata' });
  assert.deepEqual(f.addPeer(source, SIZE), [], 'the liar is not taken back');
});
