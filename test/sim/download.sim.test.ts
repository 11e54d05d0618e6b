/**
 * The download engine (real torrent + peer machines) against generated swarms in virtual time.
 * fast-check generates the torrent, the peers (honest, slow, corrupt, spoiling, lying, disconnecting,
 * choke-flapping, silent) and their failure schedules; a failing case shrinks to a readable record.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Bitfield } from '../../src/picker/bitfield.js';
import type { FakePeerSpec, PeerKind } from './fake-peer.js';
import { addressOf, runSwarm, type SwarmRun, type SwarmSpec } from './swarm.js';

/** Peers whose data is right and who keep serving: the download must finish when they hold it all. */
const RELIABLE: readonly PeerKind[] = ['honest', 'slow', 'chokeFlapping'];

const peerArb: fc.Arbitrary<FakePeerSpec> = fc
  .record({
    kind: fc.constantFrom<PeerKind>(
      'honest',
      'honest',
      'slow',
      'corrupt',
      'spoiling',
      'lying',
      'disconnecting',
      'chokeFlapping',
      'silent',
    ),
    holds: fc.oneof(fc.constant<'all'>('all'), fc.integer({ min: 0, max: 0xffffff })),
    rateKiBps: fc.integer({ min: 8, max: 512 }),
    latencyMs: fc.integer({ min: 1, max: 200 }),
    blocksBeforeDisconnect: fc.integer({ min: 1, max: 20 }),
    flapMs: fc.integer({ min: 200, max: 2000 }),
  })
  .map((p) => {
    if (p.kind === 'slow') return { ...p, rateKiBps: Math.max(1, p.rateKiBps >> 6) };
    // A peer that unchokes for less than a round trip never serves anything: not "reliable", not tested.
    if (p.kind === 'chokeFlapping') return { ...p, flapMs: Math.max(p.flapMs, 4 * p.latencyMs + 200) };
    return p;
  });

const swarmArb: fc.Arbitrary<SwarmSpec> = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  pieceCount: fc.integer({ min: 1, max: 24 }),
  blocksPerPiece: fc.integer({ min: 1, max: 4 }),
  blockLength: fc.constantFrom(256, 1024),
  lastPieceShortBy: fc.integer({ min: 0, max: 1500 }),
  maxPeers: fc.integer({ min: 1, max: 6 }),
  peers: fc.array(peerArb, { minLength: 1, maxLength: 6 }),
});

function reliableCoverAll(s: SwarmSpec): boolean {
  const union = new Bitfield(s.pieceCount);
  s.peers.forEach((p) => {
    if (!RELIABLE.includes(p.kind)) return;
    for (let i = 0; i < s.pieceCount; i++)
      if (p.holds === 'all' || (i < 24 && (p.holds >> i) & 1)) union.set(i);
  });
  return union.isComplete();
}

function checkRun(s: SwarmSpec, r: SwarmRun): void {
  // No request for a piece the peer never advertised, no duplicate outside endgame, never past the cap.
  assert.deepEqual(r.violations, []);
  if (r.output?.result === 'complete')
    assert.ok(Buffer.from(r.stored).equals(r.payload), 'completed with wrong bytes');
  if (reliableCoverAll(s))
    assert.deepEqual(r.output, { result: 'complete' }, 'reliable peers hold every piece, yet no completion');
  // An honest peer is never banned: only peers that send bad blocks.
  const bad = new Set(
    s.peers.flatMap((p, i) => (p.kind === 'corrupt' || p.kind === 'spoiling' ? [addressOf(i)] : [])),
  );
  for (const a of r.banned) assert.ok(bad.has(a), `${a} banned but it sends no bad block`);
  // The ban rule, end to end: the sole contributor of a failed piece is banned (and only corrupt peers are).
  for (const e of r.events) {
    if (e.type === 'torrent.pieceFailed' && e.contributors.length === 1)
      assert.ok(
        r.banned.has(e.contributors[0]!),
        `${e.contributors[0]} alone sent failed piece ${e.index}, not banned`,
      );
  }
  // Every block a corrupt or spoiling peer sends is bad: once the download is complete every failed
  // piece has passed since and been judged block by block, so such a peer in any failed piece is
  // banned (the download waits for the last judgement).
  if (r.output?.result !== 'complete') return;
  for (const [i, p] of s.peers.entries()) {
    const a = addressOf(i);
    const failedWith = r.events.find((e) => e.type === 'torrent.pieceFailed' && e.contributors.includes(a));
    if ((p.kind === 'corrupt' || p.kind === 'spoiling') && failedWith !== undefined)
      assert.ok(
        r.banned.has(a),
        `${a} sent bad blocks to failed piece ${failedWith.type === 'torrent.pieceFailed' && failedWith.index}, not banned`,
      );
  }
}

