import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Bitfield } from '../../src/picker/bitfield.js';
import { BLOCK_LENGTH, type BlockRef, PiecePicker } from '../../src/picker/piece-picker.js';
import { mulberry32 } from '../../src/picker/prng.js';

/**
 * Random sequences of swarm events against the picker, with a plain model of who requested what,
 * what was received and which pieces are verified; the invariants are checked after every step.
 */

const PEERS = ['p0', 'p1', 'p2', 'p3'] as const;
const peerArb = fc.constantFrom(...PEERS);
const MAX_PIECES = 10;

/** A peer's bitfield as a string, "1101…", so a shrunk counterexample reads like libtorrent's tests. */
const bitsArb = (length: number) =>
  fc
    .array(fc.boolean(), { minLength: length, maxLength: length })
    .map((a) => a.map((v) => (v ? '1' : '0')).join(''));

const opArb = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('connect' as const),
      peer: peerArb,
      bits: bitsArb(MAX_PIECES),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant('have' as const), peer: peerArb, index: fc.nat(MAX_PIECES - 1) }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('gone' as const), peer: peerArb }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('pick' as const),
      peer: peerArb,
      count: fc.integer({ min: 0, max: 6 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant('receive' as const), peer: peerArb, k: fc.nat() }), weight: 5 },
  {
    arbitrary: fc.record({
      op: fc.constant('stale' as const),
      peer: peerArb,
      index: fc.nat(MAX_PIECES - 1),
      block: fc.nat(3),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('return' as const), peer: peerArb, k: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('hash' as const), k: fc.nat(), ok: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({ op: fc.constant('markHave' as const), index: fc.nat(MAX_PIECES - 1) }),
    weight: 1,
  },
);

const scenarioArb = fc.record({
  pieces: fc.integer({ min: 1, max: MAX_PIECES }),
  blocks: fc.integer({ min: 1, max: 4 }),
  lastBlocks: fc.integer({ min: 1, max: 4 }),
  randomFirstPieces: fc.nat(3),
  maxRequesters: fc.integer({ min: 1, max: 3 }),
  // Small budgets make picks fall back to walking the peer's bitfield: both paths are checked.
  scanBudget: fc.integer({ min: 0, max: 6 }),
  seed: fc.nat(),
  initial: fc.array(bitsArb(MAX_PIECES), {
    minLength: PEERS.length,
    maxLength: PEERS.length,
  }),
  ops: fc.array(opArb, { minLength: 10, maxLength: 150, size: 'medium' }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;
const key = (i: number, b: number) => `${i}:${b}`;

function toBitfield(bits: string, n: number): Bitfield {
  const b = new Bitfield(n);
  for (let i = 0; i < n; i++) if (bits[i] === '1') b.set(i);
  return b;
}

function run(s: Scenario): void {
  const blocks = s.blocks;
  const lastBlocks = Math.min(s.lastBlocks, blocks);
  const n = s.pieces;
  const p = new PiecePicker({
    pieceCount: n,
    pieceLength: blocks * BLOCK_LENGTH,
    totalLength: ((n - 1) * blocks + lastBlocks) * BLOCK_LENGTH - 7,
    random: mulberry32(s.seed),
    randomFirstPieces: s.randomFirstPieces,
    endgameMaxRequesters: s.maxRequesters,
    scanBudget: s.scanBudget,
  });
  const blockCount = (i: number) => (i === n - 1 ? lastBlocks : blocks);
  const ref = (i: number, b: number): BlockRef => p.geometry.blockRef(i, b);
  // The model.
  const bitfields = new Map<string, Bitfield>();
  const outstanding = new Map<string, Set<string>>(PEERS.map((x) => [x, new Set()]));
  const received = new Set<string>();
  const contributors = new Map<number, Set<string>>();
  const have = new Set<number>();
  const requesters = (i: number, b: number) => PEERS.filter((x) => outstanding.get(x)!.has(key(i, b)));
  /** Per piece, the peer that was last given one of its blocks: the one fetching it. */
  const lastRequester = new Map<number, string>();
  const nobodyFetching = (i: number) =>
    [...Array(blockCount(i)).keys()].every((b) => requesters(i, b).length === 0);
  /** A peer giving back a block of a piece it was fetching leaves the piece to anyone. */
  const gaveBack = (x: string, k: string) => {
    const [i] = parse(k);
    if (lastRequester.get(i) === x) lastRequester.delete(i);
  };
  const pieceReceived = (i: number) => [...Array(blockCount(i)).keys()].every((b) => received.has(key(i, b)));
  const forgetPiece = (i: number) => {
    for (let b = 0; b < blockCount(i); b++) {
      received.delete(key(i, b));
      for (const x of PEERS) outstanding.get(x)!.delete(key(i, b));
    }
    contributors.delete(i);
  };
  const hasMissing = (i: number) =>
    [...Array(blockCount(i)).keys()].some((b) => p.blockStateOf(i, b) === 'missing');
  const parse = (k: string) => k.split(':').map(Number) as [number, number];
  // Every peer starts connected; `gone` and `connect` churn them.
  s.initial.forEach((bits, k) => {
    const b = toBitfield(bits, n);
    bitfields.set(PEERS[k]!, b);
    p.addAvailability(b);
  });

  for (const o of s.ops) {
    const bf = 'peer' in o ? bitfields.get(o.peer) : undefined;
    switch (o.op) {
      case 'connect': {
        if (bf !== undefined) break;
        const b = toBitfield(o.bits, n);
        bitfields.set(o.peer, b);
        p.addAvailability(b);
        break;
      }
      case 'have':
        if (bf === undefined || o.index >= n || bf.has(o.index)) break;
        bf.set(o.index);
        p.addHave(o.index);
        break;
      case 'gone': {
        const got = p.peerGone(o.peer).map((r) => key(r.index, r.begin / BLOCK_LENGTH));
        assert.deepEqual(
          got.sort(),
          [...outstanding.get(o.peer)!].sort(),
          'peerGone returns exactly what was outstanding',
        );
        for (const k of outstanding.get(o.peer)!) gaveBack(o.peer, k);
        outstanding.get(o.peer)!.clear();
        if (bf !== undefined) p.removeAvailability(bf);
        bitfields.delete(o.peer);
        break;
      }
      case 'pick': {
        if (bf === undefined) break;
        const peerPieces = [...bf.indexes()].filter((i) => !have.has(i));
        const untouched = (i: number) =>
          [...Array(blockCount(i)).keys()].every((b) => p.blockStateOf(i, b) === 'missing');
        // Partial pieces this peer is fetching, or nobody is, come before new ones; partial pieces
        // other peers are fetching come after them (piece affinity).
        const partialBefore = peerPieces.filter((i) => !untouched(i) && hasMissing(i));
        const ownBefore = partialBefore.filter(
          (i) => nobodyFetching(i) || !lastRequester.has(i) || lastRequester.get(i) === o.peer,
        );
        const othersBefore = new Set(partialBefore.filter((i) => !ownBefore.includes(i)));
        const freshBefore = new Set(peerPieces.filter(untouched));
        const randomPhase = have.size < s.randomFirstPieces;
        const picked = p.pick(bf, o.count, o.peer);
        const started = new Set(picked.map((r) => r.index).filter((i) => freshBefore.has(i)));
        if (picked.some((r) => othersBefore.has(r.index)))
          assert.deepEqual(
            peerPieces.filter(untouched),
            [],
            "another peer's partial piece only once no new piece is left",
          );
        if (started.size > 0) {
          for (const i of ownBefore) assert.ok(!hasMissing(i), `partial piece ${i} first`);
          const rarestLeft = Math.min(...peerPieces.filter(untouched).map((i) => p.availabilityOf(i)));
          if (!randomPhase)
            for (const i of started)
              assert.ok(p.availabilityOf(i) <= rarestLeft, `piece ${i} is not the rarest`);
        }
        assert.ok(picked.length <= o.count);
        let duplicates = 0;
        for (const r of picked) {
          const b = r.begin / BLOCK_LENGTH;
          assert.deepEqual(r, ref(r.index, b), 'a whole block of our geometry');
          assert.ok(bf.has(r.index), 'only pieces the peer has');
          assert.ok(!have.has(r.index) && !received.has(key(r.index, b)), 'only blocks we still need');
          assert.ok(!outstanding.get(o.peer)!.has(key(r.index, b)), 'never twice to the same peer');
          if (requesters(r.index, b).length > 0) duplicates++;
          outstanding.get(o.peer)!.add(key(r.index, b));
          lastRequester.set(r.index, o.peer);
          assert.ok(requesters(r.index, b).length <= s.maxRequesters, 'bounded copies');
        }
        // What the peer could still serve, fresh or duplicate:
        const missingLeft = [...bf.indexes()].some((i) =>
          [...Array(blockCount(i)).keys()].some((b) => p.blockStateOf(i, b) === 'missing'),
        );
        if (duplicates > 0) {
          assert.ok(p.inEndgame, 'duplicates only in endgame');
          assert.ok(!missingLeft, 'duplicates only once the peer has no unrequested block left');
        }
        if (picked.length < o.count) {
          assert.ok(!missingLeft, 'a short pick leaves nothing unrequested the peer has');
          if (p.inEndgame)
            for (const i of bf.indexes())
              for (let b = 0; b < blockCount(i); b++) {
                const rs = requesters(i, b);
                assert.ok(
                  rs.length === 0 || rs.length >= s.maxRequesters || rs.includes(o.peer),
                  `endgame copy of ${key(i, b)} left out`,
                );
              }
        }
        break;
      }
      case 'receive': {
        const mine = [...outstanding.get(o.peer)!].sort();
        if (mine.length === 0) break;
        const k = mine[o.k % mine.length]!;
        const [i, b] = parse(k);
        const others = requesters(i, b).filter((x) => x !== o.peer);
        const r = p.blockReceived(ref(i, b), o.peer);
        for (const x of PEERS) outstanding.get(x)!.delete(k);
        received.add(k);
        if (!contributors.has(i)) contributors.set(i, new Set());
        contributors.get(i)!.add(o.peer);
        assert.deepEqual(
          { ...r, otherRequesters: [...r.otherRequesters].sort() },
          { accepted: true, pieceComplete: pieceReceived(i), otherRequesters: others },
        );
        break;
      }
      case 'stale': {
        if (
          o.index >= n ||
          o.block >= blockCount(o.index) ||
          outstanding.get(o.peer)!.has(key(o.index, o.block))
        )
          break;
        const before = JSON.stringify(p.toJSON());
        assert.equal(
          p.blockReceived(ref(o.index, o.block), o.peer).accepted,
          false,
          'not outstanding to this peer: dropped',
        );
        assert.equal(JSON.stringify(p.toJSON()), before);
        break;
      }
      case 'return': {
        const mine = [...outstanding.get(o.peer)!].sort();
        if (mine.length === 0) break;
        const k = mine[o.k % mine.length]!;
        p.blockReturned(ref(...parse(k)), o.peer);
        outstanding.get(o.peer)!.delete(k);
        gaveBack(o.peer, k);
        break;
      }
      case 'hash': {
        const done = [...Array(n).keys()].filter((i) => !have.has(i) && pieceReceived(i));
        if (done.length === 0) break;
        const i = done[o.k % done.length]!;
        if (o.ok) {
          p.pieceVerified(i);
          have.add(i);
        } else
          assert.deepEqual(p.pieceFailed(i).sort(), [...contributors.get(i)!].sort(), 'the contributors');
        forgetPiece(i);
        break;
      }
      case 'markHave':
        if (o.index >= n) break;
        p.markHave(o.index);
        have.add(o.index);
        forgetPiece(o.index);
        break;
    }
    checkInvariants();
  }

  function checkInvariants(): void {
    let requested = 0;
    let receivedBlocks = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      const avail = [...bitfields.values()].filter((b) => b.has(i)).length;
      assert.equal(p.availabilityOf(i), avail, `availability of ${i} is the sum of the peers' bitfields`);
      assert.equal(p.have.has(i), have.has(i));
      for (let b = 0; b < blockCount(i); b++) {
        const rs = requesters(i, b);
        assert.deepEqual(p.requestersOf(ref(i, b)).sort(), rs, `requesters of ${key(i, b)}`);
        const expected =
          have.has(i) || received.has(key(i, b)) ? 'received' : rs.length > 0 ? 'requested' : 'missing';
        assert.equal(p.blockStateOf(i, b), expected, `state of ${key(i, b)}`);
        if (expected === 'requested') requested++;
        if (expected === 'received') receivedBlocks++;
        pairs += rs.length;
      }
    }
    // Endgame: no piece some peer has is missing a block, yet some piece is wholly in flight.
    const anyRequestable = [...Array(n).keys()].some((i) => p.availabilityOf(i) > 0 && hasMissing(i));
    const anyFullInFlight = [...Array(n).keys()].some(
      (i) =>
        !hasMissing(i) && [...Array(blockCount(i)).keys()].some((b) => p.blockStateOf(i, b) === 'requested'),
    );
    assert.equal(p.inEndgame, !anyRequestable && anyFullInFlight, 'endgame rule');
    const j = p.toJSON();
    assert.equal(j.blocksRequested, requested);
    assert.equal(j.blocksReceived, receivedBlocks);
    assert.ok(requested + receivedBlocks <= j.totalBlocks);
    assert.equal(j.requests, pairs);
    for (const x of PEERS) assert.equal(p.outstandingFor(x), outstanding.get(x)!.size);
    assert.equal(p.isComplete(), have.size === n);
    assert.equal(j.have, have.size);
  }
}

test('picker invariants hold after every event of random swarms', () => {
  fc.assert(fc.property(scenarioArb, run), { numRuns: 1000 });
});

test('receiving every picked block and verifying completes the download (a web seed among the peers picking runs)', () => {
  const arb = fc.record({
    /** Peer 0 picks contiguous runs, as a web seed does (BEP 19). */
    contiguous: fc.boolean(),
    pieces: fc.integer({ min: 1, max: 40 }),
    blocks: fc.integer({ min: 1, max: 5 }),
    peers: fc.array(bitsArb(40), { minLength: 1, maxLength: 5 }),
    count: fc.integer({ min: 1, max: 8 }),
    seed: fc.nat(),
    failFirst: fc.nat(3),
  });
  fc.assert(
    fc.property(arb, (s) => {
      const n = s.pieces;
      const p = new PiecePicker({
        pieceCount: n,
        pieceLength: s.blocks * BLOCK_LENGTH,
        totalLength: n * s.blocks * BLOCK_LENGTH,
        random: mulberry32(s.seed),
      });
      const fields = s.peers.map((bits) => toBitfield(bits, n));
      // The swarm as a whole holds every piece: the last peer fills the gaps.
      const union = new Bitfield(n);
      for (const b of fields) for (const i of b.indexes()) union.set(i);
      for (let i = 0; i < n; i++) if (!union.has(i)) fields[fields.length - 1]!.set(i);
      for (const b of fields) p.addAvailability(b);
      let hashes = 0;
      for (let round = 0; round < 10 * n * s.blocks + 10 && !p.isComplete(); round++) {
        fields.forEach((b, k) => {
          for (const r of p.pick(b, s.count, `peer${k}`, k === 0 && s.contiguous)) {
            if (!p.blockReceived(r, `peer${k}`).pieceComplete) continue;
            // The first few hashes fail: those pieces must come back and be fetched again.
            if (hashes++ < s.failFirst) p.pieceFailed(r.index);
            else p.pieceVerified(r.index);
          }
        });
      }
      assert.ok(p.isComplete(), `complete: ${JSON.stringify(p.toJSON())}`);
      assert.equal(p.have.count, n);
    }),
    { numRuns: 200 },
  );
});
