/**
 * A session's UDP port (src/session/session-udp.ts): a magnet fetch's socket (lent to the download)
 * carries the download's uTP only when it is at the listening port's number, where peers dial uTP;
 * the fetch binds before the listener exists, and the listener may land elsewhere.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { lentForUtp, openSessionUdp } from '../../../src/session/session-udp.js';

/** A port number the system gives a TCP listener (as the session's listening port is). */
async function listeningPortNumber(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("a lent socket at the listening port's number carries the download's uTP; elsewhere it does not", async (t) => {
  const lent = await openSessionUdp(0, { utp: true });
  assert.ok(lent !== undefined);
  t.after(() => lent.close());
  assert.equal(lentForUtp(lent, lent.endpoint.port), lent);
  assert.equal(lentForUtp(lent, undefined), lent, 'no listener: nothing to be reached at anyway');
  const elsewhere = await listeningPortNumber();
  assert.notEqual(elsewhere, lent.endpoint.port);
  assert.equal(lentForUtp(lent, elsewhere), undefined, 'uTP would not be where peers dial it');
});

test('a lent socket without uTP (the fetch ran under --utp off) carries none', async (t) => {
  const lent = await openSessionUdp(0, { utp: false });
  assert.ok(lent !== undefined);
  t.after(() => lent.close());
  assert.equal(lent.utp, undefined);
  assert.equal(lentForUtp(lent, lent.endpoint.port), undefined);
  assert.equal(lentForUtp(undefined, 6881), undefined);
});