/**
 * Cases fast-check found, run first every time. A suspect piece (piece 11 failed with two
 * contributors) whose blocks were handed to a peer that did not own it, and handed back after the
 * pick: the picker, in endgame during the pick, left it again under the endgame duplicates it had
 * just handed out (CI, seed 1441797459). And a one-piece swarm (SIM_RUNS=2000) whose only piece
 * failed with a spoiling peer's block: it passed, the download completed at once, and the block
 * hashes that would have banned the spoiler came too late; completion now waits for them.
 */
const FOUND: SwarmSpec[] = [
  {
    seed: 0,
    pieceCount: 1,
    blocksPerPiece: 2,
    blockLength: 256,
    lastPieceShortBy: 0,
    maxPeers: 1,
    peers: [
      {
        kind: 'spoiling',
        holds: 4522555,
        rateKiBps: 8,
        latencyMs: 1,
        blocksBeforeDisconnect: 1,
        flapMs: 200,
      },
      { kind: 'honest', holds: 'all', rateKiBps: 8, latencyMs: 1, blocksBeforeDisconnect: 1, flapMs: 200 },
      { kind: 'honest', holds: 0, rateKiBps: 8, latencyMs: 1, blocksBeforeDisconnect: 1, flapMs: 200 },
    ],
  },
  {
    seed: 2129080732,
    pieceCount: 23,
    blocksPerPiece: 4,
    blockLength: 256,
    lastPieceShortBy: 256,
    maxPeers: 5,
    peers: [
      { kind: 'slow', holds: 'all', rateKiBps: 1, latencyMs: 101, blocksBeforeDisconnect: 1, flapMs: 200 },
      { kind: 'lying', holds: 'all', rateKiBps: 8, latencyMs: 1, blocksBeforeDisconnect: 1, flapMs: 200 },
      { kind: 'corrupt', holds: 'all', rateKiBps: 8, latencyMs: 111, blocksBeforeDisconnect: 1, flapMs: 200 },
      { kind: 'slow', holds: 6668302, rateKiBps: 1, latencyMs: 151, blocksBeforeDisconnect: 1, flapMs: 200 },
      {
        kind: 'disconnecting',
        holds: 'all',
        rateKiBps: 8,
        latencyMs: 101,
        blocksBeforeDisconnect: 7,
        flapMs: 200,
      },
    ],
  },
];

test('generated swarms: exact bytes whenever reliable peers hold every piece; requests stay sane', () => {
  fc.assert(
    fc.property(swarmArb, (s) => checkRun(s, runSwarm(s))),
    { numRuns: Number(process.env.SIM_RUNS ?? 200), examples: FOUND.map((s) => [s]) },
  );
});

test('a corrupt seed among honest seeds is banned and the download completes', () => {
  const honest = {
    kind: 'honest',
    holds: 'all',
    rateKiBps: 64,
    latencyMs: 20,
    blocksBeforeDisconnect: 1,
    flapMs: 500,
  } as const;
  const spec: SwarmSpec = {
    seed: 42,
    pieceCount: 24,
    blocksPerPiece: 2,
    blockLength: 1024,
    lastPieceShortBy: 300,
    maxPeers: 4,
    peers: [{ ...honest, kind: 'corrupt', rateKiBps: 512 }, honest, { ...honest, latencyMs: 80 }],
  };
  const r = runSwarm(spec);
  checkRun(spec, r);
  assert.deepEqual(r.output, { result: 'complete' });
  assert.deepEqual([...r.banned], [addressOf(0)]);
  const closed = r.events.filter((e) => e.type === 'torrent.peerClosed' && e.address === addressOf(0));
  assert.deepEqual(
    closed.map((e) => (e.type === 'torrent.peerClosed' ? e.reason.reason : '')),
    ['banned'],
  );
});

