import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { test } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { MAX_DRAIN_MS } from '../../../src/net/follow-redirects.js';
import type { AnnounceParams } from '../../../src/tracker/announce-types.js';
import { announce, MAX_TRACKER_BODY_BYTES } from '../../../src/tracker/http-announce.js';
import { MAX_TRACKER_TOKENS } from '../../../src/tracker/parse-announce-response.js';
import { MAX_ANNOUNCE_PEERS } from '../../../src/tracker/peer-collector.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';
import { within } from '../../helpers/temp-dir.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A tracker on 127.0.0.1 for the duration of the test; records each request's raw URL. */
async function tracker(t: { after(fn: () => Promise<void>): void }, handler: Handler) {
  const urls: string[] = [];
  const server = createServer((req, res) => {
    urls.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, urls };
}

const send =
  (body: Uint8Array | string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };

const te = (s: string) => new TextEncoder().encode(s);

// A hash with the bytes percent-encoding gets wrong most often: 0x00, ' ', 0xff, '~', '%', '+', '/'.
const infoHash = Uint8Array.from([
  0x00, 0x20, 0xff, 0x7e, 0x25, 0x2b, 0x2f, 0x41, 0x7a, 0x30, 0x2d, 0x2e, 0x5f, 0x80, 0x3f, 0x26, 0x3d, 0x23,
  0x01, 0x7f,
]);
const peerId = te('-BS0100-abc~def.g_h-');
const params: AnnounceParams = {
  infoHash,
  peerId,
  port: 6881,
  uploaded: 0,
  downloaded: 1234,
  left: 5678,
  event: 'started',
  numwant: 50,
  key: 'k3y',
};

test('query string: raw-byte percent-encoding, every BEP 3 parameter, the URL own query kept', async (t) => {
  const { base, urls } = await tracker(t, send(bencode({ interval: 1800, peers: new Uint8Array(0) })));
  await announce(`${base}/announce?passkey=xyz`, params);
  assert.equal(
    urls[0],
    '/announce?passkey=xyz&info_hash=%00%20%FF~%25%2B%2FAz0-._%80%3F%26%3D%23%01%7F' +
      '&peer_id=-BS0100-abc~def.g_h-&port=6881&uploaded=0&downloaded=1234&left=5678&compact=1' +
      '&numwant=50&event=started&key=k3y',
  );
  await announce(`${base}/announce`, { ...params, event: 'regular', numwant: undefined, trackerId: 'T 1' });
  assert.match(urls[1]!, /^\/announce\?info_hash=.*&compact=1&key=k3y&trackerid=T%201$/);
  assert.doesNotMatch(urls[1]!, /event=/);
});

test('compact peers (BEP 23), peers6 (BEP 7), counts, min interval, tracker id, warning', async (t) => {
  const peers = Uint8Array.from([127, 0, 0, 1, 0x1a, 0xe1, 10, 1, 2, 3, 0, 80, 9, 9, 9, 9, 0, 0]);
  const peers6 = new Uint8Array(36);
  peers6[15] = 1; // ::1
  peers6.set([0x1a, 0xe2], 16);
  peers6.set([0x20, 0x01, 0x0d, 0xb8], 18); // 2001:db8::ff:1
  peers6.set([0x00, 0xff, 0x00, 0x01], 30);
  peers6.set([0xc3, 0x50], 34);
  const body = bencode({
    interval: 1800,
    'min interval': 900,
    complete: 3,
    incomplete: 7,
    'tracker id': 'tid',
    'warning message': 'be nice',
    peers,
    peers6,
  });
  const { base } = await tracker(t, send(body));
  assert.deepEqual(await announce(`${base}/announce`, params), {
    interval: 1800,
    minInterval: 900,
    complete: 3,
    incomplete: 7,
    trackerId: 'tid',
    warning: 'be nice',
    peers: [
      { host: '127.0.0.1', port: 6881 },
      { host: '10.1.2.3', port: 80 },
      { host: '::1', port: 6882 },
      { host: '2001:db8::ff:1', port: 50000 },
    ],
  });
});

test('dictionary-model peers with and without peer id', async (t) => {
  const id = te('-XX0001-123456789012');
  const body = bencode({
    interval: 60,
    peers: [
      { ip: '192.168.0.9', port: 51413, 'peer id': id },
      { ip: 'fe80::1', port: 6881 },
      { ip: 'x', port: 0 },
    ],
  });
  const { base } = await tracker(t, send(body));
  const r = await announce(`${base}/announce`, params);
  assert.deepEqual(r.peers, [
    { host: '192.168.0.9', port: 51413, peerId: id },
    { host: 'fe80::1', port: 6881 },
  ]);
});

const isTrackerError = (code: string, message?: RegExp) => (e: unknown) =>
  e instanceof TrackerError && e.code === code && (message === undefined || message.test(e.message));

test('failure reason becomes TrackerError failure with the tracker message (status 200 or 4xx)', async (t) => {
  const { base } = await tracker(t, (req, res) =>
    send(bencode({ 'failure reason': 'unregistered torrent' }), req.url?.includes('four') ? 400 : 200)(
      req,
      res,
    ),
  );
  await assert.rejects(
    announce(`${base}/announce`, params),
    isTrackerError('failure', /^unregistered torrent$/),
  );
  await assert.rejects(announce(`${base}/four`, params), isTrackerError('failure', /unregistered/));
});

test('garbage and wrong shapes are badResponse; a plain 404 is httpStatus', async (t) => {
  const bodies: Record<string, Uint8Array | string> = {
    '/html': '<html>not a tracker</html>',
    '/trailing': `${new TextDecoder().decode(bencode({ interval: 5 }))}xx`,
    '/list': 'le',
    '/nointerval': bencode({ peers: new Uint8Array(0) }),
    '/negative': 'd8:intervali-5ee',
    '/peers7': bencode({ interval: 5, peers: new Uint8Array(7) }),
    '/peers6bad': bencode({ interval: 5, peers6: new Uint8Array(17) }),
    '/peersint': bencode({ interval: 5, peers: 3 }),
    '/peerdict': bencode({ interval: 5, peers: [{ port: 1 }] }),
    '/empty': '',
  };
  const { base } = await tracker(t, (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path === '/missing') return send('not found', 404)(req, res);
    send(bodies[path]!)(req, res);
  });
  for (const path of Object.keys(bodies))
    await assert.rejects(announce(`${base}${path}`, params), isTrackerError('badResponse'), path);
  await assert.rejects(
    announce(`${base}/missing`, params),
    (e: unknown) => isTrackerError('httpStatus')(e) && (e as TrackerError).status === 404,
  );
});

