import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromPromise } from 'xstate';
import { TRACKER_GRACE_MS, TRACKER_SILENT_STOP_MS } from '../../../machines/torrent.types.js';
import { type AnnounceRequest, trackerMachine } from '../../../machines/tracker.machine.js';
import { trackerTiersMachine } from '../../../machines/tracker-tiers.machine.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { AnnounceResponse } from '../../../src/tracker/announce-types.js';
import { extensionHandshake, handshakeOn, sendsRequestedBlocks, start } from './torrent-harness.js';

test('connects to at most maxPeers addresses; a closed slot goes to the next queued address', () => {
  const t = start();
  for (const a of ['a:1', 'b:1', 'c:1', 'a:1']) t.actor.send({ type: 'peer.add', address: a });
  assert.deepEqual([...t.live.keys()], ['a:1', 'b:1']);
  t.live.get('a:1')?.({ type: 'socket.closed', error: 'ECONNREFUSED' });
  assert.deepEqual([...t.live.keys()].sort(), ['b:1', 'c:1']);
  const closed = t.emitted.find((e) => e.type === 'torrent.peerClosed');
  assert.deepEqual(closed?.type === 'torrent.peerClosed' && closed.reason, {
    reason: 'socketError',
    message: 'ECONNREFUSED',
  });
  t.actor.stop();
});

test('our own listening addresses are never dialled, from a tracker or peer.add; IPv6 ones in brackets', () => {
  const t = start({ maxPeers: 4, listenPort: 6881, selfAddresses: ['127.0.0.1:6881', '10.0.0.5:6881'] });
  t.actor.send({
    type: 'tracker.peers',
    url: 'http://t.example/announce',
    peers: [
      { host: '127.0.0.1', port: 6881 },
      { host: '127.0.0.1', port: 6882 },
      { host: '10.0.0.5', port: 6881 },
      { host: '::1', port: 6883 },
    ],
  });
  t.actor.send({ type: 'peer.add', address: '127.0.0.1:6881' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.5:7000' });
  // An IPv6 host from a tracker is dialled as [host]:port, the form peer.add and the world use.
  assert.deepEqual([...t.live.keys()].sort(), ['10.0.0.5:7000', '127.0.0.1:6882', '[::1]:6883']);
  t.actor.stop();
});

test('a second connection from the same address is rejected for the world to close', () => {
  const t = start({ maxPeers: 1 });
  t.actor.send({ type: 'peer.incoming', address: 'x:9', handle: 'socket-1' });
  assert.deepEqual([...t.live.keys()], ['x:9']);
  t.actor.send({ type: 'peer.incoming', address: 'x:9', handle: 'socket-2' });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : [])),
    [['socket-2', 'duplicate']],
  );
  t.actor.stop();
});

test('an incoming peer that leaves is not dialled back; one a tracker or peer.add names is', () => {
  const t = start({ maxPeers: 4 });
  // The address of an incoming connection carries the remote's ephemeral source port.
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  t.actor.send({ type: 'peer.add', address: 'y:6881' });
  assert.deepEqual([...t.live.keys()].sort(), ['x:50123', 'y:6881']);
  t.live.get('x:50123')?.({ type: 'socket.closed' });
  t.live.get('y:6881')?.({ type: 'socket.closed' });
  assert.deepEqual([...t.live.keys()], ['y:6881'], 'only the listening address is dialled again');
  // Named later as a listening address (a tracker's answer, peer.add), it may be dialled.
  t.actor.send({ type: 'peer.add', address: 'x:50123' });
  assert.deepEqual([...t.live.keys()].sort(), ['x:50123', 'y:6881']);
  t.actor.stop();
});

