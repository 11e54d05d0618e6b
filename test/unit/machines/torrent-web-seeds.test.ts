/**
 * BEP 19 web seeds in the torrent machine (machines/torrent-web-seeds.ts): connected while
 * downloading, outside the connection slots, retried after a back-off (doubled per failure in a
 * row, a 503's Retry-After honoured), never again once banned, reset by payload. Virtual time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloseReason } from '../../../machines/peer.types.js';
import { SLOT_TICK_MS } from '../../../machines/torrent-slots.js';
import {
  dueWebSeeds,
  initialWebSeeds,
  MAX_LIVE_WEB_SEEDS,
  WEB_SEED_MAX_RETRY_MS,
  webSeedClosed,
  webSeedDelivered,
} from '../../../machines/torrent-web-seeds.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { decodeUtPex } from '../../../src/wire/decode-ut-pex.js';
import { advance, extensionHandshake, start } from './torrent-harness.js';

const URL_A = 'http://127.0.0.1:1/a.bin';
const WEB_ID = new Uint8Array(20).fill(9);

function state(urls: string[], retryMs = 1_000) {
  return { webSeeds: initialWebSeeds(urls), webSeedRetryMs: retryMs, nowMs: 0 };
}

const failure: CloseReason = { reason: 'socketError', message: 'HTTP 404' };

test('back-off: the first wait, doubled per failure in a row, capped; payload resets it', () => {
  const s = state([URL_A, URL_A]);
  assert.equal(s.webSeeds.size, 1, 'a URL listed twice is one seed');
  assert.deepEqual(dueWebSeeds(s), [URL_A]);
  assert.deepEqual(dueWebSeeds(s), [], 'live: not due again');
  assert.equal(webSeedClosed(s, URL_A, failure), 1_000);
  assert.deepEqual(dueWebSeeds({ ...s, nowMs: 999 }), []);
  assert.deepEqual(dueWebSeeds({ ...s, nowMs: 1_000 }), [URL_A]);
  assert.equal(webSeedClosed(s, URL_A, failure), 2_000);
  dueWebSeeds({ ...s, nowMs: 2_000 });
  assert.equal(webSeedClosed(s, URL_A, failure), 4_000);
  dueWebSeeds({ ...s, nowMs: 4_000 });
  webSeedDelivered(s, URL_A);
  assert.equal(webSeedClosed(s, URL_A, failure), 1_000, 'it delivered: the first wait again');
  assert.equal(s.webSeeds.get(URL_A)?.failuresTotal, 4);
  for (let i = 0; i < 40; i++) webSeedClosed(s, URL_A, failure);
  assert.equal(webSeedClosed(s, URL_A, failure), WEB_SEED_MAX_RETRY_MS, 'capped');
});

test("back-off: a 503's Retry-After is honoured when longer, capped; ours when shorter", () => {
  const s = state([URL_A], 60_000);
  dueWebSeeds(s);
  assert.equal(webSeedClosed(s, URL_A, { ...failure, retryAfterMs: 300_000 }), 300_000);
  dueWebSeeds({ ...s, nowMs: 300_000 });
  assert.equal(webSeedClosed(s, URL_A, { ...failure, retryAfterMs: 5 }), 120_000);
  dueWebSeeds({ ...s, nowMs: 120_000 });
  assert.equal(webSeedClosed(s, URL_A, { ...failure, retryAfterMs: 10 * 3_600_000 }), WEB_SEED_MAX_RETRY_MS);
});

test('banned: never connected again; closed by us as not needed: no failure counted', () => {
  const s = state([URL_A]);
  dueWebSeeds(s);
  assert.equal(webSeedClosed(s, URL_A, { reason: 'notNeeded' }), 1_000);
  assert.equal(s.webSeeds.get(URL_A)?.failures, 0);
  dueWebSeeds({ ...s, nowMs: 1_000 });
  assert.equal(webSeedClosed(s, URL_A, { reason: 'banned' }), undefined);
  assert.deepEqual(dueWebSeeds({ ...s, nowMs: 10 ** 12 }), []);
});

test('torrent machine: a web seed is connected at once, holds no slot, and is asked for blocks', () => {
  const t = start({ webSeeds: [URL_A], maxPeers: 1 });
  const send = t.live.get(URL_A);
  assert.ok(send !== undefined, 'web seed connected as the download starts');
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId: WEB_ID, reserved: new Uint8Array(8) });
  send({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  send({ type: 'wire.unchoke' });
  assert.ok((t.requested.get(URL_A)?.length ?? 0) > 0, 'blocks requested of the web seed');
  // maxPeers is 1 and the web seed holds none of it: a peer address is still dialled.
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6881' });
  assert.ok(t.live.has('127.0.0.1:6881'), 'the one slot is free for a peer');
  t.actor.stop();
});

test('torrent machine: a failed web seed gives its blocks back, is tried again after its back-off (503 Retry-After), not before', () => {
  const t = start({ webSeeds: [URL_A], webSeedRetryMs: 10_000 });
  const send = t.live.get(URL_A)!;
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId: WEB_ID, reserved: new Uint8Array(8) });
  send({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  send({ type: 'wire.unchoke' });
  const asked = t.requested.get(URL_A)?.length ?? 0;
  assert.ok(asked > 0);
  send({ type: 'socket.closed', error: 'HTTP 503', retryAfterMs: 30_000 });
  assert.equal(t.live.has(URL_A), false);
  const closed = t.emitted.find((e) => e.type === 'torrent.webSeedClosed');
  assert.ok(closed?.type === 'torrent.webSeedClosed');
  assert.equal(closed.retryInMs, 30_000);
  assert.equal(closed.failures, 1);
  assert.deepEqual(closed.reason, { reason: 'socketError', message: 'HTTP 503', retryAfterMs: 30_000 });
  // Its blocks went back to the picker: a peer that connects now is asked for them.
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6881' });
  const peer = t.live.get('127.0.0.1:6881')!;
  peer({ type: 'socket.connected' });
  peer({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId: new Uint8Array(20).fill(2),
    reserved: new Uint8Array(8),
  });
  peer({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  peer({ type: 'wire.unchoke' });
  assert.ok(
    (t.requested.get('127.0.0.1:6881')?.length ?? 0) >= asked,
    'the returned blocks are handed out again',
  );
  advance(t, 30_000 - SLOT_TICK_MS);
  assert.equal(t.live.has(URL_A), false, 'not before its Retry-After');
  advance(t, SLOT_TICK_MS);
  assert.ok(t.live.has(URL_A), 'connected again after it');
  t.actor.stop();
});

test('torrent machine: a web seed that sent a piece that failed its hash is banned and never connected again', () => {
  const t = start({ webSeeds: [URL_A], webSeedRetryMs: 1_000 });
  const send = t.live.get(URL_A)!;
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId: WEB_ID, reserved: new Uint8Array(8) });
  send({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  send({ type: 'wire.unchoke' });
  const [b] = t.requested.get(URL_A)!;
  assert.ok(b !== undefined);
  send({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
  t.storage({ type: 'piece.hashFailed', index: b.index, blockHashes: new Uint8Array(20) });
  assert.ok(t.emitted.some((e) => e.type === 'torrent.peerBanned' && e.address === URL_A));
  assert.equal(t.live.has(URL_A), false, 'closed');
  const closed = t.emitted.find((e) => e.type === 'torrent.webSeedClosed');
  assert.ok(closed?.type === 'torrent.webSeedClosed' && closed.retryInMs === undefined);
  advance(t, 60_000);
  assert.equal(t.live.has(URL_A), false, 'never again');
  t.actor.stop();
});

test('a web seed banned bans no other: two on the default port, each banned for its own bad piece', () => {
  // `http://a.example/f` read as host:port is host `http`: banning A by host would have banned B's
  // "host" too, and B, already "banned", was then never banned for its own bad data.
  const A = 'http://a.example/f.bin';
  const B = 'http://b.example/f.bin';
  const t = start({ webSeeds: [A, B], webSeedRetryMs: 1_000 });
  const badPiece = (url: string) => {
    const send = t.live.get(url)!;
    send({ type: 'socket.connected' });
    send({
      type: 'wire.handshake',
      infoHash: new Uint8Array(20),
      peerId: WEB_ID,
      reserved: new Uint8Array(8),
    });
    send({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    send({ type: 'wire.unchoke' });
    const [b] = t.requested.get(url)!;
    assert.ok(b !== undefined);
    send({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
    t.storage({ type: 'piece.hashFailed', index: b.index, blockHashes: new Uint8Array(20) });
  };
  badPiece(A);
  assert.ok(t.live.has(B), "B is not closed by A's ban");
  badPiece(B);
  const banned = t.emitted.flatMap((e) => (e.type === 'torrent.peerBanned' ? [e.address] : []));
  assert.deepEqual(banned, [A, B]);
  assert.equal(t.live.has(B), false, 'B closed');
  assert.equal(t.actor.getSnapshot().context.bannedHosts.size, 0, 'no peer host banned for a URL');
  t.actor.stop();
});

test(`at most ${MAX_LIVE_WEB_SEEDS} web seeds at once; one that fails makes room for the next waiting`, () => {
  const urls = Array.from({ length: 10 }, (_, i) => `http://h/${i}`);
  const s = state(urls);
  const first = dueWebSeeds(s);
  assert.deepEqual(first, urls.slice(0, MAX_LIVE_WEB_SEEDS));
  assert.deepEqual(dueWebSeeds(s), [], 'no room');
  webSeedClosed(s, urls[0]!, failure);
  assert.deepEqual(
    dueWebSeeds({ ...s, nowMs: 5_000 }),
    [urls[MAX_LIVE_WEB_SEEDS]],
    'the next waiting, not the one that failed',
  );
});

test('peer exchange goes on while a web seed is connected, and never names the web seed (a URL is no peer address)', () => {
  const t = start({ pex: true, maxPeers: 4, webSeeds: [URL_A] });
  const seed = t.live.get(URL_A)!;
  seed({ type: 'socket.connected' });
  seed({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId: WEB_ID, reserved: new Uint8Array(8) });
  seed({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, new Uint8Array(20).fill(2), 7);
  extensionHandshake(t, '10.0.0.2:6881', undefined, new Uint8Array(20).fill(3));
  advance(t, SLOT_TICK_MS);
  const told = (t.sentTo.get('10.0.0.1:6881') ?? []).filter(
    (m) => m.type === 'extended' && m.extendedId === 7,
  );
  assert.equal(told.length, 1, 'the ut_pex peer is told at the first tick, while downloading');
  const pex = decodeUtPex((told[0] as { payload: Uint8Array }).payload);
  assert.deepEqual(
    pex.added.map((p) => p.address),
    ['10.0.0.2:6881'],
    'the other peer, not the web seed',
  );
  // Nor counted as told (the encoder would drop a URL silently, but it would hold a place).
  const sent = t.actor.getSnapshot().context.peers.get('10.0.0.1:6881')?.pexSent;
  assert.deepEqual([...(sent ?? [])], ['10.0.0.2:6881']);
  t.actor.stop();
});
