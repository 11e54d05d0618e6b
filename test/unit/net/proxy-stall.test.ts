/**
 * A proxy that takes our TCP connection and never answers (src/net/proxy-dialer.ts,
 * proxied-agent.ts): an HTTP request through it still ends - a tracker's scrape at its own
 * timeout, a tunnel at its connect timeout, a pending tunnel when its agent is destroyed (a web
 * seed's connection closing) - and the connection to the proxy is closed, not left open. A proxy
 * that drips its reply a byte at a time does not hold a dial past its connect timeout either.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { proxiedAgent } from '../../../src/net/proxied-agent.js';
import { parseProxyUrl } from '../../../src/net/proxy.js';
import { ProxyDialer } from '../../../src/net/proxy-dialer.js';
import { scrape } from '../../../src/tracker/scrape.js';
import { TrackerError } from '../../../src/tracker/tracker-error.js';

/** A proxy that accepts and says nothing; `closed` resolves when we close its first connection. */
async function silentProxy(): Promise<{ server: Server; port: number; closed: Promise<void> }> {
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.resume(); // read (and drop) what we send, so that our close is seen
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      onClosed();
    });
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port, closed };
}

for (const scheme of ['socks5h', 'http'] as const) {
  test(`${scheme}: a scrape through a silent proxy fails at its own timeout and closes the tunnel`, {
    timeout: 20_000,
  }, async (t) => {
    const proxy = await silentProxy();
    t.after(() => proxy.server.close());
    const dialer = new ProxyDialer(parseProxyUrl(`${scheme}://127.0.0.1:${proxy.port}`));
    await assert.rejects(
      scrape('http://tracker.invalid:6969/announce', [new Uint8Array(20)], { timeoutMs: 200, proxy: dialer }),
      (e: unknown) => e instanceof TrackerError && e.code === 'timeout',
    );
    await proxy.closed;
  });
}

test('a tunnel the proxy never answers fails at the connect timeout, its socket closed', {
  timeout: 20_000,
}, async (t) => {
  const proxy = await silentProxy();
  t.after(() => proxy.server.close());
  const dialer = new ProxyDialer(parseProxyUrl(`socks5h://127.0.0.1:${proxy.port}`), {
    connectTimeoutMs: 100,
  });
  const err = await new Promise<Error | null>((resolve) => dialer.tunnel('seed.invalid', 80, resolve));
  assert.equal(err?.message, 'connect timeout');
  await proxy.closed;
});

test('a GET waiting for its tunnel ends when the agent is destroyed (a web seed closing)', {
  timeout: 20_000,
}, async (t) => {
  const proxy = await silentProxy();
  t.after(() => proxy.server.close());
  const agent = proxiedAgent(new ProxyDialer(parseProxyUrl(`http://127.0.0.1:${proxy.port}`)), false, {
    keepAlive: true,
    maxSockets: 1,
  });
  const req = request('http://seed.invalid/file', { agent });
  const failed = new Promise<Error>((resolve) => req.on('error', resolve));
  req.end();
  // The proxy has our connection (its CONNECT written): then the seed's connection closes.
  const connected = new Promise<void>((resolve) => proxy.server.once('connection', () => resolve()));
  await connected;
  agent.destroy();
  assert.ok((await failed) instanceof Error);
  await proxy.closed;
});

test('a proxy that drips its reply a byte at a time does not outlast the connect timeout', {
  timeout: 20_000,
}, async (t) => {
  // An HTTP CONNECT answer whose head never ends, one byte every 20 ms: the socket is never idle.
  const drips = new Set<NodeJS.Timeout>();
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  const server = createServer((s) => {
    s.resume();
    s.on('error', () => {});
    s.write('HTTP/1.1 200 OK\r\nX-Slow: ');
    const drip = setInterval(() => s.write('a'), 20);
    drips.add(drip);
    s.on('close', () => {
      clearInterval(drip);
      onClosed();
    });
  });
  t.after(() => {
    for (const d of drips) clearInterval(d);
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const dialer = new ProxyDialer(parseProxyUrl(`http://127.0.0.1:${address.port}`), {
    connectTimeoutMs: 200,
  });
  const err = await new Promise<Error | null>((resolve) => dialer.tunnel('seed.invalid', 80, resolve));
  assert.equal(err?.message, 'connect timeout');
  await closed;
});
