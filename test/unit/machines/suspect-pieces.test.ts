import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SUSPECT_BAR_MS, SuspectPieces } from '../../../machines/suspect-pieces.js';

const block = (index: number) => ({ index, begin: 0, length: 16384 });

test('the first peer handed a block of an unowned suspect owns it; others may not take it', () => {
  const s = new SuspectPieces();
  s.add(4);
  assert.equal(s.ownerOf(4), '');
  assert.equal(s.ownerOf(5), undefined, 'not a suspect');
  assert.equal(s.mayTake(4, 'a', 'a', 0), true);
  s.claim('a', [block(5), block(4)]);
  assert.equal(s.ownerOf(4), 'a');
  assert.equal(s.mayTake(4, 'a', 'a', 0), true);
  assert.equal(s.mayTake(4, 'h', 'h', 0), false);
  assert.equal(s.mayTake(5, 'h', 'h', 0), true, 'a piece that is no suspect is anyone’s');
  s.claim('h', [block(4)]);
  assert.equal(s.ownerOf(4), 'a', 'an owned suspect is not claimed again');
  assert.deepEqual(s.toJSON(), { pieces: 1, owned: 1 });
});

test('an owner that lets a suspect go is barred from it for SUSPECT_BAR_MS; another peer may take it at once', () => {
  const s = new SuspectPieces();
  s.add(0);
  s.add(1);
  s.claim('a', [block(0), block(1)]);
  s.release('a', 'a', 10_000);
  assert.deepEqual(s.toJSON(), { pieces: 2, owned: 0 });
  assert.equal(s.mayTake(0, 'a', 'a', 10_000), false);
  assert.equal(s.mayTake(0, 'a', 'a', 10_000 + SUSPECT_BAR_MS - 1), false);
  assert.equal(s.mayTake(0, 'h', 'h', 10_000), true);
  // The bar lapses: a piece whose only sources all let it go is still fetched.
  assert.equal(s.mayTake(1, 'a', 'a', 10_000 + SUSPECT_BAR_MS), true);
  // A failed attempt keeps the bar: the same owner letting the piece go round after round is what
  // it stops.
  s.claim('h', [block(0)]);
  s.add(0);
  assert.equal(s.ownerOf(0), '');
  assert.equal(s.mayTake(0, 'a', 'a', 10_000 + 1), false);
  // Passing ends it.
  s.delete(0);
  assert.equal(s.mayTake(0, 'a', 'a', 10_000 + 1), true);
  assert.equal(s.size, 1);
});

test('a barred peer that owns the piece again after the bar is not barred while it owns it', () => {
  const s = new SuspectPieces();
  s.add(2);
  s.claim('a', [block(2)]);
  s.release('a', 'a', 0);
  s.claim('a', [block(2)]); // as fill would never do before the bar lapses; the owner may always take
  assert.equal(s.mayTake(2, 'a', 'a', 0), true);
  s.release('a', 'a', 5_000);
  assert.equal(
    s.mayTake(2, 'a', 'a', 5_000 + SUSPECT_BAR_MS - 1),
    false,
    'barred again from the new release',
  );
});

test('property: a suspect has at most one owner, and no barred peer takes an unowned one before its time', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), index: fc.nat(3) }),
    fc.record({ kind: fc.constant('delete' as const), index: fc.nat(3) }),
    fc.record({
      kind: fc.constant('claim' as const),
      peer: fc.constantFrom('a', 'b', 'c'),
      index: fc.nat(3),
    }),
    fc.record({ kind: fc.constant('release' as const), peer: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const s = new SuspectPieces();
      let now = 0;
      /** What the model says: peer → piece → barred until. */
      const bars = new Map<string, number>();
      const owners = new Map<number, string>();
      for (const o of ops) {
        if (o.kind === 'wait') now += o.ms;
        else if (o.kind === 'add') {
          s.add(o.index);
          owners.set(o.index, '');
        } else if (o.kind === 'delete') {
          s.delete(o.index);
          owners.delete(o.index);
          for (const k of [...bars.keys()]) if (k.endsWith(`#${o.index}`)) bars.delete(k);
        } else if (o.kind === 'claim') {
          // As fill does: a peer is handed a suspect's block only when it may take it.
          if (!s.mayTake(o.index, o.peer, o.peer, now)) continue;
          s.claim(o.peer, [block(o.index)]);
          if (owners.get(o.index) === '') owners.set(o.index, o.peer);
        } else {
          s.release(o.peer, o.peer, now);
          for (const [i, owner] of owners)
            if (owner === o.peer) {
              owners.set(i, '');
              bars.set(`${o.peer}#${i}`, now + SUSPECT_BAR_MS);
            }
        }
        for (const [i, owner] of owners) {
          assert.equal(s.ownerOf(i), owner);
          for (const p of ['a', 'b', 'c']) {
            const until = bars.get(`${p}#${i}`);
            const expected = owner === p || (owner === '' && (until === undefined || until <= now));
            assert.equal(s.mayTake(i, p, p, now), expected, `${p} on ${i} at ${now}`);
          }
        }
      }
    }),
  );
});

test('the bar is kept under the bar key: another connection from the same host is barred too, and lapsed bars go', () => {
  const s = new SuspectPieces();
  s.add(7);
  s.claim('10.0.0.9:50000', [block(7)]);
  s.release('10.0.0.9:50000', '10.0.0.9', 0);
  assert.equal(s.mayTake(7, '10.0.0.9:50001', '10.0.0.9', 1_000), false, 'dialled in again from a new port');
  assert.equal(s.mayTake(7, '10.0.0.8:50000', '10.0.0.8', 1_000), true);
  // Many releases over time keep only the bars that have not lapsed.
  for (let i = 0; i < 100; i++) {
    s.claim(`h${i}:1`, [block(7)]);
    s.release(`h${i}:1`, `h${i}`, i * SUSPECT_BAR_MS);
  }
  assert.ok(s.barsOf(7) <= 2, `${s.barsOf(7)} bars kept`);
});
