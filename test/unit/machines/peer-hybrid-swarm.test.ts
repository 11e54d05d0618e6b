/**
 * A hybrid torrent (BEP 52) is one payload in two swarms: a peer machine given the other swarm's
 * hash (otherInfoHash) accepts a handshake carrying either, and answers an accepted connection with
 * the hash the peer used; without it (v1, v2) only its own hash is accepted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WireItem } from '../../../src/wire/messages.js';
import { INFO_HASH, startPeer, THEIR_ID } from './peer-harness.js';

/** The hybrid's other hash: the first 20 bytes of its SHA-256 info-hash. */
const V2_HASH = new Uint8Array(20).fill(9);
const FAST = (() => {
  const r = new Uint8Array(8);
  r[7] = 0x04;
  return r;
})();

const handshakeHash = (sent: WireItem[]) =>
  sent[0]?.type === 'handshake' ? [...sent[0].infoHash] : undefined;

test('a hybrid accepts an incoming handshake for its v2 swarm, and answers it with that hash', () => {
  const h = startPeer({ direction: 'incoming', otherInfoHash: V2_HASH });
  h.deliver({ type: 'socket.connected' });
  assert.deepEqual(h.sent(), [], 'our handshake waits for the peer to say which swarm');
  h.deliver({ type: 'wire.handshake', infoHash: V2_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
  assert.equal(h.isClosed(), false);
  assert.equal(h.reports[0]?.type, 'peer.handshaken');
  assert.deepEqual(handshakeHash(h.sent()), [...V2_HASH]);
});

test('a hybrid answers an incoming handshake for its v1 swarm with the v1 hash', () => {
  const h = startPeer({ direction: 'incoming', otherInfoHash: V2_HASH });
  h.deliver({ type: 'socket.connected' });
  h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
  assert.equal(h.reports[0]?.type, 'peer.handshaken');
  assert.deepEqual(handshakeHash(h.sent()), [...INFO_HASH]);
});

test('a hybrid: the handshake goes first, then the opening messages with the allowed fast set of that hash', () => {
  const h = startPeer({ direction: 'incoming', otherInfoHash: V2_HASH });
  h.deliver({ type: 'socket.connected' });
  h.deliver({
    type: 'wire.handshake',
    infoHash: V2_HASH,
    peerId: THEIR_ID,
    reserved: FAST,
    allowedFast: [4, 11],
  });
  assert.deepEqual(
    h.sent().map((m) => (m.type === 'allowedFast' ? `allowedFast ${m.index}` : m.type)),
    ['handshake', 'haveNone', 'allowedFast 4', 'allowedFast 11'],
  );
});

test('a hybrid dialling with one hash accepts an answer with the other (libtorrent may answer a v1 dial in v2)', () => {
  const h = startPeer({ otherInfoHash: V2_HASH });
  h.deliver({ type: 'socket.connected' });
  assert.deepEqual(handshakeHash(h.sent()), [...INFO_HASH], 'a dial sends its handshake at once');
  h.deliver({ type: 'wire.handshake', infoHash: V2_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
  assert.equal(h.reports[0]?.type, 'peer.handshaken');
});

test('a hybrid still closes a handshake for a third torrent', () => {
  const h = startPeer({ direction: 'incoming', otherInfoHash: V2_HASH });
  h.deliver({ type: 'socket.connected' });
  h.deliver({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20).fill(3),
    peerId: THEIR_ID,
    reserved: new Uint8Array(8),
  });
  assert.deepEqual(h.output(), { reason: 'infoHashMismatch' });
  assert.deepEqual(h.sent(), [], 'nothing said to a peer of another torrent');
});

test('a v1 or v2 torrent (no other hash) closes a handshake carrying another hash, and answers at once', () => {
  for (const direction of ['incoming', 'outgoing'] as const) {
    const h = startPeer({ direction });
    h.deliver({ type: 'socket.connected' });
    assert.deepEqual(handshakeHash(h.sent()), [...INFO_HASH]);
    h.deliver({ type: 'wire.handshake', infoHash: V2_HASH, peerId: THEIR_ID, reserved: new Uint8Array(8) });
    assert.deepEqual(h.output(), { reason: 'infoHashMismatch' }, direction);
  }
});