// A runner timeout guards against a hang (a tracker that never answers, waited for without end);
// the request itself ends in 200 ms.
test('an oversized body is refused (declared or streamed); a slow tracker times out', {
  timeout: 120_000,
}, async (t) => {
  const { base } = await tracker(t, (req, res) => {
    if (req.url?.startsWith('/declared')) {
      res.writeHead(200, { 'content-length': String(MAX_TRACKER_BODY_BYTES + 1) });
      res.write('d');
      return; // never finished: the client must not wait for it
    }
    if (req.url?.startsWith('/streamed')) {
      res.writeHead(200); // chunked, no length
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent <= MAX_TRACKER_BODY_BYTES && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed && sent <= MAX_TRACKER_BODY_BYTES) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (req.url?.startsWith('/slow')) return; // never answers
  });
  await assert.rejects(announce(`${base}/declared`, params), isTrackerError('tooLarge'));
  await assert.rejects(announce(`${base}/streamed`, params), isTrackerError('tooLarge'));
  // Ended by the timeoutMs given, not by the 15 s default (DEFAULT_TRACKER_TIMEOUT_MS).
  await assert.rejects(
    announce(`${base}/slow`, params, { timeoutMs: 200 }),
    (e: unknown) => isTrackerError('timeout', /within 200 ms$/)(e) && (e as TrackerError).limit === 200,
  );
});

test('abort, refused connection, redirects, bad URLs', async (t) => {
  const { base } = await tracker(t, (req, res) => {
    if (req.url?.startsWith('/hop')) {
      res.writeHead(302, { location: `/announce?${(req.url ?? '').split('?')[1]}` });
      return res.end();
    }
    if (req.url?.startsWith('/loop')) {
      res.writeHead(301, { location: '/loop' });
      return res.end();
    }
    if (req.url?.startsWith('/udp')) {
      res.writeHead(302, { location: 'udp://127.0.0.1:1/announce' });
      return res.end();
    }
    if (req.url?.startsWith('/announce')) return send(bencode({ interval: 42 }))(req, res);
  });
  assert.equal((await announce(`${base}/hop`, params)).interval, 42);
  await assert.rejects(announce(`${base}/loop`, params), isTrackerError('redirect'));
  await assert.rejects(announce(`${base}/udp`, params), isTrackerError('redirect'));
  const ac = new AbortController();
  const pending = announce(`${base}/never`, params, { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(pending, isTrackerError('aborted'));
  await assert.rejects(announce('http://127.0.0.1:1/announce', params), isTrackerError('network'));
  await assert.rejects(
    announce('udp://tracker.example:80', params),
    (e: unknown) => isTrackerError('badUrl')(e) && (e as TrackerError).badInput,
  );
  await assert.rejects(announce('not a url', params), isTrackerError('badUrl'));
});

test("a redirect's endless body is cut with its socket, not drained after the announce (follow-redirects.ts)", async (t) => {
  let redirectBytes = 0;
  let redirectClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    redirectClosed = resolve;
  });
  const { base } = await tracker(t, (req, res) => {
    if (req.url?.startsWith('/announce')) return send(bencode({ interval: 42 }))(req, res);
    // 302 to the announce, then a body that never ends (no length: chunked).
    res.writeHead(302, { location: `/announce?${(req.url ?? '').split('?')[1]}` });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const more = () => {
      while (!res.destroyed && res.write(chunk)) redirectBytes += chunk.length;
    };
    res.on('drain', more);
    res.on('close', redirectClosed);
    more();
  });
  assert.equal((await announce(`${base}/moved`, params)).interval, 42);
  // Drained, the body would keep its socket reading for as long as the server writes.
  await within(60_000, closed, 'the redirect response closed');
  assert.ok(redirectBytes < 64 * 1024 * 1024, `${redirectBytes} bytes of the redirect's body`);
});

