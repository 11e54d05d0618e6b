/**
 * The UDP tracker client (BEP 15) against a fake tracker on 127.0.0.1 (and ::1), with a retry
 * base of a few ms (the schedule itself on the test's clock: node:test's mock timers): connect +
 * announce, the connection id reused within its minute and renewed after, scrape, the error
 * action, retransmission and giving up, a refused port, IPv6 peers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { MAX_ANNOUNCE_PEERS } from '../../../src/tracker/peer-collector.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import { UdpTrackerClient, udpTrackerTarget } from '../../../src/tracker/udp-tracker.js';
import { getFreePort } from '../../interop/harness/ports.js';
import { startFakeUdpTracker } from './fake-udp-tracker.js';

const PARAMS: AnnounceParams = {
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
  port: 51413,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
};
const PEERS = [
  { host: '10.1.2.3', port: 6881 },
  { host: '192.168.0.9', port: 51413 },
];
const FAST = { retryBaseMs: 20, maxRetries: 3 };
/**
 * For tests that count the datagrams sent: the fake tracker answers at once, and a retry after
 * 20 ms (FAST) on a loaded machine would send one more connect than the test expects.
 */
const PATIENT = { retryBaseMs: 15_000, maxRetries: 1 };
/**
 * For tests of what ends a request before its retry schedule would: the first resend is due in 10
 * minutes, so a request that waited for the schedule never ends within the test's runner timeout
 * (HANG_GUARD: a guard against a hang, not a measure: such a request ends in milliseconds).
 */
const NEVER = 600_000;
const HANG_GUARD = { timeout: 120_000 };

async function rejectsWith(p: Promise<unknown>, code: string): Promise<TrackerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TrackerError, `a TrackerError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected TrackerError '${code}'`);
}

test('connect then announce: the peers, counts and interval; the event and port are sent', async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS, interval: 900 });
  t.after(() => tracker.close());
  const r = await new UdpTrackerClient().announce(tracker.url, PARAMS, PATIENT);
  assert.deepEqual(r, { interval: 900, incomplete: 3, complete: 5, peers: PEERS });
  assert.deepEqual(
    tracker.received.map((q) => [q.action, q.event, q.port]),
    [
      [0, undefined, undefined],
      [1, 2, 51413],
    ],
  );
});

test('the connection id is reused for a minute, then renewed', async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS });
  t.after(() => tracker.close());
  let now = 0;
  const client = new UdpTrackerClient({ now: () => now });
  await client.announce(tracker.url, PARAMS, PATIENT);
  now = 59_999;
  await client.announce(tracker.url, { ...PARAMS, event: 'regular' }, PATIENT);
  await client.scrape(tracker.url, [PARAMS.infoHash], PATIENT);
  now = 60_000;
  await client.announce(tracker.url, { ...PARAMS, event: 'regular' }, PATIENT);
  assert.deepEqual(
    tracker.received.map((q) => q.action),
    [0, 1, 1, 2, 0, 1],
  );
});

test('scrape: seeders, completed, leechers per info-hash, in order', async (t) => {
  const tracker = await startFakeUdpTracker({ peers: [] });
  t.after(() => tracker.close());
  const r = await new UdpTrackerClient().scrape(tracker.url, [PARAMS.infoHash, PARAMS.peerId], FAST);
  assert.deepEqual(r, [
    { complete: 5, downloaded: 9, incomplete: 3 },
    { complete: 5, downloaded: 10, incomplete: 3 },
  ]);
});

test("the error action is TrackerError 'failure' with the tracker's message", async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS, failure: 'torrent not registered' });
  t.after(() => tracker.close());
  const e = await rejectsWith(new UdpTrackerClient().announce(tracker.url, PARAMS, FAST), 'failure');
  assert.equal(e.message, 'torrent not registered');
});

