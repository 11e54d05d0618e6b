/**
 * The downloader ledger's rules on hand-written conversations: each rule broken once and kept once,
 * so a rule that never fires, or fires on a conforming downloader, fails here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LedgerTorrent } from '../../../src/probe/conformance-ledger.js';
import { DownloaderLedger } from '../../../src/probe/downloader-ledger.js';
import { ourReservedBytes } from '../../../src/wire/reserved-bits.js';

// Three pieces of 32 KiB and a last one of 1,000 bytes.
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

/** After the target's handshake (BEP 6 on unless `plain`), with pieces `announced` in the opening. */
function opened(announced: number[] = [0, 1, 2, 3], plain = false): DownloaderLedger {
  const l = new DownloaderLedger(torrent);
  l.handshake({ infoHash: torrent.infoHash, reserved: plain ? new Uint8Array(8) : ourReservedBytes() });
  l.received(plain ? { type: 'bitfield', bitfield: new Uint8Array(1) } : { type: 'haveNone' });
  l.announce(announced);
  return l;
}
const rules = (l: DownloaderLedger) => l.findings.map((f) => `${f.level} ${f.rule}`);
const request = (index: number, begin: number, length = B) => ({
  type: 'request' as const,
  index,
  begin,
  length,
});

test('a conforming downloader: requests when unchoked, served, a have of a piece served right', () => {
  const l = opened();
  l.received({ type: 'interested' });
  l.unchoke();
  l.received(request(0, 0));
  l.received(request(0, B));
  l.received(request(3, 0, 1000));
  assert.equal(l.pending().length, 3);
  for (const p of l.takeOldest(2)) l.served(p, false);
  l.received({ type: 'have', index: 0 });
  l.received({ type: 'cancel', index: 3, begin: 0, length: 1000 });
  l.end();
  assert.deepEqual(rules(l), []);
  assert.equal(l.pending().length, 0, 'the cancel took its request back');
});

test('requests over 16 KiB, past the last piece, past a piece end, for a piece not announced', () => {
  const l = opened([0, 1, 2]);
  l.received({ type: 'interested' });
  l.unchoke();
  l.received(request(0, 0, B + 1));
  l.received(request(4, 0));
  l.received(request(1, PIECE - 100, 200));
  l.received(request(3, 0, 1000));
  l.received(request(0, 0, 0));
  assert.deepEqual(rules(l), [
    'violation request.tooLong',
    'violation request.outOfRange',
    'violation request.pastPieceEnd',
    'violation request.notAnnounced',
    'note request.empty',
  ]);
  assert.equal(l.pending().length, 0);
  // BEP 6: each is rejected, none served.
  assert.equal(l.takeRefused().length, 5);
});

test('a request while choked is judged only once the target has shown it read the choke', () => {
  const l = opened([0, 1]);
  // The connection starts choked (BEP 3): a request for a piece of the opening is after it.
  l.received(request(0, 0));
  assert.deepEqual(rules(l), ['violation request.whileChoked']);
  const m = opened([0, 1]);
  m.unchoke();
  m.received(request(0, 0));
  m.choke();
  // May have left before our choke reached it: not judged.
  m.received(request(0, B));
  assert.deepEqual(rules(m), []);
  // A piece announced after the choke: the target read the choke before it asked for it.
  m.announce([2]);
  m.received(request(2, 0));
  assert.deepEqual(rules(m), ['violation request.whileChoked']);
  // And from then on, any request while choked.
  m.received(request(1, 0));
  assert.deepEqual(rules(m), ['violation request.whileChoked', 'violation request.whileChoked']);
});

test('allowed fast pieces may be asked for while choked, and stay pending through a choke (BEP 6)', () => {
  const l = opened([0, 1]);
  l.allowFast(1);
  l.received(request(1, 0));
  l.unchoke();
  l.received(request(0, 0));
  const rejected = l.choke();
  assert.deepEqual(rejected, [{ index: 0, begin: 0, length: B }]);
  assert.deepEqual(l.pending(), [{ index: 1, begin: 0, length: B }]);
  assert.deepEqual(rules(l), []);
});

test('without BEP 6 a choke drops every pending request, and nothing is rejected', () => {
  const l = opened([0, 1], true);
  l.unchoke();
  l.received(request(0, 0));
  assert.deepEqual(l.choke(), []);
  assert.equal(l.pending().length, 0);
  l.received(request(0, B));
  assert.deepEqual(l.takeRefused(), []);
  assert.deepEqual(rules(l), []);
});

test('a have of a piece whose only copy of a block was corrupted; not when it had a good copy too', () => {
  const l = opened();
  l.unchoke();
  for (const b of [0, B]) l.received(request(0, b));
  const [first, second] = l.takeOldest(2);
  l.served(first!, true);
  l.served(second!, false);
  l.received({ type: 'have', index: 0 });
  assert.deepEqual(rules(l), ['violation have.badData']);
  const m = opened();
  m.unchoke();
  for (const b of [0, B, 0]) m.received(request(1, b));
  const [a, b, again] = m.takeOldest(3);
  m.served(a!, true);
  m.served(b!, false);
  m.served(again!, false);
  m.received({ type: 'have', index: 1 });
  // A piece we served only part of: the rest came from elsewhere, its SHA-1 may hold.
  m.received(request(2, 0));
  m.served(m.takeOldest(1)[0]!, true);
  m.received({ type: 'have', index: 2 });
  assert.deepEqual(rules(m), []);
});

test('more pending than our reqq is a note, once; a cancel never asked for is a note; never interested', () => {
  const l = opened();
  l.offeredReqq(2);
  l.unchoke();
  for (const b of [0, B]) l.received(request(0, b));
  assert.deepEqual(rules(l), []);
  l.received(request(1, 0));
  l.received(request(1, B));
  l.received({ type: 'cancel', index: 2, begin: 0, length: B });
  l.received({ type: 'cancel', index: 0, begin: 0, length: B });
  l.end();
  assert.deepEqual(rules(l), ['note request.overReqq', 'note cancel.unrequested', 'note interested.never']);
});

test('the wire rules still hold on this side: a second bitfield after a request', () => {
  const l = opened();
  l.unchoke();
  l.received(request(0, 0));
  l.received({ type: 'bitfield', bitfield: new Uint8Array(1) });
  assert.deepEqual(rules(l), ['violation bitfield.twice']);
});
