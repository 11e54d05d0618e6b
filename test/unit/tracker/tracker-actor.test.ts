import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createActor, createMachine, sendTo } from 'xstate';
import type { TrackerCommand, TrackerReport } from '../../../machines/tracker.machine.js';
import { bencode } from '../../../src/metainfo/bencode.js';
import { trackerActor } from '../../../src/tracker/tracker-actor.js';

test('the provided machine announces over real HTTP with live stats, then says stopped', async (t) => {
  const queries: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    queries.push(new URL(req.url ?? '', 'http://x').searchParams);
    res.end(bencode({ interval: 1800, peers: Uint8Array.from([127, 0, 0, 1, 0x1a, 0xe1]) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;

  let stats = { uploaded: 0, downloaded: 0, left: 1000 };
  const reports: TrackerReport[] = [];
  const parent = createMachine({
    types: {} as { events: TrackerReport | { type: 'fwd'; cmd: TrackerCommand } },
    invoke: {
      id: 'tracker',
      src: trackerActor({ stats: () => stats, timeoutMs: 2000 }),
      input: {
        url: `http://127.0.0.1:${port}/announce`,
        infoHash: new Uint8Array(20),
        peerId: new Uint8Array(20),
        port: 6881,
      },
    },
    on: {
      fwd: { actions: sendTo('tracker', ({ event }) => event.cmd) },
      'tracker.announced': { actions: ({ event }) => reports.push(event) },
      'tracker.peers': { actions: ({ event }) => reports.push(event) },
      'tracker.failed': { actions: ({ event }) => reports.push(event) },
    },
  });
  const actor = createActor(parent).start();
  const until = async (cond: () => boolean) => {
    const end = Date.now() + 3000;
    while (!cond()) {
      assert.ok(Date.now() < end, 'timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    actor.send({ type: 'fwd', cmd: { type: 'cmd.start' } });
    await until(() => reports.length === 2);
    assert.deepEqual(reports[1], {
      type: 'tracker.peers',
      url: `http://127.0.0.1:${port}/announce`,
      peers: [{ host: '127.0.0.1', port: 6881 }],
    });
    stats = { uploaded: 5, downloaded: 1000, left: 0 };
    actor.send({ type: 'fwd', cmd: { type: 'cmd.stop' } });
    await until(() => queries.length === 2);
    assert.deepEqual(
      queries.map((q) => [q.get('event'), q.get('left'), q.get('downloaded'), q.get('uploaded')]),
      [
        ['started', '1000', '0', '0'],
        ['stopped', '0', '1000', '5'],
      ],
    );
  } finally {
    actor.stop();
  }
});