/** Lets the event loop turn (I/O, immediates), on a clock that stands still under mock timers. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

test('silence: resent after 20, 40, 80 ms (base · 2^n), then a timeout error', HANG_GUARD, async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS, fate: () => ({ kind: 'drop' }) });
  t.after(() => tracker.close());
  // The clock of the client's waits is the test's: nothing is resent until the test moves it on.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const request = new UdpTrackerClient().announce(tracker.url, PARAMS, FAST);
  let settled = false;
  request.then(
    () => (settled = true),
    () => (settled = true),
  );
  const sent = async (n: number) => {
    while (tracker.received.length < n) await turns(1);
  };
  await sent(1);
  for (const [wait, sends] of [
    [20, 2],
    [40, 3],
    [80, 4],
  ] as const) {
    t.mock.timers.tick(wait - 1);
    await turns();
    assert.equal(tracker.received.length, sends - 1, `not resent ${wait - 1} ms after the last send`);
    t.mock.timers.tick(1);
    await sent(sends);
  }
  t.mock.timers.tick(159);
  await turns();
  assert.equal(settled, false, 'still waiting 159 ms after the fourth send');
  t.mock.timers.tick(1);
  const e = await rejectsWith(request, 'timeout');
  assert.equal(tracker.received.length, 4, 'maxRetries 3: four sends of the connect');
  assert.equal(e.limit, 300);
});

test('timeoutMs bounds the whole request whatever the schedule', HANG_GUARD, async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS, fate: () => ({ kind: 'drop' }) });
  t.after(() => tracker.close());
  const e = await rejectsWith(
    new UdpTrackerClient().announce(tracker.url, PARAMS, { retryBaseMs: NEVER, timeoutMs: 100 }),
    'timeout',
  );
  // timeoutMs's error, not the schedule's (whose limit is the schedule's sum: 10 min · (2^9 - 1)).
  assert.equal(e.limit, 100);
  assert.match(e.message, /within 100 ms/);
});

test('an abort signal ends the request with aborted', async (t) => {
  const tracker = await startFakeUdpTracker({ peers: PEERS, fate: () => ({ kind: 'drop' }) });
  t.after(() => tracker.close());
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  await rejectsWith(
    new UdpTrackerClient().announce(tracker.url, PARAMS, { retryBaseMs: 10_000, signal: controller.signal }),
    'aborted',
  );
});

test('a closed port (ICMP unreachable) fails at once, without the retries', HANG_GUARD, async () => {
  const port = await getFreePort();
  const e = await rejectsWith(
    new UdpTrackerClient().announce(`udp://127.0.0.1:${port}`, PARAMS, { retryBaseMs: NEVER }),
    'network',
  );
  // The kernel's answer to the first send (ICMP port unreachable on a connected socket), not the
  // end of the retries, which would be a timeout 85 hours away.
  assert.equal((e.cause as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
});

test('answers with garbage only: a typed error after the retries, never a crash', async (t) => {
  const tracker = await startFakeUdpTracker({
    peers: PEERS,
    fate: () => ({ kind: 'replace', datagram: (a) => a.subarray(0, 11) }),
  });
  t.after(() => tracker.close());
  await rejectsWith(new UdpTrackerClient().announce(tracker.url, PARAMS, FAST), 'badResponse');
});

test('a broken datagram under another transaction id is not ours: not decoded, not blamed on the tracker', async (t) => {
  // Every answer comes back cut short and under another transaction id. Before, each was decoded
  // and kept as the tracker's garbage, and the retries ended in badResponse; it is not an answer.
  const tracker = await startFakeUdpTracker({
    peers: PEERS,
    fate: () => ({
      kind: 'replace',
      datagram: (a) => {
        const d = Buffer.from(a.subarray(0, 11));
        d.writeUInt32BE((d.readUInt32BE(4) + 1) >>> 0, 4);
        return d;
      },
    }),
  });
  t.after(() => tracker.close());
  await rejectsWith(new UdpTrackerClient().announce(tracker.url, PARAMS, FAST), 'timeout');
});

test('over IPv6 (::1): a udp6 socket and 18-byte peers', async (t) => {
  const tracker = await startFakeUdpTracker({
    host: '::1',
    peers: [
      { host: '::1', port: 7000 },
      { host: '2001:db8:0:0:0:0:0:5', port: 7001 },
    ],
  }).catch(() => undefined);
  if (tracker === undefined) return t.skip('no ::1 on this machine');
  t.after(() => tracker.close());
  const r = await new UdpTrackerClient().announce(tracker.url, PARAMS, FAST);
  assert.deepEqual(r.peers, [
    { host: '::1', port: 7000 },
    { host: '2001:db8::5', port: 7001 },
  ]);
});

test('udpTrackerTarget: host and port from the URL; a URL without port is badUrl', () => {
  assert.deepEqual(udpTrackerTarget('udp://tracker.example:6969/announce'), {
    host: 'tracker.example',
    port: 6969,
  });
  assert.deepEqual(udpTrackerTarget('udp://[::1]:80'), { host: '::1', port: 80 });
  for (const bad of ['udp://tracker.example', 'http://x:1/announce', 'not a url'])
    assert.throws(
      () => udpTrackerTarget(bad),
      (e: unknown) => e instanceof TrackerError && e.code === 'badUrl',
    );
});

test('a datagram full of peers (10,000, repeats and undialable ones among them): at most MAX_ANNOUNCE_PEERS distinct dialable ones', async (t) => {
  const flood = Array.from({ length: 10_000 }, (_, i) =>
    i % 4 === 0
      ? { host: '10.0.0.1', port: 6881 } // the same peer again and again
      : i % 4 === 1
        ? { host: i % 8 === 1 ? '0.0.0.0' : '239.1.2.3', port: 6881 } // nowhere, multicast
        : { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1 + (i % 60000) },
  );
  const tracker = await startFakeUdpTracker({ peers: flood });
  t.after(() => tracker.close());
  const r = await new UdpTrackerClient().announce(tracker.url, PARAMS, FAST);
  assert.equal(r.peers.length, MAX_ANNOUNCE_PEERS);
  assert.equal(new Set(r.peers.map((p) => `${p.host}:${p.port}`)).size, MAX_ANNOUNCE_PEERS);
  assert.ok(r.peers.every((p) => p.host.startsWith('10.') && p.port > 0));
});
