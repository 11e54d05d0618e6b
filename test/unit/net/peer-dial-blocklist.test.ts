/**
 * The IP filter on a dial to a host name (a `--peer` or a tracker's dictionary peer may name one):
 * the torrent machine's guard sees only the name, so the dial itself refuses a name that resolves
 * to a blocked address, before any connection is made (filtered-lookup.ts, as peer-dial.ts uses it).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { PeerDial } from '../../../src/net/peer-dial.js';

const only = (host: string) => IpRangeSet.fromRanges([ipv4Number(host)!], [ipv4Number(host)!]);

/** A server on 127.0.0.1 counting the connections it is given, and the dial's outcome. */
async function dialLocalhost(blocklist: IpRangeSet | undefined, t: { after(fn: () => void): void }) {
  const server = createServer();
  let accepted = 0;
  server.on('connection', (s) => {
    accepted++;
    s.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const dial = new PeerDial({ address: `localhost:${port}`, blocklist });
  const outcome = new Promise<string>((resolve) => {
    const s = dial.open(
      () => {},
      undefined,
      () => {
        resolve('connected');
        s.destroy();
      },
    );
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
  });
  return { outcome: await outcome, accepted: () => accepted };
}

test('a dial to a host name resolving to a blocked address fails before connecting', async (t) => {
  const { outcome, accepted } = await dialLocalhost(only('127.0.0.1'), t);
  assert.equal(outcome, 'error blocked');
  assert.equal(accepted(), 0);
});

test('a dial to a host name resolving to an allowed address connects', async (t) => {
  const { outcome } = await dialLocalhost(only('127.0.0.2'), t);
  assert.equal(outcome, 'connected');
});
