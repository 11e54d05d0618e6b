import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type ArenaReader, READ_CHUNK_BYTES, ReadArena } from '../../src/net/read-arena.js';

/**
 * The read arena (src/net/read-arena.ts): whatever several sockets read, in whatever sizes, and
 * whatever order storage gives the blocks back in (twice, a subarray, a foreign buffer), no read
 * ever lands on a block still out — every kept view keeps its bytes until it is given back — the
 * chunks stay within the cap, and once everything is given back and every socket closed, every
 * chunk is free again.
 */

type Op =
  | { kind: 'read'; socket: number; n: number; keepEvery: number }
  | { kind: 'release'; pick: number; how: 'once' | 'twice' | 'subarray' | 'foreign' }
  | { kind: 'close'; socket: number };

const SOCKETS = 3;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      socket: fc.integer({ min: 0, max: SOCKETS - 1 }),
      // From a trickle to a full 256 KiB window (the reader's thresholds are 16 and 64 KiB).
      n: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 60_000, max: 262_144 })),
      keepEvery: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      pick: fc.nat(),
      how: fc.constantFrom('once' as const, 'twice' as const, 'subarray' as const, 'foreign' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), socket: fc.nat(SOCKETS - 1) }) },
);

/** The byte every kept view of read `stamp` holds. */
const byteOf = (stamp: number) => (stamp * 31 + 7) & 0xff;

test('no read lands on a view still out; the cap holds; everything given back frees every chunk', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 1, max: 6 }), (ops, chunks) => {
      const arena = new ReadArena(chunks * READ_CHUNK_BYTES);
      const shared = new Uint8Array(256 * 1024);
      const readers: ArenaReader[] = Array.from({ length: SOCKETS }, () => arena.reader());
      // What each socket's next read lands in, asked for as Node does: before the first read, after each.
      const windows = readers.map((r) => r.window() ?? shared);
      const out: { view: Uint8Array; stamp: number }[] = [];
      let stamp = 0;
      const checkOut = () => {
        for (const { view, stamp: s } of out) {
          assert.ok(arena.counts(view));
          assert.ok(
            view.every((b) => b === byteOf(s)),
            'a view kept its bytes',
          );
        }
      };
      for (const op of ops) {
        if (op.kind === 'read') {
          const reader = readers[op.socket]!;
          const into = windows[op.socket]!;
          const n = Math.min(op.n, into.length);
          stamp++;
          into.fill(byteOf(stamp), 0, n); // the read
          // The blocks decoded from it: 16 KiB pieces, every keepEvery-th one handed on.
          for (let at = 0, k = 0; at < n; at += 16_384, k++) {
            const view = into.subarray(at, Math.min(n, at + 16_384));
            if (k % op.keepEvery !== 0) continue;
            if (reader.keep(view)) out.push({ view, stamp });
            else assert.ok(into === shared || !arena.has(into), 'only arena windows are kept as views');
          }
          reader.read(n);
          windows[op.socket] = reader.window() ?? shared;
        } else if (op.kind === 'release') {
          if (op.how === 'foreign') {
            arena.release(new Uint8Array(16_384));
            continue;
          }
          if (out.length === 0) continue;
          const { view } = out.splice(op.pick % out.length, 1)[0]!;
          if (op.how === 'subarray' && view.length > 1) {
            arena.release(view.subarray(1)); // not the view handed out: ignored
            assert.ok(arena.counts(view));
          }
          arena.release(view);
          if (op.how === 'twice') arena.release(view);
        } else {
          readers[op.socket]!.close();
          readers[op.socket] = arena.reader();
          windows[op.socket] = readers[op.socket]!.window() ?? shared;
        }
        assert.ok(arena.chunkBytes <= chunks * READ_CHUNK_BYTES, 'within the cap');
        checkOut();
      }
      for (const { view } of out) arena.release(view);
      for (const r of readers) r.close();
      assert.equal(arena.free * READ_CHUNK_BYTES, arena.chunkBytes, 'every chunk free again');
    }),
    { numRuns: 300 },
  );
});
