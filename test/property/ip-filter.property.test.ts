/**
 * Properties of the IP filter (src/net/ip-range-set.ts, blocklist-parse.ts, read-blocklist.ts) on
 * generated ranges: the merged set answers as a naive list of the ranges does, for any address;
 * merging does not depend on the ranges' order; a list written in any of the formats parses to the
 * same set; and random bytes, gzipped or not, never throw anything but a BlocklistError.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parseBlocklist } from '../../src/net/blocklist-parse.js';
import { formatIpv4, IpRangeSet } from '../../src/net/ip-range-set.js';
import { BlocklistError, decodeBlocklist } from '../../src/net/read-blocklist.js';

const MAX = 0xffff_ffff;
/** Addresses bunched in a few small neighbourhoods, so ranges overlap, touch and nest often. */
const address = fc.oneof(
  fc.integer({ min: 0, max: MAX }),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0x7f00_0000, max: 0x7f00_0120 }),
  fc.integer({ min: MAX - 300, max: MAX }),
);
const range = fc.tuple(address, address).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
const ranges = fc.array(range, { maxLength: 40 });

const setOf = (rs: readonly (readonly [number, number])[]) =>
  IpRangeSet.fromRanges(
    rs.map((r) => r[0]),
    rs.map((r) => r[1]),
  );

test('the set blocks exactly what some range of the naive list covers', () => {
  fc.assert(
    fc.property(ranges, fc.array(address, { maxLength: 40 }), (rs, probes) => {
      const set = setOf(rs);
      // Probes at every range's edges and just outside them, and random ones.
      const all = [...probes, ...rs.flatMap(([a, b]) => [a, b, a - 1, b + 1])].filter(
        (x) => x >= 0 && x <= MAX,
      );
      for (const x of all)
        assert.equal(
          set.has(x),
          rs.some(([a, b]) => a <= x && x <= b),
          formatIpv4(x),
        );
      // Merged: sorted, disjoint, never touching.
      for (let i = 1; i < set.size; i++) assert.ok(set.starts[i]! > set.ends[i - 1]! + 1);
    }),
    { numRuns: 300 },
  );
});

test('merging does not depend on the order of the ranges', () => {
  fc.assert(
    fc.property(
      ranges.chain((rs) => fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length }))),
      ([rs, shuffled]) => {
        const a = setOf(rs);
        const b = setOf(shuffled);
        assert.deepEqual([...a.starts], [...b.starts]);
        assert.deepEqual([...a.ends], [...b.ends]);
      },
    ),
    { numRuns: 300 },
  );
});

test('the same ranges written as P2P, DAT or plain lines, in any mix, parse to the same set', () => {
  const line = (r: readonly [number, number], format: number) => {
    const [a, b] = [formatIpv4(r[0]), formatIpv4(r[1])];
    const pad = (ip: string) =>
      ip
        .split('.')
        .map((o) => o.padStart(3, '0'))
        .join('.');
    if (format === 0) return `Some: org:${a}-${b}`;
    if (format === 1) return `${pad(a)} - ${pad(b)} , 000 , desc, with commas`;
    if (format === 2) return `${b} - ${a}`;
    return r[0] === r[1] ? a : `${a}-${b}`;
  };
  fc.assert(
    fc.property(
      ranges,
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 40, maxLength: 40 }),
      (rs, formats) => {
        const text = rs.map((r, i) => line(r, formats[i]!)).join('\n');
        const parsed = parseBlocklist(`# generated\n${text}\n`);
        const expected = setOf(rs);
        assert.equal(parsed.invalid, 0, text);
        assert.deepEqual([...parsed.ranges.starts], [...expected.starts]);
        assert.deepEqual([...parsed.ranges.ends], [...expected.ends]);
      },
    ),
    { numRuns: 200 },
  );
});

test('random bytes, gzipped or not, give a set or a BlocklistError, nothing else', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.string({ maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
        fc
          .array(fc.constantFrom('1', '.', '-', ':', ',', '/', ' ', '\n', '#', '2', '5', 'a', 'f', '0'), {
            maxLength: 300,
          })
          .map((cs) => new TextEncoder().encode(cs.join(''))),
      ),
      fc.boolean(),
      async (bytes, gzip) => {
        const input = gzip ? gzipSync(bytes) : bytes;
        const cut = gzip && bytes.length % 3 === 0 ? input.subarray(0, input.length - 5) : input;
        try {
          const parsed = await decodeBlocklist('random', cut);
          assert.ok(parsed.ranges.size > 0);
        } catch (err) {
          assert.ok(err instanceof BlocklistError, String(err));
        }
      },
    ),
    { numRuns: 300 },
  );
});