test("an incoming peer's BEP 10 p is dialled after a network error, not while it is connected", () => {
  const t = start({ maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  extensionHandshake(t, 'x:50123', 6881);
  // BEP 10 lets a peer send its handshake again; a new port is not another address to remember.
  t.live.get('x:50123')?.({ type: 'wire.extendedHandshake', listenPort: 6999 });
  assert.deepEqual(
    t.emitted.filter((e) => e.type === 'torrent.peerListening'),
    [{ type: 'torrent.peerListening', key: 'x:50123', address: 'x:50123', listenAddress: 'x:6881' }],
  );
  // A tracker names the same peer while it is connected to us: one connection per peer.
  t.actor.send({ type: 'peer.add', address: 'x:6881' });
  assert.deepEqual([...t.live.keys()], ['x:50123']);
  t.live.get('x:50123')?.({ type: 'socket.closed', error: 'ECONNRESET' });
  assert.deepEqual([...t.live.keys()], ['x:6881'], 'dialled where it listens, not at its source port');
  assert.equal(t.actor.getSnapshot().context.addresses.has('x:6999'), false);
  t.actor.stop();
});

test('an incoming peer that hangs up is not dialled back where it listens', () => {
  const t = start({ maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  extensionHandshake(t, 'x:50123', 6881);
  t.live.get('x:50123')?.({ type: 'socket.closed' });
  assert.deepEqual([...t.live.keys()], [], 'it chose to go: it knows where we are');
  // Named by a tracker, the address is dialable as any other.
  t.actor.send({ type: 'peer.add', address: 'x:6881' });
  assert.deepEqual([...t.live.keys()], ['x:6881']);
  t.actor.stop();
});

test('once finishing or stopping, an incoming peer is turned away for the world to close', () => {
  const t = start({ trackers: { tiers: [['http://127.0.0.1:1/announce']], port: 7000 } });
  t.actor.send({ type: 'cmd.stop' });
  assert.equal(t.actor.getSnapshot().value, 'stopping'); // waiting for the trackers' `stopped`
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : [])),
    [['socket-1', 'closing']],
  );
  assert.deepEqual([...t.live.keys()], []);
  t.actor.stop();
});

test('p from a peer we dialled, a port out of range, or no p: nothing learned', () => {
  const t = start({ maxPeers: 8 });
  t.actor.send({ type: 'peer.add', address: 'y:6881' });
  extensionHandshake(t, 'y:6881', 7777);
  for (const [i, port] of [0, 65536, -1, 2.5, undefined].entries()) {
    t.actor.send({ type: 'peer.incoming', address: `x:5000${i}`, handle: `socket-${i}` });
    extensionHandshake(t, `x:5000${i}`, port);
  }
  assert.deepEqual(
    t.emitted.filter((e) => e.type === 'torrent.peerListening'),
    [],
  );
  t.actor.stop();
});

test('a ban follows an incoming peer to where it listens, and its host is refused from any source port', () => {
  const t = start({ maxPeers: 4, listenPort: 7000 });
  // x connected to us and said it listens at x:6881; it alone sends a piece that fails its hash.
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  extensionHandshake(t, 'x:50123', 6881);
  const [bad] = sendsRequestedBlocks(t, 'x:50123');
  assert.ok(bad !== undefined, 'x was asked for a block');
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  assert.ok(t.emitted.some((e) => e.type === 'torrent.peerBanned' && e.address === 'x:50123'));
  assert.equal(t.live.has('x:50123'), false);
  t.actor.send({ type: 'peer.add', address: 'x:6881' });
  assert.equal(t.live.has('x:6881'), false, 'its listening address is banned too');
  // It connects again from another source port: its host is banned, it is not adopted.
  t.actor.send({ type: 'peer.incoming', address: 'x:50999', handle: 'socket-2' });
  assert.equal(t.live.has('x:50999'), false);
  t.actor.stop();
});

test('dialled by the peer we dialled (same peer id): the end listening on the lower port keeps its own connection', () => {
  for (const [ours, kept, closed] of [
    [7000, 'x:50123', 'x:6881'], // it listens lower: its connection (incoming to us) stays
    [6000, 'x:6881', 'x:50123'], // we listen lower: ours stays
  ] as const) {
    const t = start({ maxPeers: 4, listenPort: ours });
    t.actor.send({ type: 'peer.add', address: 'x:6881' });
    extensionHandshake(t, 'x:6881');
    t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
    extensionHandshake(t, 'x:50123', 6881);
    assert.deepEqual(
      t.emitted.flatMap((e) => (e.type === 'torrent.peerClosed' ? [[e.address, e.reason.reason]] : [])),
      [[closed, 'duplicateConnection']],
      `we listen on ${ours}`,
    );
    assert.deepEqual(
      [...t.live.keys()],
      [kept],
      'one connection to the peer, and no dial to replace the other',
    );
    t.actor.stop();
  }
  // Another peer on the same host (a NAT) that says it listens on the same port: both stay.
  const t = start({ maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.add', address: 'x:6881' });
  extensionHandshake(t, 'x:6881');
  t.actor.send({ type: 'peer.incoming', address: 'x:50123', handle: 'socket-1' });
  extensionHandshake(t, 'x:50123', 6881, new Uint8Array(20).fill(3));
  assert.deepEqual(
    t.emitted.filter((e) => e.type === 'torrent.peerClosed'),
    [],
  );
  assert.deepEqual([...t.live.keys()].sort(), ['x:50123', 'x:6881']);
  t.actor.stop();
});

test('an incoming uTP peer comes from the port it listens on: its own connection is no duplicate of itself', () => {
  // uTP (docs/utp.md) runs on the UDP port of the listening port's number: the incoming connection's
  // address is where the peer listens, and its BEP 10 p names that same address.
  const t = start({ maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.incoming', address: 'x:7002', handle: 'socket-1' });
  extensionHandshake(t, 'x:7002', 7002);
  assert.deepEqual(
    t.emitted.filter((e) => e.type === 'torrent.peerClosed'),
    [],
  );
  assert.deepEqual([...t.live.keys()], ['x:7002']);
  assert.ok(t.emitted.some((e) => e.type === 'torrent.peerListening' && e.listenAddress === 'x:7002'));
  // Held by this connection: a tracker naming the address does not make us dial it a second time.
  t.actor.send({ type: 'peer.add', address: 'x:7002' });
  assert.deepEqual([...t.live.keys()], ['x:7002']);
  t.actor.stop();
});

test('dialled over uTP by the peer we are dialling, from the address we dial: both are adopted, then the duplicate rule keeps the same one at both ends', () => {
  // Two peers listening on 6000 and 7000 dial each other over uTP at once. Each one's connection to
  // the other comes from the port it listens on: the address the other is dialling. Seen from each
  // end in turn; the end on the lower port keeps the connection it dialled, so both close the one
  // the end on 7000 dialled.
  const id = new Uint8Array(20).fill(2);
  for (const [ours, theirs, closed] of [
    [6000, 7000, 'incoming'], // we listen lower: its dial (incoming here) goes
    [7000, 6000, 'outgoing'], // it listens lower: our dial goes
  ] as const) {
    const t = start({ maxPeers: 4, listenPort: ours });
    const address = `x:${theirs}`;
    t.actor.send({ type: 'peer.add', address });
    t.actor.send({ type: 'peer.incoming', address, handle: 'utp-socket' });
    assert.deepEqual(
      t.emitted.filter((e) => e.type === 'torrent.incomingRejected'),
      [],
      `we listen on ${ours}: adopted`,
    );
    const [dial, incoming] = t.connections;
    assert.deepEqual([dial?.input.direction, incoming?.input.direction], ['outgoing', 'incoming']);
    handshakeOn(dial!.send, undefined, id, undefined, 'utp');
    handshakeOn(incoming!.send, theirs, id, undefined, 'utp');
    const connected = t.emitted.flatMap((e) => (e.type === 'torrent.peerConnected' ? [e.key] : []));
    assert.equal(new Set(connected).size, 2, 'both handshaken, under two keys');
    assert.deepEqual(
      t.emitted.flatMap((e) => (e.type === 'torrent.peerClosed' ? [[e.address, e.reason.reason]] : [])),
      [[address, 'duplicateConnection']],
    );
    assert.deepEqual(
      t.connections.map((c) => [c.input.direction, c.open]),
      [
        ['outgoing', closed !== 'outgoing'],
        ['incoming', closed !== 'incoming'],
      ],
      `we listen on ${ours}: the ${closed} connection goes`,
    );
    // The one that stays holds the address: not dialled again, another connection from it refused.
    t.actor.send({ type: 'peer.add', address });
    t.actor.send({ type: 'peer.incoming', address, handle: 'utp-socket-2' });
    assert.equal(t.connections.length, 2);
    t.actor.stop();
  }
  // Its connection's p came before our dial's handshake: here both stay, and the other end, whose
  // dial handshook first (it answered ours before it read our p), closes one by the same rule.
  const t = start({ maxPeers: 4, listenPort: 6000 });
  t.actor.send({ type: 'peer.add', address: 'x:7000' });
  t.actor.send({ type: 'peer.incoming', address: 'x:7000', handle: 'utp-socket' });
  const [dial, incoming] = t.connections;
  handshakeOn(incoming!.send, 7000, id, undefined, 'utp');
  handshakeOn(dial!.send, undefined, id, undefined, 'utp');
  assert.deepEqual(
    t.connections.map((c) => c.open),
    [true, true],
  );
  dial!.send({ type: 'socket.closed' }); // it closed ours, as its rule says
  t.actor.send({ type: 'peer.add', address: 'x:7000' });
  assert.deepEqual(
    t.connections.map((c) => c.open),
    [false, true],
    'its connection holds the address: ours is not dialled again',
  );
  t.actor.stop();
});

test('beside our dial, a second connection from its address is refused, and a ban by the adopted one covers that address', () => {
  const t = start({ maxPeers: 4, listenPort: 8000 });
  t.actor.send({ type: 'peer.add', address: 'x:7000' });
  t.actor.send({ type: 'peer.incoming', address: 'x:7000', handle: 'socket-1' });
  t.actor.send({ type: 'peer.incoming', address: 'x:7000', handle: 'socket-2' });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : [])),
    [['socket-2', 'duplicate']],
  );
  // It listens lower: ours goes, its connection stays. It alone sends a piece that fails.
  const [dial, incoming] = t.connections;
  handshakeOn(dial!.send, undefined, undefined, undefined, 'utp');
  handshakeOn(incoming!.send, 7000, undefined, undefined, 'utp');
  assert.deepEqual(
    t.connections.map((c) => c.open),
    [false, true],
  );
  t.actor.send({ type: 'peer.incoming', address: 'x:7000', handle: 'socket-3' });
  const [bad] = sendsRequestedBlocks(t, 'x:7000');
  assert.ok(bad !== undefined, 'its connection was asked for a block');
  t.storage({ type: 'piece.hashFailed', index: bad, blockHashes: new Uint8Array(20) });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.peerBanned' ? [e.address] : [])),
    ['x:7000'],
  );
  assert.equal(t.actor.getSnapshot().context.addresses.get('x:7000')?.banned, true);
  t.actor.send({ type: 'peer.add', address: 'x:7000' });
  t.actor.send({ type: 'peer.incoming', address: 'x:7000', handle: 'socket-4' });
  assert.deepEqual(
    t.emitted.flatMap((e) => (e.type === 'torrent.incomingRejected' ? [[e.handle, e.why]] : [])),
    [
      ['socket-2', 'duplicate'],
      ['socket-3', 'duplicate'],
      ['socket-4', 'banned'],
    ],
  );
  assert.deepEqual(
    t.connections.map((c) => c.open),
    [false, false],
    'not dialled again',
  );
  t.actor.stop();
});

test('once complete, a seed is not dialled again: not where it was dialled, not where it listens', () => {
  const t = start({ maxPeers: 4, have: Bitfield.full(8), seedWhenComplete: true, listenPort: 7000 });
  t.actor.send({ type: 'peer.add', address: 's:6881' });
  t.actor.send({ type: 'peer.incoming', address: 'u:50123', handle: 'socket-1' });
  extensionHandshake(t, 's:6881');
  extensionHandshake(t, 'u:50123', 6882);
  for (const a of ['s:6881', 'u:50123'])
    t.live.get(a)?.({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  const closed = t.emitted.flatMap((e) =>
    e.type === 'torrent.peerClosed' ? [[e.address, e.reason.reason]] : [],
  );
  assert.deepEqual(closed, [
    ['s:6881', 'notNeeded'],
    ['u:50123', 'notNeeded'],
  ]);
  assert.deepEqual([...t.live.keys()], [], 'neither seed is dialled again');
  t.actor.stop();
});

test('stop, storage failure and an already complete torrent end with typed outputs', () => {
  const a = start();
  a.actor.send({ type: 'cmd.stop' });
  assert.deepEqual(a.actor.getSnapshot().output, { result: 'stopped' });

  const b = start();
  b.storage({ type: 'storage.error', message: 'ENOSPC: no space left on device' });
  assert.deepEqual(b.actor.getSnapshot().output, {
    result: 'storageError',
    message: 'ENOSPC: no space left on device',
  });

  const c = start({ have: Bitfield.full(8) });
  assert.deepEqual(c.actor.getSnapshot().output, { result: 'complete' });
});

test('pieces.verified (several pieces in one turn) counts each piece as piece.verified does', () => {
  const have = new Bitfield(8);
  for (let i = 0; i < 5; i++) have.set(i);
  const t = start({ have });
  t.storage({ type: 'pieces.verified', indexes: [5, 7] });
  assert.deepEqual(
    t.emitted
      .filter((e) => e.type === 'torrent.pieceVerified')
      .map((e) => e.type === 'torrent.pieceVerified' && [e.index, e.have]),
    [
      [5, 6],
      [7, 7],
    ],
  );
  assert.equal(t.actor.getSnapshot().status, 'active');
  t.storage({ type: 'piece.verified', index: 6 });
  assert.deepEqual(t.actor.getSnapshot().output, { result: 'complete' });
});

test('the machine context stays small in JSON (inspector snapshots)', () => {
  const t = start({
    pieceCount: 100_000,
    pieceLength: 16384,
    totalLength: 100_000 * 16384,
    blockLength: 16384,
  });
  t.actor.send({ type: 'peer.add', address: 'a:1' });
  const json = JSON.stringify(t.actor.getSnapshot().context);
  assert.ok(json.length < 4096, `context JSON is ${json.length} characters`);
  t.actor.stop();
});

test('peer actor ids are recycled: as many distinct ids as connections open at once, not one per connection', () => {
  // XState memoizes transition candidates per event type, and a child's done event carries its id:
  // one id per connection grew the heap with every connection ever made.
  const t = start({ maxPeers: 4 });
  const ids = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const address = `10.0.0.${i % 250}:${40000 + i}`;
    t.actor.send({ type: 'peer.incoming', address, handle: i });
    t.actor.send({ type: 'peer.add', address: `10.1.0.${i % 250}:6881` });
    for (const id of Object.keys(t.actor.getSnapshot().children)) if (id.startsWith('peer')) ids.add(id);
    extensionHandshake(t, address);
    t.live.get(address)?.({ type: 'socket.closed' });
    t.live.get(`10.1.0.${i % 250}:6881`)?.({ type: 'socket.closed', error: 'ECONNREFUSED' });
  }
  assert.ok(ids.size <= 6, `${ids.size} distinct peer ids for 200 connections`);
  t.actor.stop();
});

test('a tracker that never answers holds a finished torrent one grace and a short stop, not two graces', () => {
  // Every announce hangs (a tracker behind a firewall that drops packets).
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(() => new Promise<never>(() => {}));
  const hanging = trackerTiersMachine.provide({
    actors: { tracker: trackerMachine.provide({ actors: { announce } }) },
  });
  const { actor, clock } = start(
    {
      have: Bitfield.full(8), // complete from the start: finishing at once
      trackers: { tiers: [['http://127.0.0.1:1/announce']], port: 7000 },
    },
    { trackers: hanging },
  );
  assert.equal(actor.getSnapshot().value, 'finishing');
  let ms = 0;
  while (actor.getSnapshot().status !== 'done' && ms < 20_000) {
    clock.increment(100);
    ms += 100;
  }
  assert.equal(actor.getSnapshot().output?.result, 'complete');
  // Before: TRACKER_GRACE_MS for `completed`, then TRACKER_GRACE_MS again for `stopped` (10 s).
  assert.equal(ms, TRACKER_GRACE_MS + TRACKER_SILENT_STOP_MS);
  actor.stop();
});

const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A hybrid complete from the start (finishing at once) with one tracker, its announces `announce`'s. */
function finishedHybrid(announce: ReturnType<typeof fromPromise<AnnounceResponse, AnnounceRequest>>) {
  const trackers = trackerTiersMachine.provide({
    actors: { tracker: trackerMachine.provide({ actors: { announce } }) },
  });
  return start(
    {
      infoHash: V1,
      otherInfoHash: V2,
      have: Bitfield.full(8),
      trackers: { tiers: [['http://127.0.0.1:1/announce']], port: 7000 },
    },
    { trackers },
  ).actor;
}

test("a hybrid finishing: its v2 swarm's completed answer does not end the wait for the v1 swarm's", async () => {
  /** Every v1 announce, held until the test answers it; the v2 ones answered at once. */
  const v1: { event: string; answer: (r: AnnounceResponse) => void; aborted: boolean }[] = [];
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input, signal }) => {
    if (Buffer.from(input.infoHash).equals(Buffer.from(V2)))
      return Promise.resolve({ interval: 1800, peers: [] });
    return new Promise((resolve) => {
      const call = { event: input.event, answer: resolve, aborted: false };
      signal.addEventListener('abort', () => {
        call.aborted = true;
      });
      v1.push(call);
    });
  });
  const actor = finishedHybrid(announce);
  await flush();
  // The v2 swarm took its started and its completed; the v1 swarm's started is still under way.
  assert.equal(actor.getSnapshot().value, 'finishing');
  v1[0]!.answer({ interval: 1800, peers: [] });
  await flush();
  assert.deepEqual(
    v1.map((c) => [c.event, c.aborted]),
    [
      ['started', false],
      ['completed', false],
    ],
  );
  assert.equal(actor.getSnapshot().value, 'finishing', 'waiting for the v1 completed');
  v1[1]!.answer({ interval: 1800, peers: [] });
  await flush();
  assert.notEqual(actor.getSnapshot().value, 'finishing');
  actor.stop();
});

test('a hybrid finishing with a tracker that answers only its v2 swarm: the v2 completed answer ends the wait', async () => {
  const asked: string[] = [];
  // The tracker knows the torrent by its v2 hash only (a whitelist that holds it alone, say).
  const announce = fromPromise<AnnounceResponse, AnnounceRequest>(({ input }) => {
    const v2 = Buffer.from(input.infoHash).equals(Buffer.from(V2));
    asked.push(`${v2 ? 'v2' : 'v1'} ${input.event}`);
    return v2
      ? Promise.resolve({ interval: 1800, peers: [] })
      : Promise.reject(new Error('unregistered torrent'));
  });
  const actor = finishedHybrid(announce);
  for (let i = 0; i < 5; i++) await flush();
  assert.ok(asked.includes('v2 completed'), asked.join(', '));
  // No v1 completed can come (its started never answered): the grace is not waited out.
  assert.notEqual(actor.getSnapshot().value, 'finishing');
  assert.equal(actor.getSnapshot().context.trackersSilent, false);
  actor.stop();
});
