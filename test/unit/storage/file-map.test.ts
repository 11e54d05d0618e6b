import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockOffset, FileMap } from '../../../src/storage/file-map.js';
import { StorageError } from '../../../src/storage/storage-error.js';

// Files laid end to end: a(10) empty(0) b(3) pad(5, BEP 47) c(40) empty2(0) = 58 bytes.
const files = [
  { length: 10, offset: 0, padding: false },
  { length: 0, offset: 10, padding: false },
  { length: 3, offset: 10, padding: false },
  { length: 5, offset: 13, padding: true },
  { length: 40, offset: 18, padding: false },
  { length: 0, offset: 58, padding: false },
];
const map = new FileMap(files, 58);

test('a range inside one file is one segment', () => {
  assert.deepEqual(map.segments(2, 5), [{ fileIndex: 0, fileOffset: 2, length: 5, padding: false }]);
});

test('a range across files skips zero-length files and flags padding', () => {
  assert.deepEqual(map.segments(8, 14), [
    { fileIndex: 0, fileOffset: 8, length: 2, padding: false },
    { fileIndex: 2, fileOffset: 0, length: 3, padding: false },
    { fileIndex: 3, fileOffset: 0, length: 5, padding: true },
    { fileIndex: 4, fileOffset: 0, length: 4, padding: false },
  ]);
});

test('a range starting exactly at a file boundary starts in that file', () => {
  assert.deepEqual(map.segments(10, 1), [{ fileIndex: 2, fileOffset: 0, length: 1, padding: false }]);
  assert.deepEqual(map.segments(18, 40), [{ fileIndex: 4, fileOffset: 0, length: 40, padding: false }]);
});

test('an empty range has no segments; a range past the end is refused', () => {
  assert.deepEqual(map.segments(58, 0), []);
  assert.throws(
    () => map.segments(50, 9),
    (e: unknown) => e instanceof StorageError && e.code === 'badRange',
  );
  assert.throws(() => map.segments(-1, 2), StorageError);
});

test('files that are not contiguous are refused', () => {
  assert.throws(
    () =>
      new FileMap(
        [
          { length: 4, offset: 0, padding: false },
          { length: 4, offset: 5, padding: false },
        ],
        9,
      ),
    (e: unknown) => e instanceof StorageError && e.code === 'badRange',
  );
  assert.throws(() => new FileMap([{ length: 4, offset: 0, padding: false }], 5), StorageError);
});

test('blockOffset checks the block lies inside its piece (last piece shorter)', () => {
  const t = { pieceLength: 16, pieceCount: 4, totalLength: 58 };
  assert.equal(blockOffset(t, 1, 4, 12), 20);
  assert.equal(blockOffset(t, 3, 0, 10), 48);
  for (const [i, b, l] of [
    [3, 0, 11],
    [4, 0, 1],
    [-1, 0, 1],
    [0, 10, 7],
    [0, -1, 1],
    [0.5, 0, 1],
  ] as const)
    assert.throws(
      () => blockOffset(t, i, b, l),
      (e: unknown) => e instanceof StorageError && e.code === 'badRange',
    );
});
