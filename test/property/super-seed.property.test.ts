/**
 * Super-seeding's piece revealing (BEP 16: machines/torrent-super-seed.ts over
 * super-seed-reveals.ts, with a real PiecePicker for the availability) as properties over generated
 * swarms: peers joining and leaving, completing a piece they were shown (their `have`), or taking a
 * piece from another peer. Properties:
 * - a piece is never shown to a second peer while the peer lacks a piece shown to no one;
 * - never more than MAX_REVEALED_PER_PEER pieces shown to a peer, each one it lacks, none twice;
 * - the ledger's counts are exactly the pieces shown to the peers connected (bounded state: one
 *   count per piece, two pieces per peer);
 * - a peer that lacks a piece is always shown one, so peers that keep announcing what they are
 *   shown all finish: every piece is revealed to each of them in the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PeerCommand } from '../../machines/peer.types.js';
import { MAX_REVEALED_PER_PEER, SuperSeedReveals } from '../../machines/super-seed-reveals.js';
import type { TorrentContext, TorrentEffects } from '../../machines/torrent-context.js';
import type { PeerEntry } from '../../machines/torrent-peers.js';
import {
  revealOpening,
  superSeedBitfield,
  superSeedClosed,
  superSeedHave,
} from '../../machines/torrent-super-seed.js';
import { Bitfield } from '../../src/picker/bitfield.js';
import { PiecePicker } from '../../src/picker/piece-picker.js';
import { mulberry32 } from '../../src/picker/prng.js';

/** A super-seed's context as torrent-super-seed.ts reads it: the reveals, a picker with every piece. */
function swarm(pieceCount: number, seed: number) {
  const picker = new PiecePicker({ pieceCount, pieceLength: 16_384, totalLength: pieceCount * 16_384 });
  for (let i = 0; i < pieceCount; i++) picker.markHave(i);
  const reveals = new SuperSeedReveals(pieceCount, mulberry32(seed));
  const c = { superSeed: reveals, picker, pieceCount } as unknown as TorrentContext;
  const peers = new Map<number, PeerEntry>();
  /** Every reveal in order: to whom, which piece, and whether the peer lacked a piece shown to no one. */
  const log: { peer: number; index: number; sharedAlready: boolean; unsharedExisted: boolean }[] = [];
  let current = -1;
  const fx: TorrentEffects = {
    emit: () => {},
    toStorage: () => {},
    toPeer: (_ref, cmd: PeerCommand) => {
      if (cmd.type !== 'cmd.reveal') return;
      const e = peers.get(current)!;
      // The ledger already counts this reveal: shared before it if more than this one now.
      const sharedAlready = reveals.revealedTo(cmd.index) > 1;
      let unsharedExisted = false;
      for (let i = 0; i < pieceCount; i++)
        if (!e.bitfield.has(i) && !e.revealed.includes(i) && reveals.revealedTo(i) === 0)
          unsharedExisted = true;
      log.push({ peer: current, index: cmd.index, sharedAlready, unsharedExisted });
    },
  };
  const entry = (): PeerEntry =>
    ({
      superSeed: true,
      revealed: [],
      bitfield: new Bitfield(pieceCount),
      ref: undefined,
    }) as unknown as PeerEntry;
  return {
    c,
    reveals,
    peers,
    log,
    join(id: number): void {
      if (peers.has(id)) return;
      const e = entry();
      peers.set(id, e);
      current = id;
      revealOpening(c, e, fx);
    },
    leave(id: number): void {
      const e = peers.get(id);
      if (e === undefined) return;
      picker.removeAvailability(e.bitfield);
      superSeedClosed(c, e);
      peers.delete(id);
    },
    /** The peer announces `have` for `index` (from us or from another peer), as the torrent machine takes it. */
    have(id: number, index: number): void {
      const e = peers.get(id);
      if (e === undefined || e.bitfield.has(index)) return;
      e.bitfield.set(index);
      picker.addHave(index);
      current = id;
      superSeedHave(c, e, index, fx);
    },
    /** The peer's (later) bitfield: what it has plus `more`. */
    bitfield(id: number, more: readonly number[]): void {
      const e = peers.get(id);
      if (e === undefined) return;
      const bits = new Bitfield(pieceCount, e.bitfield.bytes.slice());
      for (const i of more) bits.set(i);
      picker.removeAvailability(e.bitfield);
      picker.addAvailability(bits);
      e.bitfield = bits;
      current = id;
      superSeedBitfield(c, e, fx);
    },
  };
}

