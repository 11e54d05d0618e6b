/**
 * --inspect: the relay on 127.0.0.1 passes @statelyai/inspect's messages to a browser client, with
 * the machines' definitions, and blocks summarised to their length before they leave; a browser
 * that connects late gets the live actors' registrations and recent messages, not the stopped ones'.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { type AnyActorRef, createActor, fromCallback, setup } from 'xstate';
import { RELAY_BUFFER } from '../../../src/inspect/relay-backlog.js';
import { RELAY_MAX_VIEWERS, startStatelyInspection } from '../../../src/inspect/stately-inspector.js';
import { inMemoryDownload } from './in-memory-download.js';
import { inMemorySeed } from './in-memory-seed.js';

test('a download inspected through the relay: actors with definitions, events without block bytes', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  assert.match(inspection.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await (await fetch(inspection.url)).text();
  assert.match(page, /stately\.ai\/inspect/);

  const browser = await viewer(inspection.url);
  t.after(() => browser.ws.terminate());
  await inMemoryDownload(1, inspection.inspect);
  await browser.until((m) => m.includes('"type":"wire.piece"'));
  const parsed = browser.messages.map(
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
    ...browser.messages.filter((m) => !m.includes('"type":"@xstate.actor"')).map((m) => m.length),
  );
  assert.ok(longest < 8192, `longest event message ${longest} bytes`);
});

test('a long seed through the relay: a late viewer gets every live actor, none of the hundreds of peers gone', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  const seed = inMemorySeed(inspection.inspect);
  t.after(() => seed.actor.stop());
  // A viewer there all along sees every actor come and go: the relay forwards everything.
  const along = await viewer(inspection.url);
  t.after(() => along.ws.terminate());

  const PEERS = 300;
  await seed.churn(PEERS);
  seed.hold(3);
  // The relay reads its inspector's messages in order: once this event has passed through it,
  // so has everything before it.
  seed.actor.send({ type: 'test.marker' } as never);
  await along.until((m) => m.includes('"type":"test.marker"'));
  assert.equal(seed.livePeers(), 3);
  const registered = (ms: readonly string[]) =>
    ms
      .map((m) => JSON.parse(m) as { type: string; sessionId: string })
      .filter((m) => m.type === '@xstate.actor');
  // A peer machine and its connection actor each, per peer.
  assert.ok(registered(along.messages).length >= 2 * PEERS + 5);

  const late = await viewer(inspection.url);
  t.after(() => late.ws.terminate());
  // What the relay replays to a newcomer it sends as it connects, ahead of its pong.
  await new Promise((r) => {
    late.ws.once('pong', r);
    late.ws.ping();
  });
  const live = liveSessions(seed.actor);
  // The torrent machine, storage, trackers, choker, ticker, and the three peers with their connections.
  assert.equal(live.length, 5 + 2 * 3);
  assert.deepEqual(
    registered(late.messages)
      .map((m) => m.sessionId)
      .sort(),
    [...live].sort(),
    'the registrations a late viewer gets are those of the live actors',
  );
  const gone = late.messages
    .map((m) => JSON.parse(m) as { sessionId: string })
    .filter((m) => !live.includes(m.sessionId));
  assert.equal(gone.length, 0, 'messages kept of actors that stopped');
  // A registration and a latest snapshot per live actor, and the recent messages.
  assert.ok(late.messages.length <= RELAY_BUFFER + 2 * live.length, `${late.messages.length} messages kept`);
  const snapshotted = (ms: readonly string[]) =>
    new Set(
      ms
        .map((m) => JSON.parse(m) as { type: string; sessionId: string })
        .filter((m) => m.type === '@xstate.snapshot' && live.includes(m.sessionId))
        .map((m) => m.sessionId),
    );
  assert.deepEqual(
    [...snapshotted(late.messages)].sort(),
    [...snapshotted(along.messages)].sort(),
    'every live actor that ever had a snapshot shows its state to the late viewer',
  );
});

test('a seed started as soon as the inspection is: none of its first messages is held back and dropped', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  assert.equal(inspection.note, undefined);
  // At once, as the CLI does: the torrent machine and 40 peers (10 kept, 30 turned away) are
  // hundreds of messages before any I/O; @statelyai/inspect kept only the last 200 of those
  // sent before its socket to the relay opened, and the relay keeps nothing of an actor whose
  // registration it never saw.
  const seed = inMemorySeed(inspection.inspect);
  t.after(() => seed.actor.stop());
  seed.hold(40);
  await new Promise((r) => setImmediate(r));
  seed.actor.send({ type: 'test.marker' } as never);
  const along = await viewer(inspection.url);
  t.after(() => along.ws.terminate());
  await along.until((m) => m.includes('"type":"test.marker"'));
  assert.equal(seed.livePeers(), 10);

  const late = await viewer(inspection.url);
  t.after(() => late.ws.terminate());
  await new Promise((r) => {
    late.ws.once('pong', r);
    late.ws.ping();
  });
  const live = liveSessions(seed.actor);
  assert.equal(live.length, 5 + 2 * 10);
  assert.deepEqual(
    late.messages
      .map((m) => JSON.parse(m) as { type: string; sessionId: string })
      .filter((m) => m.type === '@xstate.actor')
      .map((m) => m.sessionId)
      .sort(),
    [...live].sort(),
    'the registrations a late viewer gets are those of the live actors',
  );
  assert.ok(!late.messages.some((m) => m.includes('bitstate.probe')), 'the probe is not relayed');
});

test('actors that fail without an ended snapshot: a late viewer does not get their registrations', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  // XState sends no ended snapshot when a callback actor throws as it starts or a machine's
  // action throws: only its parent's xstate.error.actor event tells.
  const throwsAtStart = fromCallback(() => {
    throw new Error('callback failed');
  });
  const throwsInAction = setup({
    actions: {
      fail: () => {
        throw new Error('action failed');
      },
    },
  }).createMachine({ id: 'child', on: { go: { actions: 'fail' } } });
  const parent = setup({ actors: { throwsAtStart, throwsInAction } }).createMachine({
    id: 'parent',
    initial: 'first',
    states: {
      first: { invoke: { src: 'throwsAtStart', onError: 'second' } },
      second: { invoke: { id: 'kid', src: 'throwsInAction', onError: 'third' } },
      third: {},
    },
  });
  const root = createActor(parent, { inspect: inspection.inspect });
  t.after(() => root.stop());
  root.start();
  const kid = (root.getSnapshot().children as Record<string, AnyActorRef>).kid!;
  kid.send({ type: 'go' });
  assert.equal(root.getSnapshot().value, 'third');
  root.send({ type: 'test.marker' } as never);

  const late = await viewer(inspection.url);
  t.after(() => late.ws.terminate());
  await late.until((m) => m.includes('"type":"test.marker"'));
  const registered = late.messages
    .map((m) => JSON.parse(m) as { type: string; sessionId: string })
    .filter((m) => m.type === '@xstate.actor')
    .map((m) => m.sessionId);
  assert.deepEqual(registered, [root.sessionId]);
  assert.ok(
    late.messages.some((m) => m.includes('xstate.error.actor.kid')),
    'the parent is told',
  );
});

/** A viewer (our own page's WebSocket) collecting what the relay sends it. */
async function viewer(url: string): Promise<{
  ws: WebSocket;
  messages: string[];
  until(seen: (m: string) => boolean): Promise<void>;
}> {
  const ws = new WebSocket(url.replace('http', 'ws'));
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  await new Promise((r) => ws.once('open', r));
  const until = async (seen: (m: string) => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!messages.some(seen)) {
      if (Date.now() > deadline) throw new Error('the awaited message never came through the relay');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ws, messages, until };
}

