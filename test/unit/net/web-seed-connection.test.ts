/**
 * The web seed connection (src/net/web-seed-connection.ts) on its own, against a real HTTP server
 * on 127.0.0.1: what it tells the peer machine — a seed's handshake, full bitfield and unchoke;
 * blocks for requests; and a close carrying why (a timeout of the head or of the body) when the
 * server fails. Waits for events, never for a time.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { assign, createActor, sendTo, setup } from 'xstate';
import type { ConnectionCommand, ConnectionEvent, ConnectionInput } from '../../../machines/peer.types.js';
import type { Torrent } from '../../../src/metainfo/torrent.js';
import { createWebSeedConnection } from '../../../src/net/web-seed-connection.js';
import { tempDir, within } from '../../helpers/session.js';
import type { TestContext } from '../../helpers/temp-dir.js';
import { type Behave, startWebSeedServer } from '../../helpers/web-seed-server.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 64 * 1024;

/** The connection invoked by a machine that records what it sends back and forwards our commands. */
async function open(t: TestContext, behave: Behave | undefined, timeoutMs = 20_000, connections?: number) {
  const dir = await tempDir(t, 'bitstate-wsc-');
  const payload = payloadBytes(4 * PIECE, 3);
  await mkdir(join(dir, 'www'));
  await writeFile(join(dir, 'www', 'p.bin'), payload);
  const server = await startWebSeedServer(t, join(dir, 'www'), behave);
  const torrent = makeTorrent('p.bin', [{ path: ['p.bin'], length: payload.length }], PIECE, payload, false);
  const logic = createWebSeedConnection({
    torrent,
    timeoutMs,
    ...(connections === undefined ? {} : { connections }),
  });
  return { ...connect(t, logic, `${server.url}/p.bin`, torrent), payload, torrent, server, logic };
}

/** Our handshake, as the peer machine sends it to a connection. */
function handshake(infoHash: Uint8Array): ConnectionCommand {
  return {
    type: 'send',
    message: { type: 'handshake', infoHash, peerId: new Uint8Array(20), reserved: new Uint8Array(8) },
  };
}

/** One connection made by `logic` to the web seed at `address`. */
function connect(
  t: TestContext,
  logic: ReturnType<typeof createWebSeedConnection>,
  address: string,
  torrent: Pick<Torrent, 'infoHash' | 'pieceCount'>,
) {
  const events: ConnectionEvent[] = [];
  const waiters: (() => void)[] = [];
  const host = setup({
    types: { events: {} as ConnectionEvent | { type: 'cmd'; command: ConnectionCommand } },
    actors: { connection: logic },
  }).createMachine({
    invoke: {
      id: 'connection',
      src: 'connection',
      input: {
        address,
        direction: 'outgoing',
        handle: undefined,
        infoHash: torrent.infoHash,
        pieceCount: torrent.pieceCount,
      } satisfies ConnectionInput,
    },
    on: {
      cmd: {
        actions: sendTo('connection', ({ event }) => (event as { command: ConnectionCommand }).command),
      },
      '*': {
        actions: assign(({ event }) => {
          events.push(event as ConnectionEvent);
          for (const w of waiters.splice(0)) w();
          return {};
        }),
      },
    },
  });
  const actor = createActor(host).start();
  t.after(() => actor.stop());
  const until = (what: string, pred: (e: ConnectionEvent) => boolean) =>
    within(
      60_000,
      new Promise<ConnectionEvent>((resolve) => {
        const check = () => {
          const hit = events.find(pred);
          if (hit !== undefined) resolve(hit);
          else waiters.push(check);
        };
        check();
      }),
      what,
    );
  const command = (c: ConnectionCommand) => actor.send({ type: 'cmd', command: c });
  return { actor, events, until, command };
}

/** Pieces 1 and 2, all their blocks: 128 KiB that continue each other. */
const PIECES_1_2 = [1, 2].flatMap((index) =>
  [0, 1, 2, 3].map((k) => ({ index, begin: k * 16384, length: 16384 })),
);

/** Waits for every block of `blocks` and checks its bytes against the payload. */
async function receiveAll(c: Awaited<ReturnType<typeof open>>, blocks: typeof PIECES_1_2) {
  const got = new Map<string, Uint8Array>();
  await c.until('all blocks', (e) => {
    if (e.type === 'wire.pieces') for (const b of e.blocks) got.set(`${b.index}:${b.begin}`, b.block);
    if (e.type === 'wire.piece') got.set(`${e.index}:${e.begin}`, e.block);
    return got.size === blocks.length;
  });
  for (const b of blocks) {
    const at = b.index * PIECE + b.begin;
    assert.deepEqual(got.get(`${b.index}:${b.begin}`), c.payload.subarray(at, at + b.length));
  }
}

