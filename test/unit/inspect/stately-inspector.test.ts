/**
 * --inspect: the relay on 127.0.0.1 passes @statelyai/inspect's messages to a browser client, with
 * the machines' definitions, and blocks summarised to their length before they leave.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { startStatelyInspection } from '../../../src/inspect/stately-inspector.js';
import { inMemoryDownload } from './in-memory-download.js';

test('a download inspected through the relay: actors with definitions, events without block bytes', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  assert.match(inspection.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await (await fetch(inspection.url)).text();
  assert.match(page, /stately\.ai\/inspect/);

  await inMemoryDownload(1, inspection.inspect);
  // A browser connecting afterwards still gets the actor registrations and recent events.
  const browser = new WebSocket(inspection.url.replace('http', 'ws'));
  t.after(() => browser.terminate());
  const messages: string[] = [];
  browser.on('message', (d) => messages.push(d.toString()));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !messages.some((m) => m.includes('"type":"wire.piece"')))
    await new Promise((r) => setTimeout(r, 50));
  const parsed = messages.map(
    (m) => JSON.parse(m) as { type: string; definition?: string; event?: { type: string; block?: unknown } },
  );
  const actors = parsed.filter((m) => m.type === '@xstate.actor');
  assert.ok(
    actors.some((a) => a.definition?.includes('"id":"peer"')),
    'the peer machine definition',
  );
  const piece = parsed.find((m) => m.type === '@xstate.event' && m.event?.type === 'wire.piece');
  assert.deepEqual(piece?.event?.block, { bytes: 16384 });
  const longest = Math.max(
    ...messages.filter((m) => !m.includes('"type":"@xstate.actor"')).map((m) => m.length),
  );
  assert.ok(longest < 8192, `longest event message ${longest} bytes`);
});
