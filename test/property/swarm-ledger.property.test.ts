/**
 * The swarm ledger (several probe connections at once) under any group: a target that sends every
 * connection the same bytes for a block is never `block.differs`, and one copy changed is exactly one
 * finding; a connection is owed exactly the pieces first announced elsewhere that it neither had nor
 * was told of, and `have.notBroadcast` judges only those first announced a full wait before it
 * stopped waiting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LedgerTorrent } from '../../src/probe/conformance-ledger.js';
import { SwarmLedger } from '../../src/probe/swarm-ledger.js';

const PIECES = 6;
const torrent: LedgerTorrent = {
  infoHash: new Uint8Array(20).fill(1),
  pieceCount: PIECES,
  pieceLength: 32 * 1024,
  totalLength: PIECES * 32 * 1024,
  pieces: new Uint8Array(20 * PIECES),
  version: 'v1',
  files: [{ path: ['p'], length: PIECES * 32 * 1024, offset: 0, padding: false }],
};
const WAIT = 1000;
const N = 4;

test('block.differs: same bytes everywhere never; one copy changed, exactly one finding', () => {
  const delivery = fc.record({
    c: fc.integer({ min: 0, max: N - 1 }),
    index: fc.integer({ min: 0, max: PIECES - 1 }),
    begin: fc.constantFrom(0, 16384),
  });
  fc.assert(
    fc.property(fc.array(delivery, { minLength: 1, maxLength: 40 }), fc.nat(), (ds, which) => {
      const bytes = (index: number, begin: number) => new Uint8Array(64).fill((index * 7 + begin) & 0xff);
      const same = new SwarmLedger(torrent, N, WAIT);
      for (const d of ds) same.targetSent(d.c, { type: 'piece', ...d, block: bytes(d.index, d.begin) }, 0, 0);
      assert.equal(same.findings.length, 0);
      // One delivery's bytes changed: a finding if and only if its block came on another delivery too.
      const w = which % ds.length;
      const changed = new SwarmLedger(torrent, N, WAIT);
      for (const [i, d] of ds.entries()) {
        const block = bytes(d.index, d.begin);
        if (i === w) block[0] = block[0]! ^ 1;
        changed.targetSent(d.c, { type: 'piece', ...d, block }, 0, 0);
      }
      const copies = ds.filter((d) => d.index === ds[w]!.index && d.begin === ds[w]!.begin).length;
      assert.deepEqual(
        changed.findings.map((f) => f.rule),
        copies > 1 ? ['block.differs'] : [],
      );
    }),
  );
});

test('have.notBroadcast: owed what it lacked and was not told; judged only after a full wait', () => {
  const event = fc.record({
    c: fc.integer({ min: 0, max: N - 1 }),
    index: fc.integer({ min: 0, max: PIECES - 1 }),
    byProbe: fc.boolean(),
    at: fc.integer({ min: 0, max: 5000 }),
  });
  fc.assert(
    fc.property(
      fc.array(event, { maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 8000 }), { minLength: N, maxLength: N }),
      (events, stops) => {
        const l = new SwarmLedger(torrent, N, WAIT);
        const sorted = [...events].sort((a, b) => a.at - b.at);
        const first = new Map<number, number>();
        for (const e of sorted)
          if (e.byProbe) l.probeAnnounced(e.c, [e.index]);
          else {
            l.targetSent(e.c, { type: 'have', index: e.index }, 0, e.at);
            if (!first.has(e.index)) first.set(e.index, e.at);
          }
        for (let c = 0; c < N; c++) l.played(c);
        const expected: number[] = [];
        for (let c = 0; c < N; c++) {
          const had = new Set(sorted.filter((e) => e.c === c).map((e) => e.index));
          const owed = [...first.keys()].filter((i) => !had.has(i)).sort((a, b) => a - b);
          assert.deepEqual(l.owed(c), owed);
          const latest = Math.max(...owed.map((i) => first.get(i)!));
          assert.equal(l.owedUntil(c), owed.length === 0 ? undefined : latest + WAIT);
          l.lingered(c, stops[c]!);
          l.ended(c, { closedByTarget: false, hostile: undefined, steps: 1 });
          if (owed.some((i) => first.get(i)! <= stops[c]! - WAIT)) expected.push(c);
        }
        l.end();
        assert.deepEqual(
          l.findings.map((f) => [f.rule, f.connection]),
          expected.map((c) => ['have.notBroadcast', c]),
        );
      },
    ),
  );
});

test('a bitfield or haveAll announces what a have of each of its pieces would, spare bits none', () => {
  const message = fc.record({
    c: fc.integer({ min: 0, max: N - 1 }),
    at: fc.integer({ min: 0, max: 5000 }),
    m: fc.oneof(
      fc.record({ type: fc.constant('have' as const), index: fc.integer({ min: 0, max: PIECES - 1 }) }),
      fc.record({
        type: fc.constant('bitfield' as const),
        bitfield: fc.uint8Array({ minLength: 1, maxLength: 1 }),
      }),
      fc.constant({ type: 'haveAll' as const }),
    ),
  });
  fc.assert(
    fc.property(fc.array(message, { maxLength: 20 }), (ms) => {
      const whole = new SwarmLedger(torrent, N, WAIT);
      const each = new SwarmLedger(torrent, N, WAIT);
      for (const { c, at, m } of [...ms].sort((a, b) => a.at - b.at)) {
        whole.targetSent(c, m, 0, at);
        const pieces =
          m.type === 'have'
            ? [m.index]
            : m.type === 'haveAll'
              ? [...Array(PIECES).keys()]
              : [...Array(PIECES).keys()].filter((i) => (m.bitfield[0]! >> (7 - i)) & 1);
        for (const index of pieces) each.targetSent(c, { type: 'have', index }, 0, at);
      }
      for (let c = 0; c < N; c++) {
        assert.deepEqual(whole.owed(c), each.owed(c));
        assert.equal(whole.owedUntil(c), each.owedUntil(c));
      }
    }),
  );
});
