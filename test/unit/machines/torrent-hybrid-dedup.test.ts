/**
 * A hybrid torrent (BEP 52) hears of its peers twice a round: each tracker answers its v1 and its
 * v2 announce (two `tracker.peers`, the second with swarm 'v2'), and each DHT round looks up both
 * hashes (two batches of `peer.add`). A peer in both swarms is one peer: the torrent machine dials
 * it once (learnDialable: one address book record per address), whichever swarm named it first,
 * and not again while its connection is open.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { start } from './torrent-harness.js';

const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);
const URL = 'http://t.example/announce';
const peer = (n: number) => ({ host: `10.0.0.${n}`, port: 6000 + n });
const address = (n: number) => `10.0.0.${n}:${6000 + n}`;

/** How many connections were started to each address. */
function dials(t: ReturnType<typeof start>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of t.inputs) out[i.address] = (out[i.address] ?? 0) + 1;
  return out;
}

/** One round of a hybrid's peer sources, v1 first or v2 first, naming `v1` and `v2` peers. */
function round(t: ReturnType<typeof start>, v1: number[], v2: number[], v2First: boolean): void {
  const v1Events = [
    { type: 'tracker.peers' as const, url: URL, peers: v1.map(peer) },
    ...v1.map((n) => ({ type: 'peer.add' as const, address: address(n) })),
  ];
  const v2Events = [
    { type: 'tracker.peers' as const, url: URL, peers: v2.map(peer), swarm: 'v2' as const },
    ...v2.map((n) => ({ type: 'peer.add' as const, address: address(n), swarm: 'v2' as const })),
  ];
  for (const e of v2First ? [...v2Events, ...v1Events] : [...v1Events, ...v2Events]) t.actor.send(e);
}

for (const v2First of [false, true]) {
  test(`a hybrid: a peer named in both swarms, by the trackers and the DHT, is dialled once (${v2First ? 'v2' : 'v1'} swarm first)`, () => {
    const t = start({ infoHash: V1, otherInfoHash: V2, maxPeers: 8 });
    round(t, [1, 2], [1, 3], v2First);
    assert.deepEqual(dials(t), { [address(1)]: 1, [address(2)]: 1, [address(3)]: 1 });
    // The next round names them again, in both swarms: their connections are open, none is dialled.
    round(t, [1, 2, 3], [1, 2, 3], !v2First);
    assert.deepEqual(dials(t), { [address(1)]: 1, [address(2)]: 1, [address(3)]: 1 });
    // Dialled at once (a slot was free) with the hash of the swarm that named it first.
    const both = t.inputs.find((i) => i.address === address(1));
    assert.deepEqual(both?.infoHash, v2First ? V2 : V1);
    t.actor.stop();
  });
}

test('a hybrid: with every slot taken, a peer named in both swarms waits in the dial queue once', () => {
  const t = start({ infoHash: V1, otherInfoHash: V2, maxPeers: 1 });
  t.actor.send({ type: 'peer.add', address: address(9) });
  round(t, [1, 2], [1, 3], false);
  round(t, [1, 2, 3], [1, 2, 3], true);
  const queue = [...t.actor.getSnapshot().context.queue].sort();
  assert.deepEqual(queue, [address(1), address(2), address(3)]);
  assert.deepEqual(dials(t), { [address(9)]: 1 });
  t.actor.stop();
});
