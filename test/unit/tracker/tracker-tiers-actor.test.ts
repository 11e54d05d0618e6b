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
import { test } from 'node:test';
import { assign, createActor, createMachine, sendTo } from 'xstate';
import type { TrackerCommand, TrackerReport } from '../../../machines/tracker.machine.js';
import type { TrackerTiersOutput } from '../../../machines/tracker-tiers.machine.js';
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

  const reports: TrackerReport[] = [];
  const parent = createMachine({
    types: {} as {
      events: TrackerReport | { type: 'fwd'; cmd: TrackerCommand };
      context: { output: TrackerTiersOutput | undefined };
    },
    context: { output: undefined },
    invoke: {
      id: 'trackers',
      src: trackerTiersActor({
        stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
        timeoutMs: 2000,
        udpTimeoutMs: 2000,
        udpOptions: { retryBaseMs: 50, maxRetries: 2 },
      }),
      input: {
        tiers: [tier1, tier2],
        infoHash: new Uint8Array(20).fill(3),
        peerId: new Uint8Array(20).fill(4),
        port: 6881,
        seed: 1,
      },
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
