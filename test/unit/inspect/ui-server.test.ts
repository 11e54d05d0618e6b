/** The dashboard server on 127.0.0.1: the page, the statecharts, the SSE stream of the model's view. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerMachine } from '../../../machines/peer.machine.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import { DashboardModel } from '../../../src/inspect/dashboard-model.js';
import { startDashboard, UI_HZ } from '../../../src/inspect/ui-server.js';

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