test('a web seed answers the handshake as a seed that never chokes, and serves requested blocks by range', async (t) => {
  const c = await open(t, undefined, 20_000, 1);
  await c.until('connected', (e) => e.type === 'socket.connected');
  c.command(handshake(c.torrent.infoHash));
  const types = c.events.map((e) => e.type);
  assert.deepEqual(types.slice(1, 4), ['wire.handshake', 'wire.bitfield', 'wire.unchoke']);
  const bf = c.events[2];
  assert.ok(bf?.type === 'wire.bitfield');
  assert.deepEqual([...bf.bitfield], [0xf0]); // 4 pieces, spare bits clear
  // One connection: pieces 1 and 2 are one run, one GET.
  c.command({ type: 'request', blocks: PIECES_1_2 });
  await receiveAll(c, PIECES_1_2);
  assert.deepEqual(c.server.requests, [{ path: '/p.bin', range: `bytes=${PIECE}-${3 * PIECE - 1}` }]);
});

test('4 connections: a run is split into 4 contiguous GETs, in flight at once once the first is answered', async (t) => {
  // The server answers the first GET at once (it proves the seed), then holds the others until
  // three are in flight together: one GET at a time would never get there (the test times out).
  let payload: Uint8Array | undefined;
  const held: { range: string; res: ServerResponse }[] = [];
  let seen = 0;
  const answer = (range: string, res: ServerResponse) => {
    const [a, b] = /^bytes=(\d+)-(\d+)$/.exec(range)!.slice(1).map(Number) as [number, number];
    res.writeHead(206, {
      'content-range': `bytes ${a}-${b}/${payload!.length}`,
      'content-length': b - a + 1,
    });
    res.end(payload!.subarray(a, b + 1));
  };
  const c = await open(
    t,
    (req, res) => {
      const range = req.headers.range ?? '';
      if (++seen === 1) {
        answer(range, res);
        return true;
      }
      held.push({ range, res });
      if (held.length === 3) for (const h of held.splice(0)) answer(h.range, h.res);
      return true;
    },
    20_000,
    4,
  );
  payload = c.payload;
  await c.until('connected', (e) => e.type === 'socket.connected');
  c.command(handshake(c.torrent.infoHash));
  c.command({ type: 'request', blocks: PIECES_1_2 });
  await receiveAll(c, PIECES_1_2);
  // The queue's share per idle connection: 128 KiB over 4, each GET a contiguous quarter.
  const quarter = (k: number) => `bytes=${PIECE + k * 32768}-${PIECE + (k + 1) * 32768 - 1}`;
  assert.deepEqual(
    c.server.requests.map((r) => r.range),
    [0, 1, 2, 3].map(quarter),
  );
});

test("one connection: a redirect whose short body never comes does not hold the seed's one socket (follow-redirects.ts)", async (t) => {
  const hung: ServerResponse[] = [];
  t.after(() => {
    for (const r of hung.splice(0)) r.destroy();
  });
  const c = await open(
    t,
    (req, res) => {
      if (req.url !== '/p.bin') return false; // the redirect's target is served
      // Short enough to be drained, and not one byte of it: without a drain deadline the socket
      // never went back to the agent, and the redirected GET queued behind it for good.
      res.writeHead(302, { location: '/p.bin?at=node1', 'content-length': '10' });
      res.flushHeaders();
      hung.push(res);
      return true;
    },
    20_000,
    1,
  );
  await c.until('connected', (e) => e.type === 'socket.connected');
  c.command(handshake(c.torrent.infoHash));
  c.command({ type: 'request', blocks: PIECES_1_2 });
  await receiveAll(c, PIECES_1_2);
  assert.deepEqual(
    c.server.requests.map((r) => r.path),
    ['/p.bin', '/p.bin'],
  );
  assert.equal(c.events.filter((e) => e.type === 'socket.closed').length, 0);
});

test("a body that breaks off where the file's URL was just redirected forgets the redirect: the next connection asks the file's URL", async (t) => {
  let payload: Uint8Array | undefined;
  let targetGets = 0;
  const c = await open(
    t,
    (req, res) => {
      if (req.url === '/p.bin') {
        res.writeHead(302, { location: '/node1/p.bin', 'content-length': '0' });
        res.end();
        return true;
      }
      const [a, b] = /^bytes=(\d+)-(\d+)$/
        .exec(req.headers.range ?? '')!
        .slice(1)
        .map(Number) as [number, number];
      res.writeHead(206, {
        'content-range': `bytes ${a}-${b}/${payload!.length}`,
        'content-length': b - a + 1,
      });
      if (++targetGets > 1) {
        res.end(payload!.subarray(a, b + 1));
        return true;
      }
      res.write(payload!.subarray(a, a + 1000)); // the first body breaks off
      setImmediate(() => res.destroy());
      return true;
    },
    20_000,
    1,
  );
  payload = c.payload;
  await c.until('connected', (e) => e.type === 'socket.connected');
  c.command(handshake(c.torrent.infoHash));
  c.command({ type: 'request', blocks: PIECES_1_2 });
  await c.until('closed', (e) => e.type === 'socket.closed');
  const again = connect(t, c.logic, `${c.server.url}/p.bin`, c.torrent);
  await again.until('connected', (e) => e.type === 'socket.connected');
  again.command(handshake(c.torrent.infoHash));
  again.command({ type: 'request', blocks: PIECES_1_2 });
  await receiveAll({ ...c, ...again }, PIECES_1_2);
  assert.deepEqual(
    c.server.requests.map((r) => r.path),
    ['/p.bin', '/node1/p.bin', '/p.bin', '/node1/p.bin'],
  );
});

