/**
 * The conformance ledger's rules, one by one, on hand-written conversations: each rule is broken
 * once and kept once, so a rule that never fires (or fires on a conforming peer) fails here.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { ConformanceLedger, type LedgerTorrent } from '../../../src/probe/conformance-ledger.js';
import { ourReservedBytes } from '../../../src/wire/reserved-bits.js';
import { WireError } from '../../../src/wire/wire-error.js';

// Three pieces of 32 KiB and a last one of 1,000 bytes.
const PIECE = 32 * 1024;
const payload = Uint8Array.from({ length: 3 * PIECE + 1000 }, (_, i) => (i * 7) & 0xff);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();
const pieces = Buffer.concat(
  [0, 1, 2, 3].map((i) => sha1(payload.subarray(i * PIECE, Math.min((i + 1) * PIECE, payload.length)))),
);
const torrent: LedgerTorrent = {
  infoHash: new Uint8Array(20).fill(1),
  pieceCount: 4,
  pieceLength: PIECE,
  totalLength: payload.length,
  pieces,
  version: 'v1',
  files: [{ path: ['p'], length: payload.length, offset: 0, padding: false }],
};
const block = (index: number, begin: number, length: number) =>
  payload.subarray(index * PIECE + begin, index * PIECE + begin + length);

/** A ledger after the target's handshake: BEP 6 and BEP 10 on unless `plain`. */
function opened(plain = false): ConformanceLedger {
  const l = new ConformanceLedger(torrent);
  l.handshake({ infoHash: torrent.infoHash, reserved: plain ? new Uint8Array(8) : ourReservedBytes() });
  return l;
}
const rules = (l: ConformanceLedger) => l.findings.map((f) => `${f.level} ${f.rule}`);

test('a conforming conversation: no finding, the whole piece verified', () => {
  const l = opened();
  l.received({ type: 'haveAll' });
  l.received({ type: 'extended', extendedId: 0, payload: bencode({ m: {}, reqq: 500 }) });
  l.received({ type: 'unchoke' });
  l.assemble(0);
  l.requested(0, 0, 16384);
  l.requested(0, 16384, 16384);
  l.requested(3, 0, 1000);
  l.received({ type: 'piece', index: 0, begin: 16384, block: block(0, 16384, 16384) });
  l.received({ type: 'piece', index: 0, begin: 0, block: block(0, 0, 16384) });
  l.received({ type: 'reject', index: 3, begin: 0, length: 1000 });
  l.end();
  assert.deepEqual(rules(l), []);
  assert.equal(l.piecesVerified, 1);
  assert.equal(l.reqq, 500);
  assert.deepEqual(l.haves(), [0, 1, 2, 3]);
});

test('a block whose piece fails its SHA-1, and one of the wrong length', () => {
  const l = opened();
  l.assemble(1);
  l.requested(1, 0, 16384);
  l.requested(1, 16384, 16384);
  const bad = block(1, 0, 16384).slice();
  bad[5] = bad[5]! ^ 1;
  l.received({ type: 'piece', index: 1, begin: 0, block: bad });
  l.received({ type: 'piece', index: 1, begin: 16384, block: block(1, 16384, 16384) });
  l.requested(2, 0, 16384);
  l.received({ type: 'piece', index: 2, begin: 0, block: block(2, 0, 100) });
  assert.deepEqual(rules(l), ['violation piece.badHash', 'violation piece.wrongLength']);
});

test('a block never asked for; one asked for twice comes twice; one cancelled may still come', () => {
  const l = opened();
  l.requested(0, 0, 16384);
  l.requested(0, 0, 16384);
  l.requested(2, 0, 16384);
  l.cancelled(2, 0);
  for (const [i, b] of [
    [0, 0],
    [0, 0],
    [2, 0],
  ] as const)
    l.received({ type: 'piece', index: i, begin: b, block: block(i, b, 16384) });
  assert.deepEqual(rules(l), []);
  l.received({ type: 'piece', index: 0, begin: 0, block: block(0, 0, 16384) });
  assert.deepEqual(rules(l), ['violation piece.unrequested']);
  assert.equal(l.outstandingRequests, 0);
});

