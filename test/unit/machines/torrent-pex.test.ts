/**
 * BEP 11 peer exchange in the torrent and peer machines (machines/torrent-pex.ts, peer-pex.ts):
 * a peer's ut_pex message queues its peers as a tracker's are (deduplicated, bans and our own
 * addresses respected, a peer sending too often ignored, one connection's allowance bounded); each
 * peer that takes ut_pex is told, as its extension handshake comes (at the first tick when there is
 * no one to name yet) and then every minute, of the peers we are connected to whose listening
 * address we know, as a difference; a torrent without PEX (private,
 * --no-pex) neither announces, sends nor takes it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import { MAX_PEX_PEERS_PER_CONNECTION, PEX_INTERVAL_MS } from '../../../machines/torrent-pex.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import { decodeUtPex } from '../../../src/wire/decode-ut-pex.js';
import type { PexPeer } from '../../../src/wire/ut-pex.js';
import { advance, extensionHandshake, start } from './torrent-harness.js';

const THEIR_UT_PEX = 7;
const id = (n: number) => new Uint8Array(20).fill(n);

function pexFrom(
  t: ReturnType<typeof start>,
  address: string,
  added: string[],
  flags = 0,
  dropped: string[] = [],
): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  send({ type: 'wire.pex', added: added.map((a): PexPeer => ({ address: a, flags })), dropped });
}

/** The ut_pex messages the connection at `address` was told to send, decoded. */
function pexTo(t: ReturnType<typeof start>, address: string) {
  return (t.sentTo.get(address) ?? [])
    .filter((m) => m.type === 'extended' && m.extendedId === THEIR_UT_PEX)
    .map((m) => decodeUtPex((m as { payload: Uint8Array }).payload));
}

function exchanged(t: ReturnType<typeof start>) {
  return t.emitted.flatMap((e) => (e.type === 'torrent.peersExchanged' ? [[e.added, e.learned]] : []));
}

test("a ut_pex message's peers are queued and dialled as a tracker's: new ones only, not ours, not banned", () => {
  const t = start({ pex: true, maxPeers: 3, selfAddresses: ['10.0.0.9:6881'] });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  pexFrom(t, '10.0.0.1:6881', ['10.0.0.2:6881', '10.0.0.1:6881', '10.0.0.9:6881', '10.0.0.3:6881']);
  assert.deepEqual([...t.live.keys()].sort(), ['10.0.0.1:6881', '10.0.0.2:6881', '10.0.0.3:6881']);
  assert.deepEqual(exchanged(t), [[4, 2]], 'four named, two new to us');
  assert.equal(t.actor.getSnapshot().context.pexLearned, 2);
  t.actor.stop();
});

test('a peer on the internet may not name local addresses (libtorrent ignores them too); a local one may', () => {
  const t = start({ pex: true, maxPeers: 10 });
  t.actor.send({ type: 'peer.add', address: '203.0.113.5:6881' });
  extensionHandshake(t, '203.0.113.5:6881', undefined, id(2), THEIR_UT_PEX);
  pexFrom(t, '203.0.113.5:6881', ['192.168.1.1:80', '127.0.0.1:22', '[::1]:6881', '198.51.100.7:6881']);
  assert.deepEqual([...t.live.keys()].sort(), ['198.51.100.7:6881', '203.0.113.5:6881']);
  assert.deepEqual(exchanged(t), [[1, 1]]);
  t.actor.stop();
});

test('no peer may name an address that dials our own host or nobody (0.0.0.0/8, ::, multicast, broadcast)', () => {
  // Linux connects 0.0.0.0:p to 127.0.0.1:p: from a peer on the internet, the local-address rule
  // above would be undone; from a local one it is still no peer's listening address.
  for (const sender of ['203.0.113.5:6881', '10.0.0.1:6881']) {
    const t = start({ pex: true, maxPeers: 20 });
    t.actor.send({ type: 'peer.add', address: sender });
    extensionHandshake(t, sender, undefined, id(2), THEIR_UT_PEX);
    pexFrom(t, sender, [
      '0.0.0.0:22',
      '0.1.2.3:6881',
      '[::]:22',
      '[::ffff:0.0.0.0]:22',
      '224.0.0.1:6881',
      '239.255.255.250:1900',
      '255.255.255.255:6881',
      '[ff02::1]:6881',
      '198.51.100.7:6881',
    ]);
    assert.deepEqual([...t.live.keys()].sort(), ['198.51.100.7:6881', sender].sort(), sender);
    assert.deepEqual(exchanged(t), [[1, 1]], sender);
    t.actor.stop();
  }
});