for (const [what, behave, pattern] of [
  [
    'a server that never answers',
    (_req, res) => {
      held.push(res);
      return true;
    },
    /no answer in 200 ms/,
  ],
  [
    'a body that stalls',
    (req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
      res.writeHead(206, {
        'content-range': `bytes ${m[1]}-${m[2]}/${4 * PIECE}`,
        'content-length': Number(m[2]) - Number(m[1]) + 1,
      });
      res.write(Buffer.alloc(1000));
      held.push(res);
      return true;
    },
    /body stalled 200 ms/,
  ],
] as [string, Behave, RegExp][]) {
  test(`${what}: the connection closes with a timeout`, async (t) => {
    t.after(() => {
      for (const r of held.splice(0)) r.destroy();
    });
    const c = await open(t, behave, 200);
    await c.until('connected', (e) => e.type === 'socket.connected');
    c.command({ type: 'request', blocks: [{ index: 0, begin: 0, length: 16384 }] });
    const closed = await c.until('closed', (e) => e.type === 'socket.closed');
    assert.ok(closed.type === 'socket.closed');
    assert.match(closed.error ?? '', pattern);
  });
}

const held: ServerResponse[] = [];

test("a file the server answered 404 for is left out of that seed's bitfield from then on (as libtorrent's have_files)", async (t) => {
  const dir = await tempDir(t, 'bitstate-wsc-');
  // a.bin: pieces 0-1 and the first half of 2; b.bin: the rest of 2, and 3. Only a.bin is served.
  const specs = [
    { path: ['a.bin'], length: 2 * PIECE + PIECE / 2 },
    { path: ['b.bin'], length: PIECE + PIECE / 2 },
  ];
  const payload = payloadBytes(4 * PIECE, 4);
  await mkdir(join(dir, 'www', 'two'), { recursive: true });
  await writeFile(join(dir, 'www', 'two', 'a.bin'), payload.subarray(0, specs[0]!.length));
  const server = await startWebSeedServer(t, join(dir, 'www'));
  const torrent = makeTorrent('two', specs, PIECE, payload, true);
  const logic = createWebSeedConnection({ torrent });
  const bitfieldOf = async (c: ReturnType<typeof connect>) => {
    c.command(handshake(torrent.infoHash));
    const e = await c.until('bitfield', (e) => e.type === 'wire.bitfield');
    return e.type === 'wire.bitfield' ? [...e.bitfield] : [];
  };
  const first = connect(t, logic, server.url, torrent);
  assert.deepEqual(await bitfieldOf(first), [0b1111_0000]);
  first.command({ type: 'request', blocks: [{ index: 3, begin: 0, length: 16384 }] });
  const closed = await first.until('closed', (e) => e.type === 'socket.closed');
  assert.match(closed.type === 'socket.closed' ? (closed.error ?? '') : '', /HTTP 404/);
  // The seed connected again: pieces 2 and 3 touch b.bin, which it does not have.
  const again = connect(t, logic, server.url, torrent);
  assert.deepEqual(await bitfieldOf(again), [0b1100_0000]);
  again.command({ type: 'request', blocks: [{ index: 1, begin: 0, length: 16384 }] });
  const piece = await again.until('piece', (e) => e.type === 'wire.piece' || e.type === 'wire.pieces');
  assert.ok(piece.type === 'wire.piece' || piece.type === 'wire.pieces');
  assert.deepEqual(
    server.requests.map((r) => r.path),
    ['/two/b.bin', '/two/a.bin'],
  );
});

test('a seed that answered 404 for every file it would serve fails at its next handshake, holding no place', async (t) => {
  const c = await open(t, (_req, res) => {
    res.writeHead(404).end();
    return true;
  });
  await c.until('connected', (e) => e.type === 'socket.connected');
  c.command({ type: 'request', blocks: [{ index: 0, begin: 0, length: 16384 }] });
  await c.until('closed', (e) => e.type === 'socket.closed');
  const again = connect(t, c.logic, `${c.server.url}/p.bin`, c.torrent);
  again.command(handshake(c.torrent.infoHash));
  const closed = await again.until('closed', (e) => e.type === 'socket.closed');
  assert.match(
    closed.type === 'socket.closed' ? (closed.error ?? '') : '',
    /has none of the torrent's files/,
  );
  assert.ok(!again.events.some((e) => e.type === 'wire.bitfield'));
});