test("a redirect's short body that never comes is cut after MAX_DRAIN_MS, not left holding its socket (follow-redirects.ts)", async (t) => {
  let redirectClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    redirectClosed = resolve;
  });
  const { base } = await tracker(t, (req, res) => {
    if (req.url?.startsWith('/announce')) return send(bencode({ interval: 42 }))(req, res);
    // A Content-Length short enough to be drained, and not one byte of it: the response never ends.
    res.writeHead(302, { location: `/announce?${(req.url ?? '').split('?')[1]}`, 'content-length': '10' });
    res.flushHeaders();
    res.on('close', redirectClosed);
  });
  assert.equal((await announce(`${base}/moved`, params)).interval, 42);
  // The announce's timer is cleared once it has its answer: only the drain's own deadline ends it.
  await within(MAX_DRAIN_MS + 5_000, closed, 'the redirect response closed');
});

test('1 MiB of compact peers (174,760: repeats, port 0, multicast, broadcast): at most MAX_ANNOUNCE_PEERS distinct dialable ones', async (t) => {
  const n = Math.floor((MAX_TRACKER_BODY_BYTES - 100) / 6);
  const compact = new Uint8Array(n * 6);
  const view = new DataView(compact.buffer);
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    // 127.0.0.1:6881 again and again; 0.0.0.0; 255.255.255.255; 224.0.0.1; then 10.x.y.z, port 0 now and then.
    const ip =
      kind === 0
        ? 0x7f000001
        : kind === 1
          ? 0
          : kind === 2
            ? 0xffffffff
            : kind === 3
              ? 0xe0000001
              : 0x0a000000 + i;
    view.setUint32(i * 6, ip);
    view.setUint16(i * 6 + 4, kind === 4 && i % 3 === 0 ? 0 : 6881);
  }
  const body = bencode({ interval: 1800, peers: compact });
  assert.ok(body.length <= MAX_TRACKER_BODY_BYTES);
  const { base } = await tracker(t, send(body));
  const r = await announce(`${base}/announce`, params);
  assert.equal(r.peers.length, MAX_ANNOUNCE_PEERS);
  assert.equal(new Set(r.peers.map((p) => `${p.host}:${p.port}`)).size, MAX_ANNOUNCE_PEERS, 'repeats');
  assert.deepEqual(r.peers[0], { host: '127.0.0.1', port: 6881 });
  assert.ok(r.peers.slice(1).every((p) => p.host.startsWith('10.') && p.port === 6881));
});

test('each announce on a fresh connection: a tracker that closes after answering without saying so', async (t) => {
  // Like many small trackers (and HTTP/1.0 servers): an HTTP/1.1 answer with no `Connection: close`,
  // then the socket closed. Node 20's global agent keeps sockets alive and reused the closed one:
  // every second announce failed with "socket hang up", and `stopped` never reached the tracker.
  const body = bencode({ interval: 1800, peers: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1]) });
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    socket.once('data', () => {
      socket.end(
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
      );
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  for (let i = 0; i < 3; i++) {
    const r = await announce(url, params);
    assert.equal(r.peers.length, 1, `announce ${i + 1}`);
  }
  assert.equal(connections, 3);
});

test('1 MiB of tiny values is refused before it is built (MAX_TRACKER_TOKENS)', async (t) => {
  const head = 'd8:intervali1800e5:peersl';
  const body = head + 'le'.repeat((MAX_TRACKER_BODY_BYTES - head.length - 2) >> 1) + 'ee';
  const { base } = await tracker(t, send(body));
  const e = await announce(`${base}/announce`, params).then(
    () => assert.fail('accepted'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof TrackerError && e.code === 'badResponse');
  assert.equal((e.cause as { code?: string }).code, 'bencode-tokens', e.message);
  assert.match(e.message, new RegExp(`more than ${MAX_TRACKER_TOKENS} values`));
});
