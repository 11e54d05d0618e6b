/**
 * The IP filter on trackers (libtorrent's apply_ip_filter_to_trackers, on by default): an http(s)
 * or udp tracker whose address is blocked, or whose name resolves only to blocked addresses, or
 * that redirects to a blocked address, is never contacted — its server counts no request — and the
 * announce fails with TrackerError `blocked` (docs/blocklist.md). Loopback: every 127.x.y.z is local.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { IpRangeSet, ipv4Number } from '../../../src/net/ip-range-set.js';
import { announceAny } from '../../../src/tracker/announce-any.js';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import { startFakeUdpTracker } from './fake-udp-tracker.js';

const only = (host: string) => IpRangeSet.fromRanges([ipv4Number(host)!], [ipv4Number(host)!]);

const params: AnnounceParams = {
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
  numwant: 50,
};

/** An HTTP tracker on `host` answering every request with `handler` (or no peers); counts them. */
async function httpTracker(
  t: TestContext,
  host: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (handler !== undefined) return handler(req, res);
    res.end('d8:intervali1800e5:peers0:e');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, requests: () => requests };
}

const isBlocked = (e: unknown) =>
  e instanceof TrackerError && e.code === 'blocked' && /IP filter/.test(e.message);

test('an http tracker at a blocked address is never contacted', async (t) => {
  const tracker = await httpTracker(t, '127.0.0.2');
  const url = `http://127.0.0.2:${tracker.port}/announce`;
  await assert.rejects(announceAny(url, params, { blocklist: only('127.0.0.2') }), isBlocked);
  assert.equal(tracker.requests(), 0);
  // The same tracker unfiltered answers: the refusal was the filter's.
  await announceAny(url, params, { blocklist: only('127.0.0.3') });
  assert.equal(tracker.requests(), 1);
});

test('an http tracker whose name resolves to a blocked address is never contacted', async (t) => {
  const tracker = await httpTracker(t, '127.0.0.1');
  const url = `http://localhost:${tracker.port}/announce`;
  await assert.rejects(announceAny(url, params, { blocklist: only('127.0.0.1') }), isBlocked);
  assert.equal(tracker.requests(), 0);
});

test('a redirect to a blocked address is not followed', async (t) => {
  const blocked = await httpTracker(t, '127.0.0.2');
  const moving = await httpTracker(t, '127.0.0.1', (_req, res) => {
    res.writeHead(302, { location: `http://127.0.0.2:${blocked.port}/announce` });
    res.end();
  });
  await assert.rejects(
    announceAny(`http://127.0.0.1:${moving.port}/announce`, params, { blocklist: only('127.0.0.2') }),
    isBlocked,
  );
  assert.equal(moving.requests(), 1);
  assert.equal(blocked.requests(), 0);
});

test('a udp tracker at a blocked address, or named by a name resolving to one, is sent no datagram', async (t) => {
  const tracker = await startFakeUdpTracker({ peers: [], host: '127.0.0.2' });
  t.after(() => tracker.close());
  await assert.rejects(
    announceAny(tracker.url, params, { blocklist: only('127.0.0.2'), udp: { retryBaseMs: 50 } }),
    isBlocked,
  );
  assert.equal(tracker.received.length, 0);

  const local = await startFakeUdpTracker({ peers: [] });
  t.after(() => local.close());
  const byName = local.url.replace('127.0.0.1', 'localhost');
  await assert.rejects(
    announceAny(byName, params, { blocklist: only('127.0.0.1'), udp: { retryBaseMs: 50 } }),
    isBlocked,
  );
  assert.equal(local.received.length, 0);
  // Unfiltered, the same name is answered: the refusal was the filter's.
  await announceAny(byName, params, { blocklist: only('127.0.0.3'), udp: { retryBaseMs: 50 } });
  assert.ok(local.received.length > 0);
});
