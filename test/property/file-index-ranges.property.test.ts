/**
 * Marking the files a `--select` list or a magnet link's `so=` names (markFileIndexes, fast-check):
 * exactly the files in the union of the ranges are marked, whatever their order and overlap; an index
 * past the files marks nothing and is reported (the first such range's end); and each file is written
 * once, however often the list names it — a hostile link repeating `0-262143` costs its terms and the
 * files, not their product.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type FileIndexRange, markFileIndexes } from '../../src/metainfo/file-index-ranges.js';

const rangeIn = (files: number) =>
  fc
    .tuple(fc.nat({ max: files + 3 }), fc.nat({ max: 6 }))
    .map(([from, span]): FileIndexRange => [from, from + span]);

/** An array of `files` falses whose element writes are counted. */
function counted(files: number): { selected: boolean[]; writes: () => number } {
  let writes = 0;
  const selected = new Proxy(
    Array.from({ length: files }, () => false),
    {
      set(target, key, value) {
        if (typeof key === 'string' && /^\d+$/.test(key)) writes++;
        return Reflect.set(target, key, value);
      },
    },
  );
  return { selected, writes: () => writes };
}

describe('markFileIndexes', () => {
  it('marks the union of the ranges, or nothing and the first end past the files', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 40 })
          .chain((files) => fc.tuple(fc.constant(files), fc.array(rangeIn(files), { maxLength: 12 }))),
        ([files, ranges]) => {
          const selected = Array.from({ length: files }, () => false);
          const past = markFileIndexes(ranges, selected);
          const firstPast = ranges.find(([, to]) => to >= files)?.[1];
          assert.equal(past, firstPast);
          const expected = Array.from(
            { length: files },
            (_, i) => firstPast === undefined && ranges.some(([from, to]) => from <= i && i <= to),
          );
          assert.deepEqual(selected, expected);
        },
      ),
    );
  });

  it('writes each file once, however often and in whatever order the list names it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((files) =>
          fc.tuple(
            fc.constant(files),
            fc.array(
              fc
                .tuple(fc.nat({ max: files - 1 }), fc.nat({ max: files - 1 }))
                .map(([a, b]): FileIndexRange => [Math.min(a, b), Math.max(a, b)]),
              { minLength: 1, maxLength: 40 },
            ),
          ),
        ),
        ([files, ranges]) => {
          const { selected, writes } = counted(files);
          markFileIndexes([...ranges, ...ranges, [0, files - 1]], selected);
          assert.ok(selected.every(Boolean));
          assert.ok(writes() <= files, `${writes()} writes for ${files} files`);
        },
      ),
    );
  });
});