test('a peer spoiling one block of each piece beside honest seeds is banned, never an honest one', () => {
  // The hostile-peer review's attack: each failed piece has two contributors, the spoiler and an
  // honest seed; counting shared failures banned the honest seeds and the download stalled.
  const base = { holds: 'all', latencyMs: 20, blocksBeforeDisconnect: 1, flapMs: 500 } as const;
  const spec: SwarmSpec = {
    seed: 11,
    pieceCount: 24,
    blocksPerPiece: 4,
    blockLength: 1024,
    lastPieceShortBy: 0,
    maxPeers: 4,
    peers: [
      { ...base, kind: 'spoiling', rateKiBps: 512 },
      { ...base, kind: 'honest', rateKiBps: 32 },
      { ...base, kind: 'honest', rateKiBps: 48, latencyMs: 60 },
    ],
  };
  const r = runSwarm(spec);
  checkRun(spec, r);
  assert.deepEqual(r.output, { result: 'complete' });
  const shared = r.events.filter((e) => e.type === 'torrent.pieceFailed' && e.contributors.length > 1);
  assert.ok(shared.length >= 3, `${shared.length} pieces failed with several contributors`);
  assert.deepEqual([...r.banned], [addressOf(0)]);
  const ban = r.events.find((e) => e.type === 'torrent.peerBanned');
  assert.equal(ban?.type === 'torrent.peerBanned' && ban.why, 'badBlock');
});

test('lying, silent and disconnecting peers are dropped with their reasons; honest ones finish', () => {
  const base = {
    holds: 'all',
    rateKiBps: 32,
    latencyMs: 30,
    blocksBeforeDisconnect: 3,
    flapMs: 400,
  } as const;
  const spec: SwarmSpec = {
    seed: 7,
    pieceCount: 24,
    blocksPerPiece: 4,
    blockLength: 1024,
    lastPieceShortBy: 0,
    maxPeers: 5,
    peers: [
      { ...base, kind: 'lying' },
      { ...base, kind: 'silent' },
      { ...base, kind: 'disconnecting' },
      { ...base, kind: 'chokeFlapping' },
      { ...base, kind: 'slow', rateKiBps: 2 },
    ],
  };
  const r = runSwarm(spec);
  checkRun(spec, r);
  assert.deepEqual(r.output, { result: 'complete' });
  const reasons = (a: string) =>
    new Set(
      r.events.flatMap((e) => (e.type === 'torrent.peerClosed' && e.address === a ? [e.reason.reason] : [])),
    );
  assert.ok(reasons(addressOf(0)).has('requestTimeout'), 'lying peer snubbed');
  assert.ok(reasons(addressOf(1)).has('handshakeTimeout'), 'silent peer timed out');
  assert.ok(reasons(addressOf(2)).has('socketError'), 'disconnecting peer dropped');
});

test('10,000 pieces over 50 simulated peers complete (seconds of real time)', () => {
  const base = { holds: 'all', latencyMs: 20, blocksBeforeDisconnect: 50, flapMs: 300 } as const;
  const kinds: PeerKind[] = [
    'honest',
    'honest',
    'honest',
    'corrupt',
    'honest',
    'chokeFlapping',
    'honest',
    'disconnecting',
    'honest',
    'slow',
  ];
  const peers = Array.from(
    { length: 50 },
    (_, i): FakePeerSpec => ({ ...base, kind: kinds[i % 10]!, rateKiBps: 512 + i * 64 }),
  );
  const spec: SwarmSpec = {
    seed: 9,
    pieceCount: 10_000,
    blocksPerPiece: 1,
    blockLength: 1024,
    lastPieceShortBy: 0,
    maxPeers: 50,
    peers,
  };
  const r = runSwarm(spec, { recordEvents: false });
  assert.deepEqual(r.violations, []);
  assert.deepEqual(r.output, { result: 'complete' });
  assert.ok(Buffer.from(r.stored).equals(r.payload));
  assert.equal(r.banned.size, 5);
});
