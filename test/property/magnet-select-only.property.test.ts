/**
 * BEP 53's `so=` (select only) through parseMagnet (fast-check): any set of file indexes, written as
 * so= indexes and inclusive ranges — runs cut anywhere, in any order, overlapping, spread over
 * several so= (numbered or not), commas percent-encoded or not — parses back to the same set; and
 * any so= value is either taken or refused as a bad magnet naming `so`, never another exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FileIndexRange } from '../../src/metainfo/file-index-ranges.js';
import { parseMagnet } from '../../src/metainfo/magnet.js';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';

const XT = `xt=urn:btih:${'0123456789'.repeat(4)}`;

/** The indexes `ranges` covers, ascending, each once. */
function covered(ranges: readonly FileIndexRange[]): number[] {
  const set = new Set<number>();
  for (const [from, to] of ranges) for (let i = from; i <= to; i++) set.add(i);
  return [...set].sort((a, b) => a - b);
}

/** The maximal runs of consecutive indexes in the ascending `indexes`. */
function runs(indexes: readonly number[]): FileIndexRange[] {
  const out: [number, number][] = [];
  for (const i of indexes) {
    const last = out.at(-1);
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/** An index set and a way of writing it: runs cut in pieces of 7, shuffled, some twice, spread over so= params. */
const written = fc
  .uniqueArray(fc.nat({ max: 3_000 }), { minLength: 1, maxLength: 60 })
  .map((xs) => xs.sort((a, b) => a - b))
  .chain((indexes) => {
    const pieces = runs(indexes).flatMap(([from, to]) => {
      const cut: FileIndexRange[] = [];
      for (let a = from; a <= to; a += 7) cut.push([a, Math.min(to, a + 6)]);
      return cut;
    });
    return fc.record({
      indexes: fc.constant(indexes),
      // Every piece, in any order, then some of them again (overlapping what is already there).
      terms: fc
        .tuple(
          fc.shuffledSubarray(pieces, { minLength: pieces.length, maxLength: pieces.length }),
          fc.subarray(pieces),
        )
        .map(([all, again]) => [...all, ...again]),
      params: fc.integer({ min: 1, max: 4 }),
      encodeCommas: fc.boolean(),
      numbered: fc.boolean(),
      singleAsRange: fc.boolean(),
    });
  });

describe('so= (BEP 53) through parseMagnet', () => {
  it('any set of indexes written as so= ranges parses back to the same set', () => {
    fc.assert(
      fc.property(written, ({ indexes, terms, params, encodeCommas, numbered, singleAsRange }) => {
        const text = terms.map(([from, to]) => (from === to && !singleAsRange ? `${from}` : `${from}-${to}`));
        // Spread over `params` so= parameters, each non-empty.
        const per = Math.ceil(text.length / params);
        const values: string[] = [];
        for (let k = 0; k < text.length; k += per) values.push(text.slice(k, k + per).join(','));
        const query = values
          .map((v, k) => `${numbered ? `so.${k + 1}` : 'so'}=${encodeCommas ? v.replaceAll(',', '%2C') : v}`)
          .join('&');
        const m = parseMagnet(`magnet:?${XT}&${query}&dn=x`);
        assert.deepEqual(covered(m.selectOnly ?? []), indexes, query);
        assert.ok(
          m.selectOnly!.every(([from, to]) => Number.isSafeInteger(from) && from <= to),
          'ranges are whole numbers, from ≤ to',
        );
      }),
      { numRuns: 300 },
    );
  });

  it('any so= value is taken or refused as a bad magnet naming so', () => {
    const value = fc.oneof(
      fc.string({
        unit: fc.constantFrom('0', '1', '9', ',', '-', ' ', '%', '2', 'C', '+', 'a'),
        maxLength: 24,
      }),
      fc.string({ maxLength: 24 }).map(encodeURIComponent),
    );
    fc.assert(
      fc.property(value, (v) => {
        try {
          const ranges = parseMagnet(`magnet:?${XT}&so=${v}`).selectOnly!;
          assert.ok(ranges.length > 0 && ranges.every(([from, to]) => from <= to), v);
        } catch (err) {
          assert.ok(err instanceof MetainfoError, String(err));
          assert.equal(err.code, 'bad-magnet');
          assert.equal(err.field, 'so');
        }
      }),
      { numRuns: 500 },
    );
  });
});
