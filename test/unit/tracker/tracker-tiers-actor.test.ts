/**
 * The multitracker machine with the real clients (trackerTiersActor) against real local servers
 * (issue #6): a first tier that is dead — a closed UDP port, a closed TCP port, an HTTP tracker
 * answering 500 — and a second tier with a tracker that refuses the torrent and a UDP tracker that
 * works. Peers arrive from the working one, it is remembered at the front of its tier, and the
 * stopped announce goes to it.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { assign, createActor, createMachine, sendTo } from 'xstate';
import type { TrackerCommand, TrackerReport } from '../../../machines/tracker.machine.js';
import type { TrackerTiersInput, TrackerTiersOutput } from '../../../machines/tracker-tiers.machine.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { trackerTiersActor } from '../../../src/tracker/tracker-tiers-actor.js';
import { getFreePort } from '../../interop/harness/ports.js';
import { startFakeUdpTracker } from './fake-udp-tracker.js';

/** Ports nobody listens on, below the ephemeral range (no other process's socket comes to hold them). */
const closedUdpPort = getFreePort;
const closedTcpPort = getFreePort;

async function httpTracker(answer: (res: ServerResponse) => void) {
  const server = createServer((_req, res) => answer(res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/announce`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** An HTTP announce's info_hash (its raw bytes) and event ('regular' when it names none). */
function announced(req: IncomingMessage): { bytes: Buffer; event: string } {
  const query = (req.url ?? '').split('?')[1] ?? '';
  const raw = /(?:^|&)info_hash=([^&]*)/.exec(query)?.[1] ?? '';
  // Percent-encoded raw bytes (BEP 3): each %XX one byte, any other character itself.
  const bytes = Buffer.from(
    raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  );
  return { bytes, event: /(?:^|&)event=([^&]*)/.exec(query)?.[1] ?? 'regular' };
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

/** A hybrid (BEP 52) in two swarms: V1 its SHA-1 info-hash, V2 its v2 swarm's. */
const V1 = new Uint8Array(20).fill(0x31);
const V2 = new Uint8Array(20).fill(0x32);

/** One 127.0.0.1 peer at `port`, compact (BEP 23). */
const compact = (port: number) => Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]);

/** The tiers input of a hybrid announced to the one tracker at `url`. */
function hybridInput(url: string): TrackerTiersInput {
  return {
    tiers: [[url]],
    infoHash: V1,
    otherInfoHash: V2,
    peerId: new Uint8Array(20).fill(4),
    port: 6881,
    seed: 1,
  };
}

test("a hybrid (BEP 52) is announced under both its hashes; the v2 swarm's peers come said apart", async (t) => {
  /** Each announce's info_hash (raw bytes, hex) and event, in arrival order. */
  const heard: { hash: string; event: string }[] = [];
  const tracker = createServer((req, res) => {
    const { bytes, event } = announced(req);
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
    hybridInput(url),
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
  assert.deepEqual(
    reports
      .filter((r) => r.type === 'tracker.announced')
      .map((r) => r.swarm ?? 'v1')
      .sort(),
    ['v1', 'v2'],
    "each swarm's answer reported on its own",
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

test("a hybrid's v1 peers are reported while its v2 announce is still held, and the v2 peers when it lands", async (t) => {
  /** What happened, in order: the test's own steps and the tracker's. */
  const log: string[] = [];
  let held: ServerResponse | undefined;
  const tracker = createServer((req, res) => {
    const { bytes, event } = announced(req);
    const swarm = bytes.equals(Buffer.from(V2)) ? 'v2' : 'v1';
    log.push(`${swarm} ${event} asked`);
    if (swarm === 'v2' && event === 'started') {
      held = res; // answered only when the test says so
      req.on('close', () => {
        if (!res.writableEnded) log.push('v2 started closed unanswered');
      });
      return;
    }
    res.end(bencode({ interval: 1800, peers: compact(swarm === 'v2' ? 7002 : 7001) }));
  });
  await new Promise<void>((ok) => tracker.listen(0, '127.0.0.1', ok));
  t.after(() => {
    held?.destroy();
    return new Promise<void>((ok) => tracker.close(() => ok()));
  });
  const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`;

  const { actor, reports, until } = startTiers(
    t,
    // Bounds far above the test's own wait: the held request can only end by the test's release.
    trackerTiersActor({ stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }), timeoutMs: 60_000 }),
    hybridInput(url),
  );
  actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
  await until('the v1 peers', () => reports.some((r) => r.type === 'tracker.peers'));
  await until('the v2 announce at the tracker', () => held !== undefined);
  log.push('test saw the v1 peers');
  assert.equal(held?.writableEnded, false, 'the v2 announce is still held');
  assert.deepEqual(reports, [
    { type: 'tracker.announced', url, event: 'started', interval: 1800, peerCount: 1 },
    { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7001 }] },
  ]);

  log.push('test releases v2');
  held?.end(bencode({ interval: 1800, peers: compact(7002) }));
  await until('the v2 peers', () => reports.length === 4);
  assert.deepEqual(reports.slice(2), [
    { type: 'tracker.announced', url, event: 'started', interval: 1800, peerCount: 1, swarm: 'v2' },
    { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7002 }], swarm: 'v2' },
  ]);

  actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
  await until('the end', () => actor.getSnapshot().context.output !== undefined);
  assert.deepEqual(actor.getSnapshot().context.output, { stop: 'announced', working: url });
  const stops = log.filter((l) => l.endsWith('stopped asked')).sort();
  assert.deepEqual(stops, ['v1 stopped asked', 'v2 stopped asked'], 'stopped goes to both swarms');
  assert.deepEqual(log.filter((l) => !l.endsWith('stopped asked')).sort(), [
    'test releases v2',
    'test saw the v1 peers',
    'v1 started asked',
    'v2 started asked',
  ]);
  assert.ok(
    log.indexOf('test saw the v1 peers') < log.indexOf('test releases v2'),
    'the v1 peers came before the v2 announce was answered',
  );
});

