/**
 * The swarm ledger's rules (several connections at once) on hand-written groups: each rule broken
 * once and kept once, so a rule that never fires, or fires on a conforming target, fails here
 * (properties: test/property/swarm-ledger.property.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LedgerTorrent } from '../../../src/probe/conformance-ledger.js';
import { DownloaderLedger } from '../../../src/probe/downloader-ledger.js';
import { MAX_COMPARED_BLOCKS, SwarmLedger } from '../../../src/probe/swarm-ledger.js';
import { ourReservedBytes } from '../../../src/wire/reserved-bits.js';

const PIECE = 32 * 1024;
const torrent: LedgerTorrent = {
  infoHash: new Uint8Array(20).fill(1),
  pieceCount: 4,
  pieceLength: PIECE,
  totalLength: 3 * PIECE + 1000,
  pieces: new Uint8Array(80),
  version: 'v1',
  files: [{ path: ['p'], length: 3 * PIECE + 1000, offset: 0, padding: false }],
};
const B = 16 * 1024;
const rules = (l: { findings: readonly { level: string; rule: string; connection?: number }[] }) =>
  l.findings.map((f) => `${f.level} ${f.rule} ${f.connection}`);
const block = (fill: number, length = B) => new Uint8Array(length).fill(fill);
const quiet = { closedByTarget: false, hostile: undefined, steps: 3 };
/** haveWaitMs: times below are in milliseconds on a made-up clock. */
const WAIT = 1000;

test('block.differs: the same block with other bytes on another connection, once; the same bytes pass', () => {
  const l = new SwarmLedger(torrent, 3, WAIT);
  l.targetSent(0, { type: 'piece', index: 1, begin: 0, block: block(7) }, 0, 0);
  l.targetSent(1, { type: 'piece', index: 1, begin: 0, block: block(7) }, 2, 0);
  l.targetSent(0, { type: 'piece', index: 1, begin: B, block: block(7) }, 1, 0);
  assert.deepEqual(rules(l), []);
  l.targetSent(2, { type: 'piece', index: 1, begin: 0, block: block(8) }, 4, 0);
  l.targetSent(1, { type: 'piece', index: 1, begin: 0, block: block(9) }, 5, 0);
  // Another length is another block (a hostile request served), not a differing copy.
  l.targetSent(1, { type: 'piece', index: 1, begin: B, block: block(8, 100) }, 5, 0);
  assert.deepEqual(rules(l), ['violation block.differs 2']);
  assert.equal(l.findings[0]!.step, 4);
  assert.match(l.findings[0]!.detail, /piece 1 at 0 .* connection 0/);
});

test('block.differs remembers a bounded number of blocks', () => {
  const big: LedgerTorrent = { ...torrent, pieceCount: MAX_COMPARED_BLOCKS + 10 };
  const l = new SwarmLedger(big, 2, WAIT);
  for (let i = 0; i < MAX_COMPARED_BLOCKS + 10; i++)
    l.targetSent(0, { type: 'piece', index: i, begin: 0, block: block(1, 4) }, 0, 0);
  // Past the bound a block is not remembered, so not compared: no finding, no growth.
  l.targetSent(1, { type: 'piece', index: MAX_COMPARED_BLOCKS + 5, begin: 0, block: block(2, 4) }, 0, 0);
  l.targetSent(1, { type: 'piece', index: 3, begin: 0, block: block(2, 4) }, 0, 0);
  assert.deepEqual(rules(l), ['violation block.differs 1']);
});

test('what a group keeps of the pieces announced is a bit a piece a connection, not a record each', () => {
  // 64 connections to a seeder of 2^18 pieces, each sent its full bitfield (and told of every piece
  // by the probe): a set of piece numbers per connection was some 400 MB and seconds of work.
  const pieceCount = 1 << 18;
  const big: LedgerTorrent = { ...torrent, pieceCount };
  const full = new Uint8Array(pieceCount / 8).fill(0xff);
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const l = new SwarmLedger(big, 64, WAIT);
  for (let c = 0; c < 64; c++) {
    l.targetSent(c, { type: 'bitfield', bitfield: full }, -1, 0);
    if (c % 2 === 0) l.targetSent(c, { type: 'haveAll' }, 0, 1);
  }
  const kept = used() - before;
  assert.ok(kept < 48 * 2 ** 20, `${Math.round(kept / 2 ** 20)} MiB kept`);
  assert.deepEqual(l.owed(63), []);
  l.targetSent(0, { type: 'have', index: pieceCount - 1 }, 0, 2);
  assert.equal(l.connections, 64);
});