test('a second ut_pex message within the minute is ignored; one a minute later is taken', () => {
  const t = start({ pex: true, maxPeers: 10 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  pexFrom(t, '10.0.0.1:6881', ['10.0.1.1:1']);
  for (let i = 2; i < 12; i++) pexFrom(t, '10.0.0.1:6881', [`10.0.1.${i}:1`]); // a flood
  assert.deepEqual(exchanged(t), [[1, 1]]);
  for (let s = 0; s < 60; s += 5) {
    advance(t, 5_000);
    t.live.get('10.0.0.1:6881')?.({ type: 'wire.keepAlive' });
  }
  pexFrom(t, '10.0.0.1:6881', ['10.0.2.1:1']);
  assert.deepEqual(exchanged(t), [
    [1, 1],
    [1, 1],
  ]);
  t.actor.stop();
});

test('one connection gives us at most MAX_PEX_PEERS_PER_CONNECTION addresses', () => {
  const t = start({ pex: true, maxPeers: 1, rotateMs: 10_000_000 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  const many = (base: number) => Array.from({ length: 100 }, (_, i) => `10.${base}.${i >> 8}.${i & 0xff}:1`);
  for (let round = 0; round < 4; round++) {
    pexFrom(t, '10.0.0.1:6881', many(round + 1));
    for (let s = 0; s < 60; s += 5) {
      advance(t, 5_000);
      t.live.get('10.0.0.1:6881')?.({ type: 'wire.keepAlive' });
    }
  }
  assert.equal(t.actor.getSnapshot().context.pexLearned, MAX_PEX_PEERS_PER_CONNECTION);
  t.actor.stop();
});

test("the bound is on what a connection names now, as libtorrent's max_pex_peers: a dropped address makes room", () => {
  // An honest peer on a long connection tells us of its swarm's churn for hours: 200 addresses in
  // the connection's life would have silenced it. What it named and has not dropped is bounded.
  const t = start({ pex: true, maxPeers: 1, rotateMs: 10_000_000 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  const many = (base: number) => Array.from({ length: 100 }, (_, i) => `10.${base}.${i >> 8}.${i & 0xff}:1`);
  const minute = () => {
    for (let s = 0; s < 60; s += 5) {
      advance(t, 5_000);
      t.live.get('10.0.0.1:6881')?.({ type: 'wire.keepAlive' });
    }
  };
  pexFrom(t, '10.0.0.1:6881', many(1));
  minute();
  pexFrom(t, '10.0.0.1:6881', many(2));
  minute();
  pexFrom(t, '10.0.0.1:6881', [...many(1).slice(0, 10), ...many(3)]); // full: nothing, not even known ones
  minute();
  pexFrom(t, '10.0.0.1:6881', many(3), 0, many(1)); // 100 dropped, 100 fresh
  minute();
  pexFrom(t, '10.0.0.1:6881', many(2).slice(0, 5)); // named already: no room taken
  assert.deepEqual(exchanged(t), [
    [100, 100],
    [100, 100],
    [100, 100],
  ]);
  assert.equal(t.actor.getSnapshot().context.pexLearned, 300);
  t.actor.stop();
});

test('once complete, peers flagged as seeds are not taken', () => {
  const t = start({ pex: true, maxPeers: 1, seedWhenComplete: true, have: fullHave() });
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.1:50000', handle: 'h' });
  extensionHandshake(t, '10.0.0.1:50000', 6881, id(2), THEIR_UT_PEX);
  pexFrom(t, '10.0.0.1:50000', ['10.0.0.2:6881'], 0x02);
  pexFrom(t, '10.0.0.1:50000', ['10.0.0.3:6881'], 0);
  assert.deepEqual(exchanged(t), [], 'the seeds were all it named: nothing taken');
  t.actor.stop();
});

/** Every one of the harness's 8 pieces verified. */
function fullHave() {
  return Bitfield.full(8);
}

test('each peer is told, at the first tick, of the others whose listening address we know, never of itself', () => {
  const t = start({ pex: true, maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.2:50000', handle: 'b' });
  extensionHandshake(t, '10.0.0.2:50000', 6882, id(3), THEIR_UT_PEX);
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.3:50001', handle: 'c' }); // says no `p`
  extensionHandshake(t, '10.0.0.3:50001', undefined, id(4));
  advance(t, 5_000);
  assert.deepEqual(pexTo(t, '10.0.0.1:6881'), [
    { added: [{ address: '10.0.0.2:6882', flags: 0 }], dropped: [] },
  ]);
  assert.deepEqual(pexTo(t, '10.0.0.2:50000'), [
    { added: [{ address: '10.0.0.1:6881', flags: 0x10 }], dropped: [] },
  ]);
  assert.deepEqual(pexTo(t, '10.0.0.3:50001'), [], 'it gave ut_pex no id');
  t.actor.stop();
});

test('the first ut_pex message goes as the extension handshake comes; the next not before a minute later', () => {
  const t = start({ pex: true, maxPeers: 4 });
  const a = '10.0.0.1:6881';
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, '10.0.0.2:6881', undefined, id(3)); // takes no ut_pex
  advance(t, 2_000); // between two ticks of the torrent clock (5 s)
  t.actor.send({ type: 'peer.add', address: a });
  extensionHandshake(t, a, undefined, id(2), THEIR_UT_PEX);
  // No clock moved since the handshake: Transmission sends its first right after it, libtorrent
  // within its next second.
  assert.deepEqual(pexTo(t, a), [{ added: [{ address: '10.0.0.2:6881', flags: 0x10 }], dropped: [] }]);
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:6881' });
  extensionHandshake(t, '10.0.0.3:6881', undefined, id(4));
  const keepAlive = () => {
    for (const send of t.live.values()) send({ type: 'wire.keepAlive' });
  };
  // BEP 11: at most one a minute. The clock steps in ticks: the first went 2 s past one.
  for (let s = 0; s < PEX_INTERVAL_MS; s += 1_000) {
    advance(t, 1_000);
    keepAlive();
  }
  assert.equal(pexTo(t, a).length, 1, 'a minute after the first: not yet (its tick is 3 s on)');
  advance(t, 3_000);
  assert.deepEqual(pexTo(t, a).at(-1), { added: [{ address: '10.0.0.3:6881', flags: 0x10 }], dropped: [] });
  t.actor.stop();
});

test('a peer connected over uTP is named with the utp flag (0x04)', () => {
  const t = start({ pex: true, maxPeers: 4, listenPort: 7000 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, '10.0.0.2:6881', undefined, id(3), THEIR_UT_PEX, 'utp');
  advance(t, 5_000);
  assert.deepEqual(pexTo(t, '10.0.0.1:6881'), [
    { added: [{ address: '10.0.0.2:6881', flags: 0x10 | 0x04 }], dropped: [] },
  ]);
  assert.deepEqual(pexTo(t, '10.0.0.2:6881'), [
    { added: [{ address: '10.0.0.1:6881', flags: 0x10 }], dropped: [] },
  ]);
  t.actor.stop();
});

test('then every minute the difference: peers added and dropped since, nothing when nothing changed', () => {
  const t = start({ pex: true, maxPeers: 4 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  extensionHandshake(t, '10.0.0.2:6881', undefined, id(3));
  const keepAlive = () => {
    for (const send of t.live.values()) send({ type: 'wire.keepAlive' });
  };
  advance(t, 5_000);
  assert.equal(pexTo(t, '10.0.0.1:6881').length, 1);
  // A minute with nothing new: no message.
  for (let s = 0; s < PEX_INTERVAL_MS; s += 5_000) {
    advance(t, 5_000);
    keepAlive();
  }
  assert.equal(pexTo(t, '10.0.0.1:6881').length, 1);
  // 10.0.0.2 goes, 10.0.0.3 comes.
  t.live.get('10.0.0.2:6881')?.({ type: 'socket.closed' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:6881' });
  extensionHandshake(t, '10.0.0.3:6881', undefined, id(4));
  for (let s = 0; s < PEX_INTERVAL_MS; s += 5_000) {
    advance(t, 5_000);
    keepAlive();
  }
  assert.deepEqual(pexTo(t, '10.0.0.1:6881').at(-1), {
    added: [{ address: '10.0.0.3:6881', flags: 0x10 }],
    dropped: ['10.0.0.2:6881'],
  });
  t.actor.stop();
});

test('without PEX (a private torrent, --no-pex): ut_pex is not announced, sent nor taken', () => {
  const t = start({ pex: false, maxPeers: 3 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(2), THEIR_UT_PEX);
  extensionHandshake(t, '10.0.0.2:6881', undefined, id(3), THEIR_UT_PEX);
  const [ours] = (t.sentTo.get('10.0.0.1:6881') ?? []).filter((m) => m.type === 'extended');
  assert.ok(ours?.type === 'extended' && ours.extendedId === 0);
  assert.ok(!Buffer.from(ours.payload).toString('latin1').includes('ut_pex'));
  pexFrom(t, '10.0.0.1:6881', ['10.0.0.3:6881']);
  advance(t, 10_000);
  assert.deepEqual(pexTo(t, '10.0.0.1:6881'), []);
  assert.deepEqual([...t.live.keys()].sort(), ['10.0.0.1:6881', '10.0.0.2:6881']);
  assert.deepEqual(exchanged(t), []);
  t.actor.stop();
});

test("no state shadows the handlers peer exchange relies on: each runs its ancestor's actions first", () => {
  // XState runs the deepest handler of an event only: `downloading`'s own clock.tick (web seeds)
  // once replaced the root's, and no ut_pex message left while downloading. Any state that handles
  // one of these events again must run what its nearest ancestor's handler runs, then its own.
  const inherited = [
    'clock.tick',
    'peer.pex',
    'peer.pexSupported',
    'peer.handshaken',
    'peer.listening',
    'peer.closed',
    'peer.have',
    'peer.bitfield',
  ];
  type Config = { on?: Record<string, unknown>; states?: Record<string, Config> };
  const actionsOf = (handler: unknown): string[] => {
    const first = Array.isArray(handler) ? handler.at(-1) : handler; // the unguarded fallback
    const actions = (first as { actions?: unknown }).actions;
    return (Array.isArray(actions) ? actions : actions === undefined ? [] : [actions]).map(String);
  };
  const checked: string[] = [];
  const walk = (node: Config, path: string, above: Map<string, string[]>) => {
    const here = new Map(above);
    for (const event of inherited) {
      const handler = node.on?.[event];
      if (handler === undefined) continue;
      const mine = actionsOf(handler);
      const theirs = above.get(event);
      if (theirs !== undefined) {
        assert.deepEqual(mine.slice(0, theirs.length), theirs, `${path} ${event}`);
        checked.push(`${path} ${event}`);
      }
      here.set(event, mine);
    }
    for (const [name, child] of Object.entries(node.states ?? {})) walk(child, `${path}.${name}`, here);
  };
  walk(torrentMachine.config as Config, 'torrent', new Map());
  assert.ok(checked.includes('torrent.active.downloading clock.tick'), checked.join('; '));
});

test('a peer that turns ut_pex off (BEP 10: id 0) and on again is told of the peers that came meanwhile', () => {
  const t = start({ pex: true, maxPeers: 4 });
  const a = '10.0.0.1:6881';
  t.actor.send({ type: 'peer.add', address: a });
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6881' });
  extensionHandshake(t, a, undefined, id(2), THEIR_UT_PEX);
  extensionHandshake(t, '10.0.0.2:6881', undefined, id(3));
  const minute = () => {
    for (let s = 0; s < PEX_INTERVAL_MS; s += 5_000) {
      advance(t, 5_000);
      for (const send of t.live.values()) send({ type: 'wire.keepAlive' });
    }
  };
  advance(t, 5_000);
  assert.deepEqual(pexTo(t, a), [{ added: [{ address: '10.0.0.2:6881', flags: 0x10 }], dropped: [] }]);
  t.live.get(a)?.({ type: 'wire.extendedHandshake', utPex: 0 });
  t.actor.send({ type: 'peer.add', address: '10.0.0.3:6881' });
  extensionHandshake(t, '10.0.0.3:6881', undefined, id(4));
  minute();
  assert.equal(pexTo(t, a).length, 1, 'nothing while it is off');
  t.live.get(a)?.({ type: 'wire.extendedHandshake', utPex: THEIR_UT_PEX });
  minute();
  const told = pexTo(t, a).flatMap((m) => m.added.map((p) => p.address));
  assert.ok(told.includes('10.0.0.3:6881'), `told of ${told.join(', ')}`);
  t.actor.stop();
});

test('an incoming peer is not named to itself in the first message, which goes as its extension handshake comes', () => {
  const t = start({ pex: true, maxPeers: 4, listenPort: 7000 });
  // We dialled 10.0.0.2 at its listening port; it also dialled us, and says that port (`p`) in the
  // same extension handshake that turns on ut_pex.
  t.actor.send({ type: 'peer.add', address: '10.0.0.2:6882' });
  extensionHandshake(t, '10.0.0.2:6882', undefined, id(2));
  t.actor.send({ type: 'peer.add', address: '10.0.0.1:6881' });
  extensionHandshake(t, '10.0.0.1:6881', undefined, id(4));
  t.actor.send({ type: 'peer.incoming', address: '10.0.0.2:50000', handle: 'b' });
  extensionHandshake(t, '10.0.0.2:50000', 6882, id(3), THEIR_UT_PEX);
  assert.deepEqual(pexTo(t, '10.0.0.2:50000'), [
    { added: [{ address: '10.0.0.1:6881', flags: 0x10 }], dropped: [] },
  ]);
  t.actor.stop();
});
