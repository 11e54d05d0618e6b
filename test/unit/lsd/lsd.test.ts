/**
 * The LSD service (BEP 14) over real multicast on 127.0.0.1: two services announcing one info-hash
 * find each other; our own announces (our cookie) are not peers; an info-hash removed is no longer
 * reported; the receiving socket, bound to the group's address, takes no unicast datagram to port
 * 6771. Every info-hash is random: other test files multicast to the same group at the same time.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { LSD_MAX_ANNOUNCES_PER_SECOND, type Lsd, startLsd } from '../../../src/lsd/lsd.js';
import { formatLsdAnnounce, LSD_GROUP, LSD_PORT, parseLsdAnnounce } from '../../../src/lsd/lsd-message.js';
import type { PeerAddress } from '../../../src/net/address.js';
import { type TestContext, within } from '../../helpers/temp-dir.js';

const LOOPBACK = { interfaces: ['127.0.0.1'] };

async function lsdOn(t: TestContext, port: number): Promise<Lsd> {
  const lsd = await startLsd(LOOPBACK, { port });
  t.after(() => lsd.close());
  return lsd;
}

/** The peers reported for `infoHash`, and a wait for one at `port`. */
function peersOf(lsd: Lsd, infoHash: Uint8Array) {
  const peers: PeerAddress[] = [];
  const waiters: { port: number; resolve: () => void }[] = [];
  const remove = lsd.add({
    infoHashes: [infoHash],
    onPeer: (peer, h) => {
      assert.deepEqual(Buffer.from(h), Buffer.from(infoHash));
      peers.push(peer);
      for (const w of waiters) if (w.port === peer.port) w.resolve();
    },
  });
  return {
    peers,
    remove,
    heard: (port: number) =>
      peers.some((p) => p.port === port)
        ? Promise.resolve()
        : within(
            30_000,
            new Promise<void>((resolve) => waiters.push({ port, resolve })),
            `a peer at ${port}`,
          ),
  };
}

/** A plain socket sending on loopback (multicast or unicast) from `from`, closed after the test. */
async function sender(t: TestContext, from = '127.0.0.1'): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => s.bind(0, from, resolve));
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastLoopback(true);
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s;
}

const send = (s: Socket, bytes: Uint8Array, host = LSD_GROUP) =>
  new Promise<void>((resolve, reject) =>
    s.send(bytes, LSD_PORT, host, (err) => (err ? reject(err) : resolve())),
  );

