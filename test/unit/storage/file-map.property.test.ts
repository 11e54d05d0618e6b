import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FileMap } from '../../../src/storage/file-map.js';

const fileList = fc.array(
  fc.record({ length: fc.oneof(fc.constant(0), fc.nat(50)), padding: fc.boolean() }),
  {
    minLength: 1,
    maxLength: 12,
  },
);

test('segments cover exactly the range, in order, within file bounds, never in an empty file', () => {
  fc.assert(
    fc.property(
      fileList.chain((specs) => {
        const total = specs.reduce((n, s) => n + s.length, 0);
        return fc.tuple(
          fc.constant(specs),
          fc.nat(total).chain((start) => fc.tuple(fc.constant(start), fc.nat(total - start))),
        );
      }),
      ([specs, [start, length]]) => {
        let offset = 0;
        const files = specs.map((s) => {
          const f = { length: s.length, offset, padding: s.padding };
          offset += s.length;
          return f;
        });
        const segs = new FileMap(files, offset).segments(start, length);
        let pos = start;
        let lastFile = -1;
        for (const s of segs) {
          const f = files[s.fileIndex]!;
          assert.ok(s.fileIndex > lastFile, 'files in payload order');
          assert.ok(s.length > 0 && f.length > 0);
          assert.ok(s.fileOffset >= 0 && s.fileOffset + s.length <= f.length, 'within the file');
          assert.equal(f.offset + s.fileOffset, pos, 'contiguous');
          assert.equal(s.padding, f.padding);
          pos += s.length;
          lastFile = s.fileIndex;
        }
        assert.equal(pos, start + length, 'covers the whole range');
      },
    ),
    { numRuns: 500 },
  );
});