type Swarm = ReturnType<typeof swarm>;

function checkInvariants(s: Swarm, pieceCount: number): void {
  const counts = new Array<number>(pieceCount).fill(0);
  for (const [id, e] of s.peers) {
    assert.ok(e.revealed.length <= MAX_REVEALED_PER_PEER, `peer ${id} shown ${e.revealed}`);
    assert.equal(new Set(e.revealed).size, e.revealed.length, `peer ${id} shown one piece twice`);
    for (const i of e.revealed) {
      assert.ok(!e.bitfield.has(i), `peer ${id} shown ${i}, which it has`);
      counts[i]!++;
    }
    // Liveness: a peer that lacks a piece has one to fetch from us.
    if (e.bitfield.count < pieceCount)
      assert.ok(e.revealed.length > 0, `peer ${id} lacks pieces, shown none`);
  }
  for (let i = 0; i < pieceCount; i++) assert.equal(s.reveals.revealedTo(i), counts[i], `piece ${i}'s count`);
  for (const r of s.log)
    assert.ok(!(r.sharedAlready && r.unsharedExisted), `piece ${r.index} shown to peer ${r.peer} twice over`);
}

const step = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), peer: fc.nat(5) }),
  fc.record({ kind: fc.constant('leave' as const), peer: fc.nat(5) }),
  // The peer completes a piece it was shown (which of its two: `pick`).
  fc.record({ kind: fc.constant('fromSeed' as const), peer: fc.nat(5), pick: fc.nat(1) }),
  // The peer takes a piece another peer has (the `pick`-th such), and announces it.
  fc.record({ kind: fc.constant('trade' as const), peer: fc.nat(5), pick: fc.nat(63) }),
  fc.record({ kind: fc.constant('bitfield' as const), peer: fc.nat(5), pick: fc.nat(63) }),
);

type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

function play(s: Swarm, pieceCount: number, st: Step): void {
  const e = s.peers.get(st.peer);
  switch (st.kind) {
    case 'join':
      s.join(st.peer);
      return;
    case 'leave':
      s.leave(st.peer);
      return;
    case 'fromSeed': {
      const index = e?.revealed[Math.min(st.pick, (e?.revealed.length ?? 1) - 1)];
      if (index !== undefined) s.have(st.peer, index);
      return;
    }
    case 'trade': {
      if (e === undefined) return;
      const offered: number[] = [];
      for (const [id, other] of s.peers)
        if (id !== st.peer) other.bitfield.forEachSet((i) => !e.bitfield.has(i) && offered.push(i));
      if (offered.length > 0) s.have(st.peer, offered[st.pick % offered.length]!);
      return;
    }
    case 'bitfield':
      s.bitfield(st.peer, [st.pick % pieceCount]);
      return;
  }
}

test('pieces shown: never shared while an unshared one is lacking, at most two a peer, counts exact', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 24 }),
      fc.integer(),
      fc.array(step, { maxLength: 200 }),
      (pieceCount, seed, steps) => {
        const s = swarm(pieceCount, seed);
        for (const st of steps) {
          play(s, pieceCount, st);
          checkInvariants(s, pieceCount);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('peers that announce the pieces they are shown all finish, whatever else happens first', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer(),
      fc.array(step, { maxLength: 60 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
      (pieceCount, n, seed, prelude, order) => {
        const s = swarm(pieceCount, seed);
        for (const st of prelude) play(s, pieceCount, st);
        for (let id = 0; id < n; id++) s.join(id);
        // Each round one peer completes one piece it was shown: at most pieces × peers rounds in all.
        const ids = [...s.peers.keys()];
        const bound = pieceCount * ids.length;
        for (let round = 0; round < bound; round++) {
          const waiting = ids.filter((id) => s.peers.get(id)!.bitfield.count < pieceCount);
          if (waiting.length === 0) break;
          const id = waiting[order[round % order.length]! % waiting.length]!;
          const e = s.peers.get(id)!;
          assert.ok(e.revealed.length > 0, `peer ${id} lacks pieces and is shown none`);
          s.have(id, e.revealed[0]!);
          checkInvariants(s, pieceCount);
        }
        for (const id of ids)
          assert.equal(s.peers.get(id)!.bitfield.count, pieceCount, `peer ${id} finished`);
      },
    ),
    { numRuns: 200 },
  );
});
