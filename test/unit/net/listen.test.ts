/**
 * The listening socket (src/net/listen.ts): closing it ends every connection it accepted, adopted
 * by a peer machine or not. `server.close()` alone waits for them: a peer that dialled in as a
 * download finished, turned away by the torrent machine, held the process's exit until it gave up
 * (seen in the suite's 500-connection part: 24 s instead of 4). A port its `accept` check refuses
 * (session-ports.ts: its UDP number held) is let go, with whoever connected meanwhile, and the
 * search is bounded: port 0 asked for ANY_PORT_TRIES times.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { ANY_PORT_TRIES, listenForPeers } from '../../../src/net/listen.js';
import { getFreePorts } from '../../interop/harness/ports.js';

/** Whether `p` settles within `ms` (the test then stops waiting, and cleans up either way). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

test('close() ends the connections it accepted, even those nobody took', { timeout: 60_000 }, async () => {
  const listener = await listenForPeers({ port: 0, host: '127.0.0.1' });
  const accepted: Socket[] = [];
  const sub = listener.connections$.subscribe((s) => accepted.push(s));
  const client = connect(listener.port, '127.0.0.1');
  try {
    await once(client, 'connect');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const clientClosed = once(client, 'close');
    assert.ok(await settlesWithin(listener.close(), 30_000), 'closed without waiting for the peer');
    await clientClosed;
    assert.equal(accepted[0]?.destroyed, true);
  } finally {
    sub.unsubscribe();
    client.destroy();
  }
});

test('a connection accepted before anyone subscribed is ended too', { timeout: 60_000 }, async () => {
  const listener = await listenForPeers({ port: 0, host: '127.0.0.1' });
  const client = connect(listener.port, '127.0.0.1');
  try {
    await once(client, 'connect');
    const clientClosed = once(client, 'close');
    assert.ok(await settlesWithin(listener.close(), 30_000), 'closed without waiting for the peer');
    await clientClosed;
  } finally {
    client.destroy();
  }
});

/** Whether a TCP listener binds `port` on 127.0.0.1 now (let go at once). */
function bindsTcp(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test('every port the accept check refuses is let go, with the connection that came meanwhile; then an error naming them', {
  timeout: 60_000,
}, async () => {
  const ports = await getFreePorts(3);
  const asked: number[] = [];
  const closed: Promise<unknown>[] = [];
  const listening = listenForPeers({
    host: '127.0.0.1',
    candidates: ports,
    accept: async (port) => {
      asked.push(port);
      // A peer dials in while the check runs: closed with the port.
      const client = connect(port, '127.0.0.1');
      client.on('error', () => {});
      closed.push(once(client, 'close'));
      await once(client, 'connect');
      return false;
    },
  });
  await assert.rejects(listening, /no free port for both TCP and UDP in /);
  assert.deepEqual(asked, ports);
  assert.ok(await settlesWithin(Promise.all(closed), 30_000), 'every connection that came in was closed');
  for (const p of ports) assert.equal(await bindsTcp(p), true, `port ${p} let go`);
});

test('port 0 with an accept check: the system asked ANY_PORT_TRIES times, no more, each port let go', {
  timeout: 60_000,
}, async () => {
  const asked: number[] = [];
  await assert.rejects(
    listenForPeers({
      port: 0,
      host: '127.0.0.1',
      accept: async (port) => {
        asked.push(port);
        return false;
      },
    }),
    new RegExp(`no port free for both TCP and UDP in ${ANY_PORT_TRIES} tries`),
  );
  assert.equal(asked.length, ANY_PORT_TRIES);
  for (const p of asked) assert.equal(await bindsTcp(p), true, `port ${p} let go`);
});