test('announcements: a bitfield after other messages, twice, of the wrong length, with spare bits', () => {
  const late = opened(true);
  late.received({ type: 'unchoke' });
  late.received({ type: 'bitfield', bitfield: Uint8Array.of(0xf0) });
  assert.deepEqual(rules(late), ['violation bitfield.notFirst']);
  const twice = opened();
  twice.received({ type: 'haveAll' });
  twice.received({ type: 'haveNone' });
  assert.deepEqual(rules(twice), ['violation bitfield.twice']);
  const long = opened(true);
  long.received({ type: 'bitfield', bitfield: Uint8Array.of(0xf0, 0) });
  assert.deepEqual(rules(long), ['violation bitfield.length']);
  const spare = opened(true);
  spare.received({ type: 'bitfield', bitfield: Uint8Array.of(0xf8) });
  assert.deepEqual(rules(spare), ['violation bitfield.spareBits']);
  // After the BEP 10 handshake and keep-alives, a bitfield is still the first announcement.
  const afterExtension = opened();
  afterExtension.received({ type: 'keepAlive' });
  afterExtension.received({ type: 'extended', extendedId: 0, payload: bencode({ m: {} }) });
  afterExtension.received({ type: 'bitfield', bitfield: Uint8Array.of(0xa0) });
  assert.deepEqual(rules(afterExtension), []);
  assert.deepEqual(afterExtension.haves(), [0, 2]);
});

test('BEP 6 messages need the bit on both ends; a reject must match a request', () => {
  const plain = opened(true);
  plain.received({ type: 'haveAll' });
  plain.received({ type: 'allowedFast', index: 1 });
  assert.deepEqual(rules(plain), ['violation fast.notNegotiated', 'violation fast.notNegotiated']);
  const fast = opened();
  fast.requested(1, 0, 16384);
  fast.received({ type: 'reject', index: 1, begin: 16384, length: 16384 });
  fast.received({ type: 'allowedFast', index: 9 });
  assert.deepEqual(rules(fast), ['violation reject.unrequested', 'violation allowedFast.outOfRange']);
});

test('BEP 10: an id we never offered, a handshake that is not a dictionary, the bit not set', () => {
  const l = opened();
  l.received({ type: 'extended', extendedId: 3, payload: bencode({ added: '' }) });
  l.received({ type: 'extended', extendedId: 0, payload: Uint8Array.of(0x78, 0x78) });
  assert.deepEqual(rules(l), ['violation extended.notOffered', 'violation extended.badHandshake']);
  const plain = opened(true);
  plain.received({ type: 'extended', extendedId: 0, payload: bencode({ m: {} }) });
  assert.deepEqual(rules(plain), ['violation extended.notNegotiated']);
});

test('the wrong info-hash, a have past the last piece, a request for what we never announced', () => {
  const l = new ConformanceLedger(torrent);
  l.handshake({ infoHash: new Uint8Array(20), reserved: ourReservedBytes() });
  l.received({ type: 'have', index: 4 });
  l.received({ type: 'request', index: 0, begin: 0, length: 16384 });
  assert.deepEqual(rules(l), [
    'violation handshake.infoHash',
    'violation have.outOfRange',
    'violation request.notAnnounced',
  ]);
});

test('hostile requests: serving them is a note; a frame that does not decode is a violation unless it answers one', () => {
  const l = opened();
  l.requested(0, 16384, 16384, true);
  l.received({ type: 'piece', index: 0, begin: 16384, block: block(0, 16384, 16384) });
  l.requested(0, 0, 65536, true);
  l.wireError(new WireError('badMessageLength', { received: 65545, limit: 16393, messageId: 7 }));
  assert.deepEqual(rules(l), ['note hostile.served', 'note hostile.servedOversized']);
  const m = opened();
  m.wireError(new WireError('badMessageLength', { received: 6, limit: 5, messageId: 4 }));
  assert.deepEqual(rules(m), ['violation wire.malformed']);
});

test('BEP 6: requests left neither served nor rejected while choked are a note at the end', () => {
  const l = opened();
  l.requested(0, 0, 16384);
  l.end();
  assert.deepEqual(rules(l), ['note request.unanswered']);
  const unchoked = opened();
  unchoked.received({ type: 'unchoke' });
  unchoked.requested(0, 0, 16384);
  unchoked.end();
  assert.deepEqual(rules(unchoked), []);
});

test('findings are bounded whatever the target sends', () => {
  const l = opened();
  for (let i = 0; i < 10_000; i++) l.received({ type: 'have', index: 99 });
  assert.equal(l.findings.length, 100);
});
