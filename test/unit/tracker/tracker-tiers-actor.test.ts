/**
 * The multitracker machine with the real clients (trackerTiersActor) against real local servers
 * (issue #6): a first tier that is dead — a closed UDP port, a closed TCP port, an HTTP tracker
 * answering 500 — and a second tier with a tracker that refuses the torrent and a UDP tracker that
 * works. Peers arrive from the working one, it is remembered at the front of its tier, and the
 * stopped announce goes to it.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { assign, createActor, createMachine, sendTo } from 'xstate';
import type { TrackerCommand, TrackerReport } from '../../../machines/tracker.machine.js';
import type { TrackerTiersInput, TrackerTiersOutput } from '../../../machines/tracker-tiers.machine.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { trackerTiersActor } from '../../../src/tracker/tracker-tiers-actor.js';
import { startFakeUdpTracker } from './fake-udp-tracker.js';

async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function closedTcpPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

async function httpTracker(answer: (res: import('node:http').ServerResponse) => void) {
  const server = createServer((_req, res) => answer(res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/announce`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** The tiers actor invoked by a parent that forwards commands and keeps every report; `until` polls. */
function startTiers(t: TestContext, src: ReturnType<typeof trackerTiersActor>, input: TrackerTiersInput) {
  const reports: TrackerReport[] = [];
  const parent = createMachine({
    types: {} as {
      events: TrackerReport | { type: 'fwd'; cmd: TrackerCommand };
      context: { output: TrackerTiersOutput | undefined };
    },
    context: { output: undefined },
    invoke: {
      id: 'trackers',
      src,
      input,
      onDone: { actions: assign({ output: ({ event }) => event.output as TrackerTiersOutput }) },
    },
    on: {
      fwd: { actions: sendTo('trackers', ({ event }) => event.cmd) },
      'tracker.announced': { actions: ({ event }) => reports.push(event) },
      'tracker.peers': { actions: ({ event }) => reports.push(event) },
      'tracker.failed': { actions: ({ event }) => reports.push(event) },
    },
  });
  const actor = createActor(parent).start();
  t.after(() => actor.stop());
  const until = async (what: string, cond: () => boolean) => {
    const end = performance.now() + 8000;
    while (!cond()) {
      assert.ok(performance.now() < end, `timed out waiting for ${what}: ${JSON.stringify(reports)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { actor, reports, until };
}

test('a dead first tier, a working second: peers arrive and the working tracker is remembered', async (t) => {
  const udp = await startFakeUdpTracker({ peers: [{ host: '127.0.0.1', port: 6999 }] });
  t.after(() => udp.close());
  const broken = await httpTracker((res) => {
    res.statusCode = 500;
    res.end('oops');
  });
  t.after(() => broken.close());
  const refusing = await httpTracker((res) => res.end(bencode({ 'failure reason': 'not registered here' })));
  t.after(() => refusing.close());
  const tier1 = [
    `udp://127.0.0.1:${await closedUdpPort()}/announce`,
    `http://127.0.0.1:${await closedTcpPort()}/announce`,
    broken.url,
  ];
  const tier2 = [refusing.url, udp.url];

  const { actor, reports, until } = startTiers(
    t,
    trackerTiersActor({
      stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
      timeoutMs: 2000,
      udpTimeoutMs: 2000,
      udpOptions: { retryBaseMs: 50, maxRetries: 2 },
    }),
    {
      tiers: [tier1, tier2],
      infoHash: new Uint8Array(20).fill(3),
      peerId: new Uint8Array(20).fill(4),
      port: 6881,
      seed: 1,
    },
  );

  actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
  await until('peers', () => reports.some((r) => r.type === 'tracker.peers'));
  const failedUrls = reports.flatMap((r) => (r.type === 'tracker.failed' ? [r.url] : []));
  assert.deepEqual(
    new Set(failedUrls),
    new Set([...tier1, refusing.url]),
    'every other tracker was tried and failed',
  );
  assert.ok(
    reports.some(
      (r) => r.type === 'tracker.failed' && r.url === refusing.url && r.message === 'not registered here',
    ),
  );
  const peers = reports.find((r) => r.type === 'tracker.peers');
  assert.deepEqual(peers, {
    type: 'tracker.peers',
    url: udp.url,
    peers: [{ host: '127.0.0.1', port: 6999 }],
  });
  const ctx = actor.getSnapshot().children.trackers?.getSnapshot().context as {
    tiers: string[][];
    working: string;
  };
  assert.equal(ctx.working, udp.url);
  assert.equal(ctx.tiers[1]?.[0], udp.url, 'moved to the front of its tier');

  actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
  await until('the end', () => actor.getSnapshot().context.output !== undefined);
  assert.deepEqual(actor.getSnapshot().context.output, { stop: 'announced', working: udp.url });
  assert.deepEqual(
    udp.received.filter((q) => q.action === 1).map((q) => q.event),
    [2, 3],
    'started, then stopped (BEP 15 event codes)',
  );
});

test("a hybrid (BEP 52) is announced under both its hashes; the v2 swarm's peers come said apart", async (t) => {
  const V1 = new Uint8Array(20).fill(0x31);
  const V2 = new Uint8Array(20).fill(0x32);
  const compact = (port: number) => Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]);
  /** Each announce's info_hash (raw bytes, hex) and event, in arrival order. */
  const heard: { hash: string; event: string }[] = [];
  const tracker = createServer((req, res) => {
    const query = (req.url ?? '').split('?')[1] ?? '';
    const raw = /(?:^|&)info_hash=([^&]*)/.exec(query)?.[1] ?? '';
    // Percent-encoded raw bytes (BEP 3): each %XX one byte, any other character itself.
    const bytes = Buffer.from(
      raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      'latin1',
    );
    const event = /(?:^|&)event=([^&]*)/.exec(query)?.[1] ?? 'regular';
    heard.push({ hash: bytes.toString('hex'), event });
    const v2 = bytes.equals(Buffer.from(V2));
    res.end(bencode({ interval: 1800, peers: compact(v2 ? 7002 : 7001) }));
  });
  await new Promise<void>((ok) => tracker.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => tracker.close(() => ok())));
  const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`;

  const { actor, reports, until } = startTiers(
    t,
    trackerTiersActor({ stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }), timeoutMs: 2000 }),
    {
      tiers: [[url]],
      infoHash: V1,
      otherInfoHash: V2,
      peerId: new Uint8Array(20).fill(4),
      port: 6881,
      seed: 1,
    },
  );
  actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
  await until('peers of both swarms', () => reports.filter((r) => r.type === 'tracker.peers').length === 2);
  assert.deepEqual(
    reports.filter((r) => r.type === 'tracker.peers'),
    [
      { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7001 }] },
      { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7002 }], swarm: 'v2' },
    ],
  );
  assert.equal(
    reports.filter((r) => r.type === 'tracker.announced').length,
    1,
    'one announce of the tracker, in two swarms',
  );
  actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
  await until('the end', () => actor.getSnapshot().context.output !== undefined);
  const v1Hex = Buffer.from(V1).toString('hex');
  const v2Hex = Buffer.from(V2).toString('hex');
  assert.deepEqual(
    heard.map((h) => `${h.hash === v1Hex ? 'v1' : h.hash === v2Hex ? 'v2' : h.hash} ${h.event}`).sort(),
    ['v1 started', 'v1 stopped', 'v2 started', 'v2 stopped'],
  );
});