/** The session ids of an actor and of every actor below it that is still running. */
function liveSessions(ref: AnyActorRef): string[] {
  const children =
    (ref.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children ?? {};
  return [ref.sessionId, ...Object.values(children).flatMap((c) => (c === undefined ? [] : liveSessions(c)))];
}

/** What a WebSocket handshake gets: 'open', or the HTTP status it was refused with. */
function handshake(url: string, headers: Record<string, string>): Promise<{ ws: WebSocket; result: string }> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve) => {
    ws.on('open', () => resolve({ ws, result: 'open' }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, result: String(res.statusCode) }));
    ws.on('error', (e) => resolve({ ws, result: e.message }));
  });
}

test('the relay answers only our own page: other origins and rebound host names are refused, viewers cannot publish', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  const port = new URL(inspection.url).port;
  const ws = `ws://127.0.0.1:${port}/`;
  const sockets: WebSocket[] = [];
  t.after(() => {
    for (const s of sockets) s.terminate();
  });
  const attempt = async (headers: Record<string, string>) => {
    const { ws: s, result } = await handshake(ws, headers);
    sockets.push(s);
    return result;
  };
  // A page on another site opening a WebSocket to 127.0.0.1 (not bound by the same-origin policy).
  assert.equal(await attempt({ origin: 'http://attacker.example' }), '401');
  // DNS rebinding: the attacker's name resolved to 127.0.0.1, so the page is "same-origin".
  assert.equal(
    await attempt({ host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` }),
    '401',
  );
  const rebound = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/', headers: { host: `attacker.example:${port}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(rebound, 403, 'the page under a rebound name');
  assert.equal((await fetch(inspection.url)).status, 200, 'the page under 127.0.0.1');

  // Our own page is a viewer: it reads, but what it sends is never relayed or kept.
  assert.equal(await attempt({ origin: `http://127.0.0.1:${port}` }), 'open');
  const viewer = sockets.at(-1)!;
  viewer.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'forged', pad: 'x'.repeat(1000) }));
  // A ping after it: the relay handles one socket's frames in order, so its pong means the forged
  // message was handled (kept, or not) before the late viewer connects, however loaded the machine.
  await new Promise((r) => {
    viewer.once('pong', r);
    viewer.ping();
  });
  const late = new WebSocket(ws);
  sockets.push(late);
  const seen: string[] = [];
  late.on('message', (d) => seen.push(d.toString()));
  await new Promise((r) => late.on('open', r));
  // What the relay replays to a newcomer it sends as it connects, ahead of its pong.
  await new Promise((r) => {
    late.once('pong', r);
    late.ping();
  });
  assert.ok(!seen.some((m) => m.includes('forged')), 'a viewer message was kept and replayed');
});

test('the relay takes at most RELAY_MAX_VIEWERS viewers at once: the next is refused with 503, and a place frees as one leaves', async (t) => {
  const inspection = await startStatelyInspection(0);
  t.after(() => inspection.close());
  const port = new URL(inspection.url).port;
  const sockets: WebSocket[] = [];
  t.after(() => {
    for (const s of sockets) s.terminate();
  });
  const attempt = async () => {
    const { ws: s, result } = await handshake(`ws://127.0.0.1:${port}/`, {
      origin: `http://127.0.0.1:${port}`,
    });
    sockets.push(s);
    return result;
  };
  for (let i = 0; i < RELAY_MAX_VIEWERS; i++) assert.equal(await attempt(), 'open');
  assert.equal(await attempt(), '503');
  const first = sockets[0]!;
  await new Promise((r) => {
    first.once('close', r);
    first.close();
  });
  // The relay counts the viewer gone once its side of the close is done.
  let result = '';
  for (let i = 0; i < 50 && result !== 'open'; i++) {
    result = await attempt();
    if (result !== 'open') await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(result, 'open');
});
