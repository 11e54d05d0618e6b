/** The dashboard server on 127.0.0.1: the page, the statecharts, the SSE stream of the model's view. */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { peerMachine } from '../../../machines/peer.machine.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import { DashboardModel } from '../../../src/inspect/dashboard-model.js';
import { MAX_UI_CLIENTS, startDashboard, UI_HZ } from '../../../src/inspect/ui-server.js';

test('serves the page, the machine diagrams and throttled SSE frames only when something changed', async (t) => {
  const model = new DashboardModel();
  const ui = await startDashboard(model, { port: 0, machines: [torrentMachine, peerMachine], title: 'x<y' });
  t.after(() => ui.close());
  assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await (await fetch(ui.url)).text();
  assert.match(page, /<title>x&lt;y<\/title>/);
  assert.match(page, /new EventSource\('\/events'\)/);
  const machines = (await (await fetch(`${ui.url}machines.json`)).json()) as Record<string, { svg: string }>;
  assert.deepEqual(Object.keys(machines), ['torrent', 'peer']);
  assert.match(machines.peer!.svg, /data-state="peer\.connected\.download\.interested\.requesting"/);
  assert.equal((await fetch(`${ui.url}nope`)).status, 404);
  assert.equal(
    (await fetch(`${ui.url}control`, { method: 'POST', body: '{}' })).status,
    404,
    'no controls live',
  );

  const ac = new AbortController();
  const res = await fetch(`${ui.url}events`, { signal: ac.signal });
  const reader = res.body!.getReader();
  const frames: { t: number }[] = [];
  let buf = '';
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += Buffer.from(value).toString();
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          frames.push(JSON.parse(buf.slice(6, i)) as { t: number });
          buf = buf.slice(i + 2);
          i = buf.indexOf('\n\n');
        }
      }
    } catch {}
  })();
  model.apply({ k: 'start', t: 0, version: 1, at: 'now' });
  // Many records within one frame period: one frame carries the last of them.
  for (let i = 1; i <= 100; i++) model.apply({ k: 'end', t: i });
  await new Promise((r) => setTimeout(r, (1000 / UI_HZ) * 3));
  ac.abort();
  await pump;
  assert.equal(frames[0]?.t, 0, 'a frame on connect');
  assert.deepEqual(
    frames.slice(1).map((f) => f.t),
    [100],
    'one frame for the burst, none while nothing changed',
  );
});

/** One raw HTTP request; the status code, or 0 when the server closed without answering. */
function status(port: number, head: string, body = ''): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(Number(got.split(' ')[1]));
      }
    });
    s.on('error', () => resolve(0));
    s.on('close', () => resolve(0));
    s.write(`${head}\r\n\r\n${body}`);
  });
}

test('a web page on another origin or a rebound DNS name gets nothing, and cannot drive a replay', async (t) => {
  const controls: unknown[] = [];
  const ui = await startDashboard(new DashboardModel(), {
    port: 0,
    machines: [torrentMachine],
    title: 'x',
    onControl: (c) => controls.push(c),
  });
  t.after(() => ui.close());
  const local = `Host: 127.0.0.1:${ui.port}`;
  const rebound = `Host: attacker.example:${ui.port}`;
  const foreign = 'Origin: http://attacker.example';
  for (const path of ['/', '/events', '/machines.json'])
    assert.equal(await status(ui.port, `GET ${path} HTTP/1.1\r\n${rebound}`), 403, `${path}, rebound`);
  assert.equal(await status(ui.port, `GET /events HTTP/1.1\r\n${local}\r\n${foreign}`), 403, 'EventSource');
  // A cross-site form or fetch without preflight (text/plain) to the replay controls.
  const post = (origin: string) =>
    status(
      ui.port,
      `POST /control HTTP/1.1\r\n${local}\r\n${origin}\r\nContent-Type: text/plain\r\nContent-Length: 18`,
      '{"action":"pause"}',
    );
  assert.equal(await post(foreign), 403);
  assert.deepEqual(controls, []);
  assert.equal(await post(`Origin: http://127.0.0.1:${ui.port}`), 204, 'our own page');
  assert.deepEqual(controls, [{ action: 'pause' }]);
  assert.equal(await status(ui.port, `GET / HTTP/1.1\r\nHost: localhost:${ui.port}`), 200);
});

test('event streams are bounded: at most MAX_UI_CLIENTS, and a client that never reads skips frames', async (t) => {
  const model = new DashboardModel();
  const ui = await startDashboard(model, { port: 0, machines: [torrentMachine], title: 'x' });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await ui.close();
  });
  const open = () =>
    new Promise<Socket>((resolve) => {
      const s = connect(ui.port, '127.0.0.1', () => resolve(s));
      s.on('error', () => {});
      sockets.push(s);
      s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\n\r\n`);
    });
  const stuck = await open();
  stuck.pause(); // never reads: what the server writes waits in its memory
  // 200 frames of ~200 KB each: 40 MB offered, far more than the kernel's socket buffers hold.
  const big = 'x'.repeat(200_000);
  for (let i = 0; i < 200; i++) {
    model.apply({ k: 'start', t: 0, version: 1, at: `${big}${i}` });
    ui.flush();
    await new Promise((r) => setImmediate(r));
  }
  let received = 0;
  stuck.on('data', (d: Buffer) => {
    received += d.length;
  });
  stuck.resume();
  let last = -1;
  while (received !== last) {
    last = received;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(
    received < 12 << 20,
    `a client that did not read was sent ${received} bytes (all 40 MB kept for it)`,
  );

  for (let i = 1; i < MAX_UI_CLIENTS; i++) await open();
  assert.equal(await status(ui.port, `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}`), 503);
});
