/**
 * The choker's decisions as properties in virtual time (SimulatedClock), over generated swarms:
 * peers joining, leaving, changing interest, rates, snubbing and BEP 21 upload_only. Properties:
 * never more than slots + 1 peers unchoked, only connected interested peers that are not upload
 * only unchoked; the optimistic slot rotates among several candidates, past upload-only ones; a
 * snubbing peer loses its regular slot while downloading.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type AnyActorRef, createActor, SimulatedClock, setup } from 'xstate';
import { type ChokerDecision, type ChokerEvent, chokerMachine } from '../../machines/choker.machine.js';

const SLOTS = 4;
const ROUND = 10_000;

function startChoker(seed: number, seeding = false) {
  const clock = new SimulatedClock();
  const unchoked = new Set<string>();
  const decisions: ChokerDecision[] = [];
  const parent = setup({ actors: { choker: chokerMachine } }).createMachine({
    invoke: { id: 'choker', src: 'choker', input: { seed, slots: SLOTS, rechokeMs: ROUND, seeding } },
    on: {
      'choker.decision': {
        actions: ({ event }) => {
          const d = event as unknown as ChokerDecision;
          decisions.push(d);
          for (const k of d.choke) unchoked.delete(k);
          for (const k of d.unchoke) unchoked.add(k);
        },
      },
    },
  });
  const actor = createActor(parent, { clock }).start();
  const choker = () => actor.getSnapshot().children.choker as AnyActorRef;
  return {
    clock,
    unchoked,
    decisions,
    send: (e: ChokerEvent) => choker().send(e),
    optimistic: (): string | undefined => choker().getSnapshot().context.optimistic,
    stop: () => actor.stop(),
  };
}

type Op =
  | { op: 'join'; peer: number }
  | { op: 'leave'; peer: number }
  | { op: 'interest'; peer: number; interested: boolean }
  | { op: 'rate'; peer: number; down: number; up: number; snubbed: boolean }
  | { op: 'uploadOnly'; peer: number; uploadOnly: boolean }
  | { op: 'wait'; ms: number };

const peerIx = fc.integer({ min: 0, max: 11 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('join' as const), peer: peerIx }),
  fc.record({ op: fc.constant('leave' as const), peer: peerIx }),
  fc.record({ op: fc.constant('interest' as const), peer: peerIx, interested: fc.boolean() }),
  fc.record({
    op: fc.constant('rate' as const),
    peer: peerIx,
    down: fc.nat(1_000_000),
    up: fc.nat(1_000_000),
    snubbed: fc.boolean(),
  }),
  fc.record({ op: fc.constant('uploadOnly' as const), peer: peerIx, uploadOnly: fc.boolean() }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 25_000 }) }),
);

test('never more than slots + 1 unchoked; only connected, interested peers that are not upload only are', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.boolean(),
      fc.array(opArb, { minLength: 20, maxLength: 80 }),
      (seed, seeding, ops) => {
        const c = startChoker(seed, seeding);
        const joined = new Map<string, { interested: boolean; uploadOnly: boolean }>();
        try {
          for (const o of ops) {
            if (o.op === 'wait') {
              for (let left = o.ms; left > 0; left -= 1000) c.clock.increment(Math.min(1000, left));
            } else {
              const key = `p${o.peer}`;
              if (o.op === 'join') {
                c.send({ type: 'choker.peerJoined', key });
                if (!joined.has(key)) joined.set(key, { interested: false, uploadOnly: false });
              } else if (o.op === 'leave') {
                c.send({ type: 'choker.peerLeft', key });
                joined.delete(key);
                c.unchoked.delete(key); // the parent forgets a peer that left
              } else if (o.op === 'interest') {
                c.send({ type: 'choker.peerUpdate', key, interested: o.interested });
                const j = joined.get(key);
                if (j !== undefined) j.interested = o.interested;
              } else if (o.op === 'uploadOnly') {
                c.send({ type: 'choker.peerUpdate', key, uploadOnly: o.uploadOnly });
                const j = joined.get(key);
                if (j !== undefined) j.uploadOnly = o.uploadOnly;
              } else {
                c.send({
                  type: 'choker.peerUpdate',
                  key,
                  downloadRate: o.down,
                  uploadRate: o.up,
                  snubbed: o.snubbed,
                });
              }
            }
            assert.ok(c.unchoked.size <= SLOTS + 1, `unchoked ${[...c.unchoked]}`);
            for (const k of c.unchoked) {
              assert.ok(joined.has(k), `${k} unchoked but not connected`);
              assert.ok(joined.get(k)!.interested, `${k} unchoked but not interested`);
              assert.ok(!joined.get(k)!.uploadOnly, `${k} unchoked but upload only`);
            }
          }
        } finally {
          c.stop();
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('the optimistic slot rotates every 30 s among the peers outside the regular slots', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: SLOTS + 2, max: 12 }), (seed, n) => {
      const c = startChoker(seed);
      try {
        for (let i = 0; i < n; i++) {
          const key = `p${i}`;
          c.send({ type: 'choker.peerJoined', key });
          // Distinct rates: p0..p3 hold the regular slots.
          c.send({ type: 'choker.peerUpdate', key, interested: true, downloadRate: 1000 * (n - i) });
        }
        const seen: string[] = [];
        for (let r = 0; r < 8; r++) {
          for (let i = 0; i < 3; i++) c.clock.increment(ROUND); // one timer firing per increment
          const o = c.optimistic();
          assert.ok(o !== undefined);
          assert.ok(!['p0', 'p1', 'p2', 'p3'].includes(o), `optimistic ${o} is a regular peer`);
          if (seen.length > 0) assert.notEqual(o, seen.at(-1), 'rotation picks someone new');
          seen.push(o);
        }
        assert.ok(new Set(seen).size >= 2);
      } finally {
        c.stop();
      }
    }),
    { numRuns: 50 },
  );
});

test('the optimistic slot keeps rotating past upload-only peers (BEP 21), never landing on one', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: SLOTS + 2, max: 12 }), fc.nat(), (seed, n, mask) => {
      const c = startChoker(seed);
      try {
        // Outside the regular slots (p0..p3 by rate), every peer is upload only but two.
        const downloaders = new Set([`p${SLOTS + (mask % (n - SLOTS))}`]);
        downloaders.add(`p${SLOTS + ((mask + 1) % (n - SLOTS))}`);
        for (let i = 0; i < n; i++) {
          const key = `p${i}`;
          c.send({ type: 'choker.peerJoined', key });
          c.send({ type: 'choker.peerUpdate', key, interested: true, downloadRate: 1000 * (n - i) });
          if (i >= SLOTS && !downloaders.has(key))
            c.send({ type: 'choker.peerUpdate', key, uploadOnly: true });
        }
        const seen: string[] = [];
        for (let r = 0; r < 6; r++) {
          for (let i = 0; i < 3; i++) c.clock.increment(ROUND);
          const o = c.optimistic();
          assert.ok(o !== undefined && downloaders.has(o), `optimistic ${o}`);
          if (seen.length > 0) assert.notEqual(o, seen.at(-1), 'rotation picks someone new');
          seen.push(o);
        }
        // The optimistic peer saying it is upload only loses the slot at once, to the other one.
        const o = c.optimistic()!;
        c.send({ type: 'choker.peerUpdate', key: o, uploadOnly: true });
        assert.ok(!c.unchoked.has(o));
        assert.ok(c.optimistic() !== undefined && c.optimistic() !== o);
      } finally {
        c.stop();
      }
    }),
    { numRuns: 50 },
  );
});

test('a snubbing peer loses its regular slot while we download (it may only be the optimistic one)', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 0, max: SLOTS - 1 }), (seed, victim) => {
      const c = startChoker(seed);
      try {
        for (let i = 0; i < SLOTS + 3; i++) {
          const key = `p${i}`;
          c.send({ type: 'choker.peerJoined', key });
          c.send({ type: 'choker.peerUpdate', key, interested: true, downloadRate: 100_000 - i * 1000 });
        }
        c.clock.increment(ROUND);
        const snubber = `p${victim}`;
        assert.ok(c.unchoked.has(snubber), 'fast peers hold the regular slots');
        c.send({ type: 'choker.peerUpdate', key: snubber, downloadRate: 0, snubbed: true });
        for (let r = 0; r < 6; r++) {
          c.clock.increment(ROUND);
          if (c.unchoked.has(snubber)) assert.equal(c.optimistic(), snubber);
          const regular = [...c.unchoked].filter((k) => k !== c.optimistic());
          assert.equal(regular.length, SLOTS, 'the slot went to another peer');
        }
      } finally {
        c.stop();
      }
    }),
    { numRuns: 50 },
  );
});

test('a newly interested peer is unchoked at once when a slot is free (no 10 s wait)', () => {
  const c = startChoker(1, true);
  c.send({ type: 'choker.peerJoined', key: 'a' });
  c.send({ type: 'choker.peerUpdate', key: 'a', interested: true });
  assert.deepEqual([...c.unchoked], ['a']);
  c.stop();
});