test("a hybrid's announce works if either swarm answers: v2 failing leaves v1 alone, v1 failing is no failure while v2 answers", async (t) => {
  for (const failing of ['v1', 'v2'] as const) {
    const tracker = createServer((req, res) => {
      const swarm = announced(req).bytes.equals(Buffer.from(V2)) ? 'v2' : 'v1';
      if (swarm === failing) res.end(bencode({ 'failure reason': `not in the ${swarm} swarm` }));
      else
        res.end(
          bencode({ interval: swarm === 'v2' ? 900 : 1800, peers: compact(swarm === 'v2' ? 7002 : 7001) }),
        );
    });
    await new Promise<void>((ok) => tracker.listen(0, '127.0.0.1', ok));
    t.after(() => new Promise<void>((ok) => tracker.close(() => ok())));
    const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`;
    const { actor, reports, until } = startTiers(
      t,
      trackerTiersActor({ stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }), timeoutMs: 60_000 }),
      hybridInput(url),
    );
    actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
    await until(`the announce (${failing} failing)`, () =>
      reports.some((r) => r.type === 'tracker.announced'),
    );
    // The one answer there is: reported once, never a failure of the tracker.
    await until("the answering swarm's peers", () => reports.some((r) => r.type === 'tracker.peers'));
    actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
    await until('the end', () => actor.getSnapshot().context.output !== undefined);
    // In whichever order they came: the answering swarm's report (its figures) and its peers.
    const byType = (rs: readonly TrackerReport[]) => [...rs].sort((a, b) => a.type.localeCompare(b.type));
    assert.deepEqual(
      byType(reports),
      failing === 'v2'
        ? [
            { type: 'tracker.announced', url, event: 'started', interval: 1800, peerCount: 1 },
            { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7001 }] },
          ]
        : [
            { type: 'tracker.announced', url, event: 'started', interval: 900, peerCount: 1, swarm: 'v2' },
            { type: 'tracker.peers', url, peers: [{ host: '127.0.0.1', port: 7002 }], swarm: 'v2' },
          ],
      `${failing} failing`,
    );
  }
});

test('a hybrid over UDP (BEP 15): the v1 peers come while every v2 announce is dropped; the v2 peers once answered', async (t) => {
  const v2Hex = Buffer.from(V2).toString('hex');
  /** What happened, in order: the test's own steps and the tracker's. */
  const log: string[] = [];
  let answerV2 = false;
  const udp = await startFakeUdpTracker({
    peers: (hash) => [{ host: '127.0.0.1', port: hash === v2Hex ? 7002 : 7001 }],
    fate: (q) => {
      if (q.action !== 1 || q.infoHash !== v2Hex) return { kind: 'answer' };
      log.push(answerV2 ? 'v2 announce answered' : 'v2 announce dropped');
      return answerV2 ? { kind: 'answer' } : { kind: 'drop' };
    },
  });
  t.after(() => udp.close());
  const { actor, reports, until } = startTiers(
    t,
    trackerTiersActor({
      stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
      // The whole request's bound far above the test's wait; each dropped send is sent again soon.
      udpTimeoutMs: 60_000,
      udpOptions: { retryBaseMs: 20, maxRetries: 8 },
    }),
    hybridInput(udp.url),
  );
  actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
  await until('the v1 peers', () => reports.some((r) => r.type === 'tracker.peers'));
  await until('a dropped v2 announce', () => log.includes('v2 announce dropped'));
  log.push('test saw the v1 peers');
  assert.deepEqual(reports, [
    {
      type: 'tracker.announced',
      url: udp.url,
      event: 'started',
      interval: 1800,
      peerCount: 1,
      complete: 5,
      incomplete: 3,
    },
    { type: 'tracker.peers', url: udp.url, peers: [{ host: '127.0.0.1', port: 7001 }] },
  ]);
  answerV2 = true;
  await until('the v2 peers', () => reports.length === 4);
  assert.deepEqual(reports[3], {
    type: 'tracker.peers',
    url: udp.url,
    peers: [{ host: '127.0.0.1', port: 7002 }],
    swarm: 'v2',
  });
  assert.equal(
    reports[2]?.type === 'tracker.announced' && reports[2].swarm,
    'v2',
    "the v2 answer's own report",
  );
  assert.ok(
    log.indexOf('test saw the v1 peers') < log.indexOf('v2 announce answered'),
    `the v1 peers came before any v2 announce was answered: ${log.join(', ')}`,
  );
  actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
  await until('the end', () => actor.getSnapshot().context.output !== undefined);
  // The swarms, not the datagrams: a stopped announce not answered within retryBaseMs (20 ms) is
  // sent again, as BEP 15 says (at load 20 the v1 one came twice).
  assert.deepEqual(
    [
      ...new Set(
        udp.received
          .filter((q) => q.action === 1 && q.event === 3)
          .map((q) => (q.infoHash === v2Hex ? 'v2' : 'v1')),
      ),
    ].sort(),
    ['v1', 'v2'],
    'stopped (BEP 15 event 3) in both swarms',
  );
});
