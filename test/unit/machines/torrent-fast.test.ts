/**
 * BEP 6 through the torrent machine and real peer machines (torrent-harness.ts, whose connections
 * record what they are told to send): a fast peer that chokes us is asked
 * only for its allowed fast pieces, and for everything once it unchokes; its choke returns nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import { start as startTorrent } from './torrent-harness.js';

const INFO_HASH = new Uint8Array(20);
const FAST = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x04]);

function start() {
  const { actor, live, sent } = startTorrent();
  actor.send({ type: 'peer.add', address: 'a:1' });
  const peer = (e: ConnectionEvent) => live.get('a:1')?.(e);
  peer({ type: 'socket.connected' });
  peer({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(2), reserved: FAST });
  const requested = () => sent.flatMap((m) => (m.type === 'request' ? [m.index] : []));
  return { actor, peer, sent, requested };
}

test('choked by a fast peer: only its allowed fast pieces are requested; all of them once it unchokes', () => {
  const t = start();
  t.peer({ type: 'wire.haveAll' });
  assert.ok(t.sent.some((m) => m.type === 'interested'));
  assert.deepEqual(t.requested(), []); // choked, nothing allowed
  t.peer({ type: 'wire.allowedFast', index: 5 });
  assert.deepEqual(t.requested(), [5]);
  t.peer({ type: 'wire.unchoke' });
  assert.deepEqual(t.requested().sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.actor.stop();
});

test("a fast peer's choke returns nothing: its late pieces are still taken, nothing is asked twice", () => {
  const t = start();
  t.peer({ type: 'wire.haveAll' });
  t.peer({ type: 'wire.unchoke' });
  assert.equal(t.requested().length, 8);
  t.peer({ type: 'wire.choke' });
  t.peer({ type: 'wire.piece', index: 3, begin: 0, block: new Uint8Array(1024) });
  t.peer({ type: 'wire.unchoke' });
  assert.equal(t.requested().length, 8, 'no block asked again: they were never lost');
  t.peer({ type: 'wire.reject', index: 4, begin: 0, length: 1024 });
  // Returned to the picker; asked again when the peer next has room (its next block or tick), not
  // at once: a peer that rejects what it was just asked would otherwise be asked again in a loop.
  assert.deepEqual(t.requested().slice(8), []);
  t.peer({ type: 'wire.piece', index: 0, begin: 0, block: new Uint8Array(1024) });
  assert.deepEqual(t.requested().slice(8), [4], 'a rejected block is asked again');
  t.actor.stop();
});

test('a choked fast peer with nothing left among its allowed fast pieces is not picked for again until it asks', () => {
  const { actor, live } = startTorrent();
  // Every pick the picker makes for peer a.
  const picker = actor.getSnapshot().context.picker;
  const pick = picker.pick.bind(picker);
  let allowedFastPicks = 0;
  picker.pick = (from, count, key) => {
    if (key === 'a:1') allowedFastPicks++;
    return pick(from, count, key);
  };
  for (const address of ['a:1', 'b:1']) actor.send({ type: 'peer.add', address });
  const a = (e: ConnectionEvent) => live.get('a:1')?.(e);
  const b = (e: ConnectionEvent) => live.get('b:1')?.(e);
  a({ type: 'socket.connected' });
  a({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(2), reserved: FAST });
  a({ type: 'wire.haveAll' });
  // b, unchoking, takes every piece first; a, choking, offers only piece 5, which b has taken.
  b({ type: 'socket.connected' });
  b({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(3), reserved: FAST });
  b({ type: 'wire.haveAll' });
  b({ type: 'wire.unchoke' });
  a({ type: 'wire.allowedFast', index: 5 });
  const picksAfterAsk = allowedFastPicks;
  assert.ok(picksAfterAsk >= 1, 'a asked once for its allowed fast piece');
  // b hands blocks back one by one: each is offered to every peer with room. a's pick finds
  // nothing new among its allowed fast pieces once, and a then leaves the round: not one fruitless
  // pick per returned block (hundreds of choked fast peers made that quadratic).
  for (const index of [0, 1, 2, 3]) b({ type: 'wire.reject', index, begin: 0, length: 1024 });
  assert.ok(allowedFastPicks - picksAfterAsk <= 1, `${allowedFastPicks - picksAfterAsk} picks for a`);
  // Once a unchokes us it asks again and gets what is left.
  a({ type: 'wire.unchoke' });
  assert.ok(allowedFastPicks > picksAfterAsk);
  actor.stop();
});
