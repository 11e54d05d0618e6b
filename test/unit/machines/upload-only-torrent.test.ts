/**
 * BEP 21, partial seeds, in the torrent machine (machines/torrent-upload-only.ts) and the choker:
 * a partial seed (every selected piece verified, seeding) says `upload_only` to new peers and tells
 * connected ones when it gets there; an upload-only peer is never unchoked, interested or not; two
 * upload-only ends close their connection (`notNeeded`) and do not dial each other again; and an
 * upload-only peer waiting for a slot is not dialled once we are upload only too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConnectionEvent, DEFAULT_PEER_LIMITS } from '../../../machines/peer.types.js';
import { extensionHandshakeEvent } from '../../../src/net/wire-events.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { type start as Start, start } from './torrent-harness.js';

type T = ReturnType<typeof Start>;
const THEIRS = 3;

/** Pieces `from`..`to` (inclusive) of 8. */
function pieces(from: number, to: number): Bitfield {
  const b = new Bitfield(8);
  for (let i = from; i <= to; i++) b.set(i);
  return b;
}

/** A partial seed of pieces 0–3 (the files selected), seeding. */
const partialSeed = () =>
  start({ maxPeers: 4, have: pieces(0, 3), wanted: pieces(0, 3), seedWhenComplete: true });

/** The peer at `address` handshakes with the BEP 10 bit, then sends this extension handshake. */
function handshake(
  t: T,
  address: string,
  ext: Omit<Extract<ConnectionEvent, { type: 'wire.extendedHandshake' }>, 'type'> = {},
  peerId = new Uint8Array(20).fill(address.charCodeAt(0)),
): (e: ConnectionEvent) => void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash: new Uint8Array(20), peerId, reserved });
  send({ type: 'wire.extendedHandshake', ...ext });
  return send;
}
const sentTo = (t: T, address: string): WireItem[] => t.sentTo.get(address) ?? [];
const ourExtensionHandshake = (t: T, address: string) => {
  const ext = sentTo(t, address).find((m) => m.type === 'extended' && m.extendedId === 0);
  assert.ok(ext?.type === 'extended', `no extension handshake to ${address}`);
  return extensionHandshakeEvent(ext.payload);
};
const closed = (t: T) =>
  t.emitted.flatMap((e) => (e.type === 'torrent.peerClosed' ? [[e.address, e.reason.reason]] : []));

test('a partial seed says upload_only in its extension handshake; a downloader does not', () => {
  const seed = partialSeed();
  const downloader = start({ maxPeers: 4, have: pieces(0, 2), wanted: pieces(0, 3), seedWhenComplete: true });
  try {
    assert.deepEqual(seed.actor.getSnapshot().value, { active: 'seeding' });
    for (const t of [seed, downloader]) {
      t.actor.send({ type: 'peer.add', address: 'p:1' });
      handshake(t, 'p:1');
    }
    assert.equal(ourExtensionHandshake(seed, 'p:1').uploadOnly, true);
    assert.equal(ourExtensionHandshake(downloader, 'p:1').uploadOnly, undefined);
  } finally {
    seed.actor.stop();
    downloader.actor.stop();
  }
});

test('becoming a partial seed during a connection: the peer hears the upload_only message', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 2), wanted: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 'p:1' });
    const send = handshake(t, 'p:1', { uploadOnlyId: THEIRS });
    send({ type: 'wire.bitfield', bitfield: pieces(3, 7).bytes });
    send({ type: 'wire.unchoke' });
    for (const b of t.requested.get('p:1') ?? [])
      send({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
    assert.deepEqual(
      sentTo(t, 'p:1').filter((m) => m.type === 'extended' && m.extendedId === THEIRS),
      [],
      'downloading',
    );
    t.storage({ type: 'piece.verified', index: 3 });
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
    assert.deepEqual(
      sentTo(t, 'p:1').filter((m) => m.type === 'extended' && m.extendedId === THEIRS),
      [{ type: 'extended', extendedId: THEIRS, payload: Uint8Array.of(1) }],
    );
    assert.deepEqual(closed(t), [], 'it still wants pieces 0–2 from us');
  } finally {
    t.actor.stop();
  }
});

test('an upload-only peer is not unchoked though it says interested; one that becomes so is choked', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3) });
  try {
    t.actor.send({ type: 'peer.add', address: 'a:1' });
    t.actor.send({ type: 'peer.add', address: 'b:1' });
    handshake(t, 'a:1', { uploadOnly: true })({ type: 'wire.interested' });
    const b = handshake(t, 'b:1');
    b({ type: 'wire.interested' });
    const unchokes = (address: string) => sentTo(t, address).filter((m) => m.type === 'unchoke').length;
    assert.equal(unchokes('a:1'), 0, 'upload only: never unchoked');
    assert.equal(unchokes('b:1'), 1, 'a free slot goes to an interested peer at once');
    b({ type: 'wire.uploadOnly', uploadOnly: true });
    assert.equal(sentTo(t, 'b:1').filter((m) => m.type === 'choke').length, 1);
    assert.deepEqual(closed(t), [], 'we download: both may still send us pieces');
  } finally {
    t.actor.stop();
  }
});

