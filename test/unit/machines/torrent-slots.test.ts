/**
 * Connection slots (machines/torrent-slots.ts): incoming connections before their handshake hold
 * no slot and are bounded apart; a full torrent makes room for a handshaken newcomer by closing a
 * useless connection, or closes the newcomer when none is useless.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloseReason } from '../../../machines/peer.types.js';
import { IDLE_EVICT_MS, UNINTERESTED_EVICT_MS } from '../../../machines/torrent-slots.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { forwardNotifications } from '../../../src/session/download-notifications.js';
import { ProgressMeter } from '../../../src/session/progress-meter.js';
import { TransferCounter } from '../../../src/session/transfer-counter.js';
import { makeTorrent } from '../storage/make-torrent.js';
import { advance, extensionHandshake, start } from './torrent-harness.js';

function closes(t: ReturnType<typeof start>): [string, CloseReason][] {
  return t.emitted.flatMap((e) => (e.type === 'torrent.peerClosed' ? [[e.address, e.reason]] : []));
}

test('incoming connections that never handshake hold no slot: a newcomer that handshakes is adopted', () => {
  const t = start({ maxPeers: 2, maxHalfOpen: 3 });
  // Ten sockets that connect and never send a byte (the review's 60 idle sockets, scaled down).
  for (let i = 0; i < 10; i++)
    t.actor.send({ type: 'peer.incoming', address: `10.9.9.9:${50000 + i}`, handle: `idle-${i}` });
  assert.equal([...t.live.keys()].length, 3, 'at most maxHalfOpen of them at once');
  assert.deepEqual(
    closes(t).map(([, r]) => r),
    Array(7).fill({ reason: 'evicted', rule: 'halfOpen' }),
    'each newcomer closed the oldest',
  );
  // They hold none of the two slots: our own dial goes out, and two honest peers are served.
  t.actor.send({ type: 'peer.add', address: 'd:6881' });
  assert.ok(t.live.has('d:6881'));
  t.actor.send({ type: 'peer.incoming', address: 'h:50100', handle: 'honest' });
  extensionHandshake(t, 'h:50100');
  assert.ok(t.live.has('h:50100'), 'the honest newcomer is adopted and stays');
  assert.deepEqual(
    t.emitted.filter((e) => e.type === 'torrent.incomingRejected'),
    [],
  );
  t.actor.stop();
});

test('every slot taken: a handshaken newcomer is closed, unless neither side was interested in a peer for a minute', () => {
  const t = start({ maxPeers: 1 });
  t.actor.send({ type: 'peer.incoming', address: 'u:50000', handle: 'u' });
  extensionHandshake(t, 'u:50000'); // no bitfield, never interested: nothing to trade either way
  advance(t, UNINTERESTED_EVICT_MS / 2);
  t.actor.send({ type: 'peer.incoming', address: 'n:50001', handle: 'n' });
  extensionHandshake(t, 'n:50001');
  assert.deepEqual(
    closes(t),
    [['n:50001', { reason: 'tooManyConnections' }]],
    'u is not useless long enough',
  );
  advance(t, UNINTERESTED_EVICT_MS / 2 + 5_000);
  t.actor.send({ type: 'peer.incoming', address: 'm:50002', handle: 'm' });
  extensionHandshake(t, 'm:50002');
  assert.deepEqual(closes(t).slice(1), [['u:50000', { reason: 'evicted', rule: 'uninterested' }]]);
  assert.deepEqual([...t.live.keys()], ['m:50002']);
  t.actor.stop();
});

test('every slot taken: a peer that holds its slot with keep-alives, moving no payload, makes room after five minutes', () => {
  const t = start({ maxPeers: 1, have: Bitfield.full(8), seedWhenComplete: true });
  t.actor.send({ type: 'peer.incoming', address: 'k:50000', handle: 'k' });
  extensionHandshake(t, 'k:50000');
  const k = t.live.get('k:50000')!;
  k({ type: 'wire.interested' }); // interested, so not the `uninterested` rule; it never requests
  for (let ms = 0; ms < IDLE_EVICT_MS; ms += 60_000) {
    if (ms === 120_000) {
      t.actor.send({ type: 'peer.incoming', address: 'n:50001', handle: 'n' });
      extensionHandshake(t, 'n:50001');
    }
    advance(t, 60_000);
    k({ type: 'wire.keepAlive' });
  }
  t.actor.send({ type: 'peer.incoming', address: 'm:50002', handle: 'm' });
  extensionHandshake(t, 'm:50002');
  assert.deepEqual(closes(t), [
    ['n:50001', { reason: 'tooManyConnections' }],
    ['k:50000', { reason: 'evicted', rule: 'idle' }],
  ]);
  assert.deepEqual([...t.live.keys()], ['m:50002']);
  t.actor.stop();
});

test('nothing is closed to make room while a slot is free', () => {
  const t = start({ maxPeers: 2 });
  t.actor.send({ type: 'peer.incoming', address: 'u:50000', handle: 'u' });
  extensionHandshake(t, 'u:50000');
  advance(t, 2 * UNINTERESTED_EVICT_MS);
  t.actor.send({ type: 'peer.incoming', address: 'm:50002', handle: 'm' });
  extensionHandshake(t, 'm:50002');
  assert.deepEqual(closes(t), []);
  assert.deepEqual([...t.live.keys()].sort(), ['m:50002', 'u:50000']);
  t.actor.stop();
});

test('a newcomer refused a slot is never reported connected, and progress counts only connections holding a slot', () => {
  const t = start({ maxPeers: 1 });
  // Wired as src/session/download.ts wires it: the emitted notifications become DownloadEvents
  // (the --json lines), each `peer.connected` seen with the peer count progress would show then.
  const meter = new ProgressMeter(
    makeTorrent('t', [{ path: ['a'], length: 8 * 1024 }], 1024, new Uint8Array(8 * 1024)),
    new TransferCounter(),
    () => t.actor.getSnapshot().context,
    false,
  );
  const events: (DownloadEvent | { type: 'peers'; connected: number })[] = [];
  forwardNotifications(
    t.actor,
    meter,
    (e) => {
      events.push(e);
      if (e.type === 'peer.connected')
        events.push({ type: 'peers', connected: meter.progress(0).peersConnected });
    },
    () => {},
  );
  t.actor.send({ type: 'peer.incoming', address: 'u:50000', handle: 'u' });
  extensionHandshake(t, 'u:50000');
  t.actor.send({ type: 'peer.incoming', address: 'n:50001', handle: 'n' });
  extensionHandshake(t, 'n:50001'); // refused: u is not useless yet
  advance(t, UNINTERESTED_EVICT_MS + 5_000);
  t.actor.send({ type: 'peer.incoming', address: 'm:50002', handle: 'm' });
  extensionHandshake(t, 'm:50002'); // u makes room
  const peerEvents = events.flatMap((e) =>
    e.type === 'peer.connected'
      ? [`connected ${e.address}`]
      : e.type === 'peer.closed'
        ? [`closed ${e.address} ${e.reason}`]
        : e.type === 'peers'
          ? [`peers ${e.connected}`]
          : [],
  );
  assert.deepEqual(peerEvents, [
    'connected u:50000',
    'peers 1',
    'closed n:50001 tooManyConnections',
    // m is connected while u, told to make room, is still on its way out: one slot, one peer.
    'connected m:50002',
    'peers 1',
    'closed u:50000 evicted',
  ]);
  assert.equal(meter.progress(1000).peersConnected, 1);
  t.actor.stop();
});
