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
    handshake(t, 'a:1', { uploadOnly: true })({ type: 'wire.bitfield', bitfield: pieces(4, 7).bytes });
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

// libtorrent's disconnect_if_redundant (uninteresting_upload_peer): while we download, an
// upload-only peer whose bitfield we have and that has nothing we want is closed at once — slots
// free and nobody waiting, so no slot rule would close it — and not dialled again while we download.

test('while we download, an upload-only peer with nothing we want is closed at once, and not dialled again', () => {
  // We have pieces 0–3 and want all 8: slots are free and no address waits.
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 'u:1' });
    handshake(t, 'u:1', { uploadOnly: true })({ type: 'wire.bitfield', bitfield: pieces(0, 3).bytes });
    assert.deepEqual(closed(t), [['u:1', 'uninterestingUploadOnly']]);
    assert.deepEqual([...t.live.keys()], [], 'not requeued');
    // A tracker or PEX naming it again: still not dialled.
    t.actor.send({ type: 'peer.add', address: 'u:1' });
    assert.deepEqual([...t.live.keys()], [], 'not dialled when named again');
    assert.equal(t.connections.length, 1);
  } finally {
    t.actor.stop();
  }
});

test('upload_only that comes after the bitfield (its message) closes a peer with nothing we want', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 'u:1' });
    const u = handshake(t, 'u:1', { uploadOnlyId: THEIRS });
    u({ type: 'wire.bitfield', bitfield: pieces(1, 2).bytes });
    assert.deepEqual(closed(t), [], 'downloading: it may still want our pieces');
    u({ type: 'wire.uploadOnly', uploadOnly: true });
    assert.deepEqual(closed(t), [['u:1', 'uninterestingUploadOnly']]);
  } finally {
    t.actor.stop();
  }
});

test('an upload-only peer is judged only once its bitfield came, and not when it has what we want', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 'u:1' });
    t.actor.send({ type: 'peer.add', address: 'w:1' });
    t.actor.send({ type: 'peer.add', address: 'd:1' });
    // upload_only in its extension handshake, before any bitfield: not judged yet.
    handshake(t, 'u:1', { uploadOnly: true });
    handshake(t, 'w:1', { uploadOnly: true })({ type: 'wire.bitfield', bitfield: pieces(2, 5).bytes });
    // Not upload only, nothing we want: it may download from us (the slots' rules may close it).
    handshake(t, 'd:1')({ type: 'wire.bitfield', bitfield: pieces(0, 1).bytes });
    assert.deepEqual(closed(t), []);
    assert.ok(sentTo(t, 'w:1').some((m) => m.type === 'interested'));
  } finally {
    t.actor.stop();
  }
});

test('an upload-only peer we downloaded from is closed once the last piece of its we wanted is verified', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.add', address: 'u:1' });
    t.actor.send({ type: 'peer.add', address: 's:1' });
    const u = handshake(t, 'u:1', { uploadOnly: true });
    u({ type: 'wire.bitfield', bitfield: pieces(0, 4).bytes });
    // A seed holds pieces 5–7 back: we stay a downloader throughout.
    handshake(t, 's:1')({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    u({ type: 'wire.unchoke' });
    const asked = t.requested.get('u:1') ?? [];
    assert.deepEqual([...new Set(asked.map((b) => b.index))], [4], 'piece 4 asked of it');
    for (const b of asked)
      u({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
    assert.deepEqual(closed(t), [], 'piece 4 not verified yet: it may still be wanted from it');
    t.storage({ type: 'piece.verified', index: 4 });
    assert.deepEqual(t.actor.getSnapshot().value, { active: 'downloading' });
    assert.deepEqual(closed(t), [['u:1', 'uninterestingUploadOnly']]);
    assert.deepEqual([...t.live.keys()], ['s:1'], 'not dialled again');
  } finally {
    t.actor.stop();
  }
});

test('an incoming upload-only peer with nothing we want: closed, and where it listens is not dialled', () => {
  const t = start({ maxPeers: 4, have: pieces(0, 3), seedWhenComplete: true });
  try {
    t.actor.send({ type: 'peer.incoming', address: 'q:50123', handle: 'socket-1' });
    handshake(t, 'q:50123', { uploadOnly: true, listenPort: 2 })({
      type: 'wire.bitfield',
      bitfield: pieces(0, 0).bytes,
    });
    assert.deepEqual(closed(t), [['q:50123', 'uninterestingUploadOnly']]);
    t.actor.send({ type: 'peer.add', address: 'q:2' });
    assert.deepEqual([...t.live.keys()], [], 'its listening address is not dialled');
  } finally {
    t.actor.stop();
  }
});