test('while we download, an upload-only seed is downloaded from, and dialled again when the network drops it', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 's:1' });
    const s = handshake(t, 's:1', { uploadOnly: true, uploadOnlyId: THEIRS });
    s({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    s({ type: 'wire.unchoke' });
    assert.ok((t.requested.get('s:1') ?? []).length > 0, 'blocks requested from it');
    assert.deepEqual(closed(t), []);
    s({ type: 'socket.closed', error: 'ECONNRESET' });
    assert.deepEqual(closed(t), [['s:1', 'socketError']]);
    // Its address is marked upload only, but we are not: requeued and dialled again.
    assert.equal(t.connections.length, 2);
    const asked = (t.requested.get('s:1') ?? []).length;
    const again = handshake(t, 's:1', { uploadOnly: true });
    again({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    again({ type: 'wire.unchoke' });
    for (const b of (t.requested.get('s:1') ?? []).slice(asked))
      again({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
    for (let i = 4; i < 8; i++) t.storage({ type: 'piece.verified', index: i });
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
    assert.deepEqual(closed(t), [
      ['s:1', 'socketError'],
      ['s:1', 'notNeeded'],
    ]);
  } finally {
    t.actor.stop();
  }
});

test('two partial seeds close their connection as notNeeded, and do not dial each other again', () => {
  const t = partialSeed();
  try {
    t.actor.send({ type: 'peer.add', address: 'p:1' });
    handshake(t, 'p:1', { uploadOnly: true, listenPort: 1 });
    t.actor.send({ type: 'peer.incoming', address: 'q:50123', handle: 'socket-1' });
    handshake(t, 'q:50123', { uploadOnly: true, listenPort: 2 });
    assert.deepEqual(closed(t), [
      ['p:1', 'notNeeded'],
      ['q:50123', 'notNeeded'],
    ]);
    assert.deepEqual([...t.live.keys()], [], 'neither is dialled again');
    // Named again (a tracker, PEX): the book remembers both as upload only.
    for (const address of ['p:1', 'q:2']) t.actor.send({ type: 'peer.add', address });
    assert.deepEqual([...t.live.keys()], [], 'nor when named again');
  } finally {
    t.actor.stop();
  }
});

test('an upload-only peer waiting for a slot is not dialled once we are upload only', () => {
  const t = start({ maxPeers: 1, have: pieces(0, 6), seedWhenComplete: true });
  try {
    // A partial seed we may download from: connected, then lost to a network error while the
    // one slot goes to a seed, so it waits in the queue.
    t.actor.send({ type: 'peer.add', address: 'a:1' });
    handshake(t, 'a:1', { uploadOnly: true })({ type: 'wire.bitfield', bitfield: pieces(0, 3).bytes });
    t.actor.send({ type: 'peer.add', address: 's:1' });
    t.live.get('a:1')!({ type: 'socket.closed', error: 'ECONNRESET' });
    const s = handshake(t, 's:1');
    s({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    s({ type: 'wire.unchoke' });
    for (const b of t.requested.get('s:1') ?? [])
      s({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
    t.storage({ type: 'piece.verified', index: 7 });
    // Complete: the seed is closed (two seeds) and its slot is free, but a:1 is upload only too.
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
    assert.deepEqual(closed(t), [
      ['a:1', 'socketError'],
      ['s:1', 'notNeeded'],
    ]);
    assert.deepEqual([...t.live.keys()], [], 'a:1 is not dialled');
    assert.equal(t.connections.length, 2);
  } finally {
    t.actor.stop();
  }
});

test('a peer flapping upload_only cannot make us choke and unchoke it at its rate: closed as interestFlood', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3) });
  try {
    t.actor.send({ type: 'peer.add', address: 'b:1' });
    const b = handshake(t, 'b:1');
    b({ type: 'wire.interested' });
    for (let i = 0; i < 100; i++) {
      b({ type: 'wire.uploadOnly', uploadOnly: true });
      b({ type: 'wire.uploadOnly', uploadOnly: false });
    }
    const unchokes = sentTo(t, 'b:1').filter((m) => m.type === 'unchoke').length;
    assert.ok(unchokes <= DEFAULT_PEER_LIMITS.interestBurst + 1, `${unchokes} unchokes`);
    assert.deepEqual(closed(t), [['b:1', 'interestFlood']]);
  } finally {
    t.actor.stop();
  }
});
