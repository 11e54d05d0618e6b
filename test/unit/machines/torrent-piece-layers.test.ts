/**
 * A hybrid fetched by magnet fetching its piece layers (BEP 52) in the torrent machine
 * (machines/torrent-piece-layers.ts): the connections in the v2 swarm are asked for them as they
 * handshake, while the v1 download goes on; one in the v1 swarm never is (libtorrent closes it on a
 * hash request); the layers go to the world once every run is proved, and the trees it sends back
 * reach every peer; a peer whose hashes do not prove is closed and the run asked of another; a seed
 * asked for them is kept until they are in, or until it has rejected every run still missing —
 * or until the world hashed every file's from the data (`pieceLayers.trees` not `partial`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionEvent } from '../../../machines/peer.types.js';
import type { PieceLayerPlan } from '../../../machines/piece-layer-fetch.js';
import type { TorrentEmitted } from '../../../machines/torrent.types.js';
import type { PieceLayerTrees } from '../../../src/metainfo/merkle-proof.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { V2_BIT, V2_BYTE } from '../../../src/wire/reserved-bits.js';
import { start } from './torrent-harness.js';

const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);
const ROOT = new Uint8Array(32).fill(0x77);
/** One layered file of the torrent's 8 pieces: one run of hashes. */
const PLAN: PieceLayerPlan = { pieceLayer: 0, files: [{ piecesRoot: ROOT, pieces: 8 }] };
const LAYER = new Uint8Array(8 * 32).map((_, i) => i);
/** The trees the world builds over the layers (the machine only hands them on). */
const TREES = { files: new Map(), pieceLayerRequests: 1 } as unknown as PieceLayerTrees;

function hybrid(over: Parameters<typeof start>[0] = {}) {
  return start({ infoHash: V1, otherInfoHash: V2, pieceLayerPlan: PLAN, maxPeers: 4, ...over });
}

/** The peer at `address` handshakes naming `infoHash` (its swarm's), with BEP 52's bit set. */
function handshake(t: ReturnType<typeof start>, address: string, infoHash: Uint8Array, id: number): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  reserved[V2_BYTE] = V2_BIT;
  send({ type: 'socket.connected' });
  send({ type: 'wire.handshake', infoHash, peerId: new Uint8Array(20).fill(id), reserved });
}

const hashRequestsTo = (t: ReturnType<typeof start>, address: string) =>
  (t.sentTo.get(address) ?? []).filter(
    (m): m is Extract<WireItem, { type: 'hashRequest' }> => m.type === 'hashRequest',
  );

const layersEmitted = (t: ReturnType<typeof start>) =>
  t.emitted.filter(
    (e): e is Extract<TorrentEmitted, { type: 'torrent.pieceLayers' }> => e.type === 'torrent.pieceLayers',
  );

/** The peer answers `req` with `hashes`; `proved` as its connection found it. */
function answer(
  send: (e: ConnectionEvent) => void,
  req: Extract<WireItem, { type: 'hashRequest' }>,
  proved: Uint8Array | undefined,
): void {
  const { type: _, ...range } = req;
  send({
    type: 'wire.hashes',
    ...range,
    hashes: new Uint8Array(32 * 12),
    ...(proved === undefined ? {} : { proved }),
  });
}