test('have.notBroadcast: a piece announced on one connection, not on one that lacked it and stayed', () => {
  const l = new SwarmLedger(torrent, 3, WAIT);
  // Connection 0 has pieces 1 and 3, 1 has 0, 2, 3, 2 has 0, 1, 3.
  l.probeAnnounced(0, [1, 3]);
  l.probeAnnounced(1, [0, 2, 3]);
  l.probeAnnounced(2, [0, 1, 3]);
  l.targetSent(1, { type: 'have', index: 1 }, 3, 100);
  l.targetSent(2, { type: 'have', index: 0 }, 4, 200);
  for (const c of [0, 1]) l.played(c);
  assert.equal(l.allPlayed, false);
  l.played(2);
  assert.equal(l.allPlayed, true);
  // 0 lacks piece 0 (announced on 2); 1 lacks 1 but was told; 2 has piece 1 (it need not be told).
  assert.deepEqual(l.owed(0), [0]);
  assert.deepEqual(l.owed(1), []);
  assert.deepEqual(l.owed(2), []);
  assert.equal(l.owedUntil(0), 200 + WAIT);
  assert.equal(l.owedUntil(1), undefined);
  // Piece 2, first announced at 900, is owed to 0 too: 0 must now wait until 1900.
  l.targetSent(1, { type: 'have', index: 2 }, 4, 900);
  assert.deepEqual(l.owed(0), [0, 2]);
  assert.equal(l.owedUntil(0), 900 + WAIT);
  // Connection 0 stopped waiting at 1500: piece 0 had its full wait, piece 2 not yet.
  l.lingered(0, 1500);
  l.lingered(1, 300);
  l.lingered(2, 300);
  for (const c of [0, 1, 2]) l.ended(c, quiet);
  l.end();
  assert.deepEqual(rules(l), ['violation have.notBroadcast 0']);
  assert.match(
    l.findings[0]!.detail,
    /piece 0 on this connection, which lacked it \(piece 0 announced on connection 2\)/,
  );
  assert.equal(l.findings[0]!.step, 3);
});

test('have.notBroadcast: not judged on a connection that did not stay, nor within the wait', () => {
  const l = new SwarmLedger(torrent, 2, WAIT);
  l.probeAnnounced(0, [1, 3]);
  l.probeAnnounced(1, [0, 2]);
  l.targetSent(0, { type: 'bitfield', bitfield: new Uint8Array([0b0100_0000]) }, -1, 0);
  l.played(0);
  l.played(1);
  assert.deepEqual(l.owed(1), [1]);
  // Connection 1 never lingered (the target closed it); connection 0 was owed nothing.
  l.lingered(0, 5000);
  l.ended(0, quiet);
  l.ended(1, { ...quiet, closedByTarget: true });
  l.end();
  assert.deepEqual(rules(l), []);
  // Stopped waiting 999 ms after the announcement: the have may have been on its way.
  const early = new SwarmLedger(torrent, 2, WAIT);
  early.probeAnnounced(1, [0, 2]);
  early.targetSent(0, { type: 'have', index: 1 }, 0, 1);
  early.lingered(1, WAIT);
  early.end();
  assert.deepEqual(rules(early), []);
  // Told by a have, or by haveAll, it is owed nothing.
  l.targetSent(1, { type: 'haveAll' }, 2, 10);
  assert.deepEqual(l.owed(1), []);
});

test('connection.collateral: a well-behaved connection closed by the target next to a hostile one is a note', () => {
  const l = new SwarmLedger(torrent, 3, WAIT);
  for (const c of [0, 1, 2]) l.played(c);
  l.ended(0, { closedByTarget: true, hostile: 'step 2: garbage 12 bytes', steps: 4 });
  l.ended(1, { closedByTarget: true, hostile: undefined, steps: 5 });
  l.ended(2, { closedByTarget: false, hostile: undefined, steps: 5 });
  l.end();
  assert.deepEqual(rules(l), ['note connection.collateral 1']);
  // Refused, or closed without a handshake: the target's limit on connections, not collateral.
  const limited = new SwarmLedger(torrent, 2, WAIT);
  limited.ended(0, { closedByTarget: true, hostile: 'step 0: garbage 3 bytes', steps: 1 });
  limited.ended(1, { closedByTarget: true, refused: true, hostile: undefined, steps: 1 });
  limited.end();
  assert.deepEqual(rules(limited), []);
  assert.match(l.findings[0]!.detail, /connection 0 played step 2: garbage/);
  // With no hostile step anywhere, a close is not collateral of anything.
  const calm = new SwarmLedger(torrent, 2, WAIT);
  calm.ended(0, { ...quiet, closedByTarget: true });
  calm.ended(1, quiet);
  calm.end();
  assert.deepEqual(rules(calm), []);
});

test('a group is 1 to 64 connections', () => {
  assert.throws(() => new SwarmLedger(torrent, 0, WAIT), RangeError);
  assert.throws(() => new SwarmLedger(torrent, 65, WAIT), RangeError);
  assert.throws(() => new SwarmLedger(torrent, 2, WAIT).played(2), RangeError);
});

test('have.badData over shared copies: a good copy served on another connection clears a corrupt one', () => {
  const copies = new Map();
  const opened = () => {
    const l = new DownloaderLedger(torrent, { copies });
    l.handshake({ infoHash: torrent.infoHash, reserved: ourReservedBytes() });
    l.received({ type: 'haveNone' });
    l.announce([0, 1, 2, 3]);
    l.unchoke();
    return l;
  };
  const a = opened();
  const b = opened();
  for (const begin of [0, B]) a.received({ type: 'request', index: 0, begin, length: B });
  a.served(a.takeOldest(1)[0]!, true);
  a.served(a.takeOldest(1)[0]!, false);
  b.received({ type: 'request', index: 0, begin: 0, length: B });
  b.served(b.takeOldest(1)[0]!, false);
  a.received({ type: 'have', index: 0 });
  assert.deepEqual(rules(a), [], 'the block it had corrupt on one connection it had right on the other');
  // The same without the good copy: the have is a breach, judged on the connection it came on.
  for (const begin of [0, B]) a.received({ type: 'request', index: 1, begin, length: B });
  a.served(a.takeOldest(1)[0]!, true);
  b.received({ type: 'request', index: 1, begin: B, length: B });
  b.served(b.takeOldest(1)[0]!, false);
  b.received({ type: 'have', index: 1 });
  assert.deepEqual(rules(b), ['violation have.badData undefined']);
});
