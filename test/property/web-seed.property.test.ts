/**
 * Web seeds (BEP 19), properties: for any file layout (tiny, empty, padding files) and any run of
 * the payload, the ranges cover exactly the run, each inside its file, and fetching them from the
 * files gives the payload's bytes; and however a response is split into chunks, the blocks cut
 * from it are the requested blocks with their exact bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BlockRef, ReceivedBlock } from '../../machines/peer.types.js';
import { BlockPool } from '../../src/net/block-pool.js';
import { WebSeedBlocks } from '../../src/net/web-seed-blocks.js';
import { webSeedFileUrl, webSeedRanges } from '../../src/net/web-seed-url.js';
import { FileMap } from '../../src/storage/file-map.js';
import { makeTorrent, payloadBytes, zeroPadding } from '../unit/storage/make-torrent.js';

const layout = fc.array(fc.record({ length: fc.integer({ min: 0, max: 300 }), padding: fc.boolean() }), {
  minLength: 1,
  maxLength: 8,
});

test('ranges cover the run exactly, inside their files, and give the payload bytes', () => {
  fc.assert(
    fc.property(layout, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 64 }), (files, a, b, pl) => {
      const specs = files.map((f, i) => ({ path: [`f ${i}`], length: f.length, padding: f.padding }));
      const total = specs.reduce((n, s) => n + s.length, 0);
      fc.pre(total > 0);
      const payload = zeroPadding(payloadBytes(total, 3), specs);
      const t = makeTorrent('n', specs, pl, payload, true);
      const start = a % total;
      const length = 1 + (b % (total - start));
      const ranges = webSeedRanges('http://h/', t, FileMap.of(t).segments(start, length));
      const got: number[] = [];
      for (const r of ranges) {
        assert.ok(r.length > 0);
        if (r.kind === 'zeros') got.push(...new Array<number>(r.length).fill(0));
        else {
          const f = t.files[r.fileIndex]!;
          assert.ok(
            !f.padding && r.start >= 0 && r.start + r.length <= f.length && r.fileLength === f.length,
          );
          assert.equal(r.url, webSeedFileUrl('http://h/', t, f));
          got.push(...payload.subarray(f.offset + r.start, f.offset + r.start + r.length));
        }
      }
      assert.deepEqual(Uint8Array.from(got), payload.subarray(start, start + length));
    }),
    { numRuns: 500 },
  );
});

test('any split of a response into chunks gives the requested blocks, exact bytes, in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 30 }),
      fc.boolean(),
      (lengths, cuts, pooled) => {
        let begin = 0;
        const blocks: BlockRef[] = lengths.map((length) => {
          const b = { index: 0, begin, length };
          begin += length;
          return b;
        });
        const body = payloadBytes(begin, 11);
        const out: ReceivedBlock[] = [];
        const asm = new WebSeedBlocks(blocks, (b) => out.push(b), pooled ? new BlockPool() : undefined);
        let at = 0;
        for (let i = 0; at < body.length; i++) {
          const n = Math.min(cuts[i % cuts.length]!, body.length - at);
          const chunk = body.slice(at, at + n);
          asm.push(chunk);
          chunk.fill(0xee); // the chunk is reused by the socket: blocks must be copies
          at += n;
          assert.equal(asm.remaining, body.length - at);
        }
        assert.ok(asm.done);
        assert.deepEqual(
          out.map((b) => [b.index, b.begin, b.block.length]),
          blocks.map((b) => [b.index, b.begin, b.length]),
        );
        for (const b of out) assert.deepEqual(b.block, body.subarray(b.begin, b.begin + b.block.length));
      },
    ),
    { numRuns: 500 },
  );
});