test('a hybrid fetched by magnet asks its v2-swarm connection for the piece layers at once, never a v1-swarm one, and downloads meanwhile', () => {
  const t = hybrid();
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:1' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  handshake(t, '10.0.0.1:1', V1, 5);
  handshake(t, '10.0.0.2:2', V2, 2);
  assert.deepEqual(
    hashRequestsTo(t, '10.0.0.1:1'),
    [],
    'libtorrent closes a v1 connection on a hash request',
  );
  const [req, ...more] = hashRequestsTo(t, '10.0.0.2:2');
  assert.ok(req !== undefined && more.length === 0, 'one run, asked once');
  assert.deepEqual(
    [Buffer.from(req.piecesRoot), req.baseLayer, req.index, req.length],
    [Buffer.from(ROOT), 0, 0, 8],
  );

  // The v1 download does not wait for the layers: both peers are asked for blocks before any answer.
  for (const address of ['10.0.0.1:1', '10.0.0.2:2']) {
    t.live.get(address)!({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
    t.live.get(address)!({ type: 'wire.unchoke' });
  }
  assert.ok((t.requested.get('10.0.0.1:1')?.length ?? 0) > 0);
  assert.ok((t.requested.get('10.0.0.2:2')?.length ?? 0) > 0);
  assert.deepEqual(layersEmitted(t), []);

  answer(t.live.get('10.0.0.2:2')!, req, LAYER);
  assert.deepEqual(
    layersEmitted(t).map((e) => e.layers.map((l) => [Buffer.from(l.piecesRoot), Buffer.from(l.layer)])),
    [[[Buffer.from(ROOT), Buffer.from(LAYER)]]],
  );

  // The world's trees reach every connection (hash requests answered from them) and those to come,
  // whose handshake then sets BEP 52's bit.
  t.actor.send({ type: 'pieceLayers.trees', trees: TREES });
  const children = Object.values(t.actor.getSnapshot().children);
  const peerTrees = children
    .map((c) => (c?.getSnapshot() as { context?: { pieceLayerTrees?: unknown } } | undefined)?.context)
    .filter((c) => c !== undefined && 'pieceLayerTrees' in c)
    .map((c) => c!.pieceLayerTrees);
  assert.deepEqual(peerTrees, [TREES, TREES]);
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:3' });
  t.live.get('10.0.0.3:3')!({ type: 'socket.connected' });
  const ours = t.sentTo.get('10.0.0.3:3')?.find((m) => m.type === 'handshake');
  assert.ok(ours?.type === 'handshake' && (ours.reserved[V2_BYTE]! & V2_BIT) !== 0);
  t.actor.stop();
});

test("a hybrid's piece layers: hashes that do not prove close their sender (badHashes) and the run goes to another v2 peer", () => {
  const t = hybrid();
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.4:4', swarm: 'v2' });
  handshake(t, '10.0.0.2:2', V2, 2);
  handshake(t, '10.0.0.4:4', V2, 4);
  // Each is asked (the run outstanding at the fewest peers): the forger answers first.
  const [forged] = hashRequestsTo(t, '10.0.0.2:2');
  assert.ok(forged !== undefined);
  answer(t.live.get('10.0.0.2:2')!, forged, undefined);
  const closed = t.emitted.find((e) => e.type === 'torrent.peerClosed' && e.key === '10.0.0.2:2');
  assert.deepEqual(closed?.type === 'torrent.peerClosed' ? closed.reason : undefined, {
    reason: 'badHashes',
  });
  assert.deepEqual(layersEmitted(t), []);
  const [honest] = hashRequestsTo(t, '10.0.0.4:4');
  assert.ok(honest !== undefined, 'the run is asked of the other v2 peer');
  answer(t.live.get('10.0.0.4:4')!, honest, LAYER);
  assert.equal(layersEmitted(t).length, 1);
  t.actor.stop();
});

test('a hybrid that completes while its piece layers are fetched keeps the upload-only seed it asks until they are in', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 7; i++) have.set(i);
  const t = hybrid({ have, seedWhenComplete: true });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  handshake(t, '10.0.0.2:2', V2, 2);
  const seed = t.live.get('10.0.0.2:2')!;
  seed({ type: 'wire.extendedHandshake', uploadOnly: true });
  seed({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  seed({ type: 'wire.unchoke' });
  for (const r of t.requested.get('10.0.0.2:2') ?? [])
    seed({ type: 'wire.piece', index: r.index, begin: r.begin, block: new Uint8Array(r.length) });
  t.storage({ type: 'piece.verified', index: 7 });
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  // Two seeds, both upload only: closed as soon as either says it — but the layers are still wanted.
  assert.ok(t.live.has('10.0.0.2:2'), 'kept for the piece layers');
  assert.ok(!(t.sentTo.get('10.0.0.2:2') ?? []).some((m) => m.type === 'extended' && m.extendedId !== 0));
  const [req] = hashRequestsTo(t, '10.0.0.2:2');
  answer(seed, req!, LAYER);
  t.actor.send({ type: 'pieceLayers.trees', trees: TREES });
  assert.ok(!t.live.has('10.0.0.2:2'), 'the layers in: two seeds have nothing to trade');
  t.actor.stop();
});

test('layers hashed from the data while the fetch waits: all of them end it (the seed kept for them let go), some do not', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 7; i++) have.set(i);
  const t = hybrid({ have, seedWhenComplete: true });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
  handshake(t, '10.0.0.2:2', V2, 2);
  const seed = t.live.get('10.0.0.2:2')!;
  seed({ type: 'wire.extendedHandshake', uploadOnly: true });
  seed({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  seed({ type: 'wire.unchoke' });
  for (const r of t.requested.get('10.0.0.2:2') ?? [])
    seed({ type: 'wire.piece', index: r.index, begin: r.begin, block: new Uint8Array(r.length) });
  t.storage({ type: 'piece.verified', index: 7 });
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  const [req] = hashRequestsTo(t, '10.0.0.2:2');
  assert.ok(req !== undefined && t.live.has('10.0.0.2:2'), 'asked, and kept for the layers');
  // Some files' layers (a selective download's): the others are still wanted from the seed.
  t.actor.send({ type: 'pieceLayers.trees', trees: TREES, partial: true });
  assert.ok(t.live.has('10.0.0.2:2'), 'still kept');
  // Every file's: nothing left to fetch, two seeds have nothing to trade.
  t.actor.send({ type: 'pieceLayers.trees', trees: TREES });
  assert.ok(!t.live.has('10.0.0.2:2'), 'let go');
  assert.deepEqual(layersEmitted(t), []);
  t.actor.stop();
});

test('a hybrid whose .torrent has its piece layers, or one given no plan, asks nobody for them', () => {
  for (const t of [
    hybrid({ pieceLayerTrees: TREES }),
    start({ infoHash: V1, otherInfoHash: V2, maxPeers: 4 }),
  ]) {
    t.actor.send({ type: 'peer.add', address: '10.0.0.2:2', swarm: 'v2' });
    handshake(t, '10.0.0.2:2', V2, 2);
    assert.equal(t.live.has('10.0.0.2:2'), true);
    assert.deepEqual(hashRequestsTo(t, '10.0.0.2:2'), []);
    t.actor.stop();
  }
});

/** A seed in the v2 swarm that took our piece (we are about to seed too), asked for the one run. */
function seedAskedForLayers(t: ReturnType<typeof start>, address: string, id: number) {
  t.actor.send({ type: 'peer.add', address, swarm: 'v2' });
  handshake(t, address, V2, id);
  const seed = t.live.get(address)!;
  seed({ type: 'wire.extendedHandshake', uploadOnly: true });
  seed({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  seed({ type: 'wire.unchoke' });
  for (const r of t.requested.get(address) ?? [])
    seed({ type: 'wire.piece', index: r.index, begin: r.begin, block: new Uint8Array(r.length) });
  const [req] = hashRequestsTo(t, address);
  assert.ok(req !== undefined);
  const { type: _, ...range } = req;
  return { seed, range };
}

test('a seed kept for the piece layers is let go once it rejects the only run: it has nothing left to give', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 7; i++) have.set(i);
  const t = hybrid({ have, seedWhenComplete: true });
  const { seed, range } = seedAskedForLayers(t, '10.0.0.2:2', 2);
  t.storage({ type: 'piece.verified', index: 7 });
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  assert.ok(t.live.has('10.0.0.2:2'), 'kept while it may give the layers');
  // A peer without the layers itself (a hybrid fetched by magnet, say) rejects: two seeds, nothing to trade.
  seed({ type: 'wire.hashReject', ...range });
  const closed = t.emitted.find((e) => e.type === 'torrent.peerClosed' && e.key === '10.0.0.2:2');
  assert.deepEqual(closed?.type === 'torrent.peerClosed' ? closed.reason : undefined, {
    reason: 'notNeeded',
  });
  t.actor.stop();
});

test('a v2-swarm seed that rejected the only run while we downloaded is dropped when we become a seed', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 7; i++) have.set(i);
  const t = hybrid({ have, seedWhenComplete: true });
  const { seed, range } = seedAskedForLayers(t, '10.0.0.2:2', 2);
  seed({ type: 'wire.hashReject', ...range });
  assert.ok(t.live.has('10.0.0.2:2'), 'still a source of pieces');
  t.storage({ type: 'piece.verified', index: 7 });
  assert.deepEqual(t.actor.getSnapshot().value, { active: 'seeding' });
  const closed = t.emitted.find((e) => e.type === 'torrent.peerClosed' && e.key === '10.0.0.2:2');
  assert.deepEqual(closed?.type === 'torrent.peerClosed' ? closed.reason : undefined, {
    reason: 'notNeeded',
  });
  t.actor.stop();
});