describe('LSD on 127.0.0.1', () => {
  it('two services announcing one info-hash find each other at their TCP ports', async (t) => {
    const h = randomBytes(20);
    const a = await lsdOn(t, 40001);
    const b = await lsdOn(t, 40002);
    assert.deepEqual(a.interfaces, ['127.0.0.1']);
    const atA = peersOf(a, h);
    const atB = peersOf(b, h);
    await Promise.all([atA.heard(40002), atB.heard(40001)]);
    assert.deepEqual(atA.peers[0], { host: '127.0.0.1', port: 40002 });
    assert.deepEqual(atB.peers[0], { host: '127.0.0.1', port: 40001 });
  });

  it('ignores an announce with its own cookie, and reports one without', async (t) => {
    const h = randomBytes(20);
    // A plain listener learns the service's cookie from its first announce.
    const listener = createSocket({ type: 'udp4', reuseAddr: true });
    t.after(() => new Promise<void>((resolve) => listener.close(() => resolve())));
    const cookie = new Promise<string>((resolve) =>
      listener.on('message', (msg) => {
        try {
          const an = parseLsdAnnounce(msg);
          if (an.infoHashes.some((x) => Buffer.from(x).equals(h)) && an.cookie !== undefined)
            resolve(an.cookie);
        } catch {}
      }),
    );
    await new Promise<void>((resolve) => listener.bind(LSD_PORT, LSD_GROUP, resolve));
    listener.addMembership(LSD_GROUP, '127.0.0.1');
    const lsd = await lsdOn(t, 40003);
    const at = peersOf(lsd, h);
    const ours = await within(30_000, cookie, 'our announce');
    const s = await sender(t);
    // One sender's datagrams reach the group in order: once 40005 is heard, 40004 was read first.
    await send(s, formatLsdAnnounce({ port: 40004, infoHashes: [h], cookie: ours }));
    await send(s, formatLsdAnnounce({ port: 40005, infoHashes: [h], cookie: 'not-ours' }));
    await at.heard(40005);
    assert.deepEqual(
      at.peers.map((p) => p.port),
      [40005],
    );
  });

  it('reports an info-hash no more once removed', async (t) => {
    const gone = randomBytes(20);
    const kept = randomBytes(20);
    const lsd = await lsdOn(t, 40006);
    const atGone = peersOf(lsd, gone);
    const atKept = peersOf(lsd, kept);
    atGone.remove();
    const s = await sender(t);
    await send(s, formatLsdAnnounce({ port: 40007, infoHashes: [gone] }));
    await send(s, formatLsdAnnounce({ port: 40008, infoHashes: [gone, kept] }));
    await atKept.heard(40008);
    assert.deepEqual(atGone.peers, []);
  });

  it('takes no unicast datagram to port 6771: its socket is bound to the group address', async (t) => {
    const h = randomBytes(20);
    const lsd = await lsdOn(t, 40009);
    const at = peersOf(lsd, h);
    const s = await sender(t);
    await send(s, formatLsdAnnounce({ port: 40010, infoHashes: [h] }), '127.0.0.1');
    await send(s, formatLsdAnnounce({ port: 40011, infoHashes: [h] }));
    await at.heard(40011);
    assert.deepEqual(
      at.peers.map((p) => p.port),
      [40011],
    );
  });

  it('spends its read cap (50 a second) only on senders it believes: a flood from outside its networks is not counted', async (t) => {
    // 127.0.0.1 as a /32: 127.0.0.2 (on loopback too) is outside the network LSD runs on, as eth0's
    // senders are for a run on 127.0.0.1 once another program joined the group there (IP_MULTICAST_ALL).
    const lsd = await startLsd(LOOPBACK, {
      port: 40012,
      entries: [{ address: '127.0.0.1', netmask: '255.255.255.255', family: 'IPv4', internal: true }],
    });
    t.after(() => lsd.close());
    const h = randomBytes(20);
    const at = peersOf(lsd, h);
    const outside = await sender(t, '127.0.0.2');
    const flood = formatLsdAnnounce({ port: 40013, infoHashes: [h] });
    for (let i = 0; i <= LSD_MAX_ANNOUNCES_PER_SECOND; i++) await send(outside, flood);
    const inside = await sender(t);
    await send(inside, formatLsdAnnounce({ port: 40014, infoHashes: [h] }));
    await at.heard(40014);
    assert.deepEqual(
      at.peers.map((p) => p.port),
      [40014],
    );
  });

  it("waits for an announce due past setTimeout's 24.8 days without spinning (an interval of 30 days)", async (t) => {
    // Node turns a delay over 2^31 - 1 ms into 1 ms (and warns): armed with the next announce's
    // time, the service woke every millisecond, found nothing due, and armed again.
    const overflows: Error[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'TimeoutOverflowWarning') overflows.push(w);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const h = randomBytes(20);
    const slow = await startLsd({ ...LOOPBACK, announceIntervalMs: 30 * 24 * 3600_000 }, { port: 40015 });
    t.after(() => slow.close());
    const at = peersOf(await lsdOn(t, 40016), h);
    slow.add({ infoHashes: [h], onPeer: () => {} });
    // Heard: the announce was sent, and the timer for the next armed (with it, synchronously);
    // a warning it raised is emitted on the next tick, before this datagram is read.
    await at.heard(40015);
    assert.deepEqual(overflows, []);
  });

  it("runs on an interface's second address too: believes its network and announces from it", async (t) => {
    // Two addresses of one interface (loopback), each a /32: the group is joined once per
    // interface, and the second join is refused (EADDRINUSE) as joined already.
    const entries = ['127.0.0.1', '127.0.0.2'].map((address) => ({
      address,
      netmask: '255.255.255.255',
      family: 'IPv4',
      internal: true,
    }));
    const lsd = await startLsd({ interfaces: ['127.0.0.1', '127.0.0.2'] }, { port: 40017, entries });
    t.after(() => lsd.close());
    assert.deepEqual(lsd.interfaces, ['127.0.0.1', '127.0.0.2']);
    const h = randomBytes(20);
    const at = peersOf(lsd, h);
    await send(await sender(t, '127.0.0.2'), formatLsdAnnounce({ port: 40018, infoHashes: [h] }));
    await at.heard(40018);
    assert.deepEqual(at.peers, [{ host: '127.0.0.2', port: 40018 }]);
    // And announces from there: a peer on 127.0.0.2's network alone hears it from 127.0.0.2.
    const other = await startLsd({ interfaces: ['127.0.0.2'] }, { port: 40019, entries: entries.slice(1) });
    t.after(() => other.close());
    const h2 = randomBytes(20);
    const atOther = peersOf(other, h2);
    lsd.add({ infoHashes: [h2], onPeer: () => {} });
    await atOther.heard(40017);
    assert.ok(atOther.peers.some((p) => p.host === '127.0.0.2' && p.port === 40017));
  });

  it('an info-hash removed and added again (a magnet fetch handing it to its download) is not announced twice; a new port is', async (t) => {
    // A plain member of the group on 127.0.0.1: every announce of this test's hashes, in order.
    const heard: { port: number; hashes: string[] }[] = [];
    const waiters: (() => void)[] = [];
    const [a, b, c] = [randomBytes(20), randomBytes(20), randomBytes(20)];
    const ours = new Set([a, b, c].map((h) => h.toString('hex')));
    const member = createSocket({ type: 'udp4', reuseAddr: true });
    member.on('message', (msg) => {
      try {
        const m = parseLsdAnnounce(msg);
        const hashes = m.infoHashes.map((h) => Buffer.from(h).toString('hex')).filter((h) => ours.has(h));
        if (hashes.length === 0) return;
        heard.push({ port: m.port, hashes });
        for (const w of waiters.splice(0)) w();
      } catch {}
    });
    await new Promise<void>((resolve) => member.bind(LSD_PORT, LSD_GROUP, resolve));
    member.addMembership(LSD_GROUP, '127.0.0.1');
    t.after(() => new Promise<void>((resolve) => member.close(() => resolve())));
    const announces = async (n: number) => {
      while (heard.length < n)
        await within(30_000, new Promise<void>((resolve) => waiters.push(resolve)), `announce ${n}`);
    };
    const lsd = await lsdOn(t, 40021);
    const hex = (h: Buffer) => h.toString('hex');
    const first = lsd.add({ infoHashes: [a], onPeer: () => {} });
    await announces(1);
    first();
    lsd.add({ infoHashes: [a], onPeer: () => {} });
    // A hash never announced is, at once: the announce that carries it would carry `a` too, or
    // follow one that did, had `a` been due again.
    lsd.add({ infoHashes: [b], onPeer: () => {} });
    await announces(2);
    assert.deepEqual(heard.slice(0, 2), [
      { port: 40021, hashes: [hex(a)] },
      { port: 40021, hashes: [hex(b)] },
    ]);
    // The port announced changes: everything again, at the new port.
    lsd.setPort(40022);
    await announces(3);
    assert.deepEqual(heard[2], { port: 40022, hashes: [hex(a), hex(b)] });
  });
});
