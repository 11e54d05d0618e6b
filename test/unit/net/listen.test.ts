/**
 * The listening socket (src/net/listen.ts): closing it ends every connection it accepted, adopted
 * by a peer machine or not. `server.close()` alone waits for them: a peer that dialled in as a
 * download finished, turned away by the torrent machine, held the process's exit until it gave up
 * (seen in the suite's 500-connection part: 24 s instead of 4).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { listenForPeers } from '../../../src/net/listen.js';

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
