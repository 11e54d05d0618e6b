/**
 * Two honest endpoints that serve each other blocks and send each other thousands of haves (a fast
 * download of 16 KiB pieces) while one of them reads slowly for a moment: neither may stop reading
 * the other for good. Before the send queue packed small messages into shared buffers, reading
 * paused past 4,096 unsent messages (READ_PAUSE_MESSAGES), haves included: each side's haves waited
 * behind its blocks to a peer that was not reading, each side stopped reading the other, and both
 * waited for the peer machine's 240 s idle timeout.
 *
 * Two real TCP connection actors on 127.0.0.1, each serving from a real ReadCache over a PieceStore;
 * the parents do what the peer machine does with served blocks (a read window, nothing served while
 * congested) and send haves at a download's pace.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type AnyActorRef, createActor, setup } from 'xstate';
import { type ConnectionCommand, DEFAULT_PEER_LIMITS } from '../../../machines/peer.types.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { PieceStore } from '../../../src/storage/piece-store.js';
import { ReadCache } from '../../../src/storage/read-cache.js';
import { WriteBacklog } from '../../../src/storage/write-backlog.js';
import { makeTorrent, payloadBytes } from '../storage/make-torrent.js';

const PIECE = 32768;
const BLOCK = 16384;
const PIECES = 4;
/** Haves each side sends: more than READ_PAUSE_MESSAGES (4,096) was, as a 64 MiB download of 16 KiB pieces. */
const HAVES = 6000;
/** Blocks each side serves: more than loopback's kernel buffers hold, so the writer backs up. */
const MAX_BLOCKS = 4096;

async function until(done: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What a parent machine does with the connection: serving within a read window, haves, counting what arrives. */
class Endpoint {
  readonly name: string;
  connection: AnyActorRef | undefined;
  congested = false;
  /** Blocks handed over and not yet written (the peer machine's read window). */
  handed = 0;
  served = 0;
  /** Serve no more than this many blocks. */
  blockLimit = 0;
  havesSent = 0;
  blocksIn = 0;
  havesIn = 0;
  handshaken = false;
  readonly errors: string[] = [];
  #next = 0;

  constructor(name: string) {
    this.name = name;
  }

  on(event: { type: string; count?: number; blocks?: unknown[]; indices?: unknown[] }): void {
    switch (event.type) {
      case 'socket.connected':
        this.#send({
          type: 'send',
          message: {
            type: 'handshake',
            reserved: new Uint8Array(8),
            infoHash: new Uint8Array(20),
            peerId: new Uint8Array(20),
          },
        });
        return;
      case 'wire.handshake':
        this.handshaken = true;
        return;
      case 'socket.congested':
        this.congested = true;
        return;
      case 'socket.drained':
        this.congested = false;
        this.topUp();
        return;
      case 'socket.served':
        this.handed -= event.count ?? 0;
        this.served += event.count ?? 0;
        this.topUp();
        return;
      case 'wire.piece':
        this.blocksIn++;
        return;
      case 'wire.pieces':
        this.blocksIn += event.blocks?.length ?? 0;
        return;
      case 'wire.have':
        this.havesIn++;
        return;
      case 'wire.haves':
        this.havesIn += event.indices?.length ?? 0;
        return;
      case 'socket.closed':
      case 'wire.error':
        this.errors.push(`${this.name}: ${JSON.stringify(event)}`);
    }
  }

  /** As the peer machine: nothing while congested, at most readWindow blocks unwritten. */
  topUp(): void {
    const blocks = [];
    while (
      !this.congested &&
      this.handed + blocks.length < DEFAULT_PEER_LIMITS.readWindow &&
      this.served + this.handed + blocks.length < this.blockLimit
    ) {
      const n = this.#next++;
      blocks.push({ index: n % PIECES, begin: ((n >> 2) % 2) * BLOCK, length: BLOCK });
    }
    this.handed += blocks.length;
    if (blocks.length > 0) this.#send({ type: 'serve', blocks });
  }

  haves(n: number): void {
    for (let i = 0; i < n && this.havesSent < HAVES; i++)
      this.#send({ type: 'send', message: { type: 'have', index: this.havesSent++ % PIECES } });
  }

  /** Everything it will ever serve is written, or the peer is not reading and the socket is full. */
  get stuckOrDone(): boolean {
    return this.handed === 0 && (this.congested || this.served === this.blockLimit);
  }

  #send(command: ConnectionCommand): void {
    this.connection?.send(command);
  }
}

/** A connection actor whose events go to `endpoint`, over `socket` (accepted) or dialling `port`. */
/** The torrent both ends speak of (the handshakes carry its info-hash). */
const speaking = { infoHash: new Uint8Array(20), pieceCount: PIECES };

function start(
  t: TestContext,
  endpoint: Endpoint,
  source: ReadCache,
  where: { socket: Socket } | { port: number },
  readGate?: WriteBacklog,
) {
  const connection = createTcpConnection({ blockSource: source, ...(readGate ? { readGate } : {}) });
  const parent = setup({ actors: { connection } }).createMachine({
    invoke: {
      id: 'connection',
      src: 'connection',
      input:
        'socket' in where
          ? { ...speaking, address: '127.0.0.1:0', direction: 'incoming', handle: where.socket }
          : { ...speaking, address: `127.0.0.1:${where.port}`, direction: 'outgoing', handle: null },
    },
    on: { '*': { actions: ({ event }) => endpoint.on(event) } },
  });
  const actor = createActor(parent);
  endpoint.connection = undefined;
  actor.start();
  endpoint.connection = actor.getSnapshot().children.connection as AnyActorRef;
  t.after(() => actor.stop());
}

test('two honest endpoints with thousands of haves behind blocks to a slow reader never stop reading each other', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-send-deadlock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = payloadBytes(PIECES * PIECE, 11);
  const torrent = makeTorrent('d', [{ path: ['d.bin'], length: payload.length }], PIECE, payload, false);
  const store = await PieceStore.open(torrent, dir, { hashWorkers: 0 });
  t.after(() => store.close());
  for (let i = 0; i < PIECES; i++) await store.writeBlock(i, 0, payload.subarray(i * PIECE, (i + 1) * PIECE));

  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const accepted = new Promise<Socket>((r) => server.once('connection', r));

  // B reads slowly at first: its read gate is closed (as when its disk is behind).
  const gate = new WriteBacklog(1, 0);
  gate.add(2);
  const a = new Endpoint('a');
  const b = new Endpoint('b');
  start(t, a, new ReadCache(store, PIECE), { port: (server.address() as { port: number }).port });
  start(t, b, new ReadCache(store, PIECE), { socket: await accepted }, gate);

  await until(
    () => a.handshaken && b.handshaken,
    5000,
    () => 'the handshakes',
  );
  // A serves B, which reads nothing, until A's socket is full; then A completes pieces: its haves
  // wait behind the blocks B has not read.
  a.blockLimit = MAX_BLOCKS;
  a.topUp();
  await until(
    () => a.stuckOrDone,
    10_000,
    () => 'a to fill its socket to b',
  );
  a.haves(HAVES);
  // B serves A and sends its haves as well.
  b.blockLimit = MAX_BLOCKS;
  b.topUp();
  await until(
    () => b.stuckOrDone,
    10_000,
    () => 'b to serve a',
  );
  b.haves(HAVES);
  await new Promise((r) => setTimeout(r, 200));

  // B's disk catches up: both must now read each other to the end.
  gate.done(2);
  await until(
    () =>
      a.errors.length + b.errors.length > 0 ||
      (a.blocksIn === b.served &&
        b.blocksIn === a.served &&
        a.havesIn === HAVES &&
        b.havesIn === HAVES &&
        a.served === MAX_BLOCKS &&
        b.served === MAX_BLOCKS),
    15_000,
    () =>
      `both to read everything (a served ${a.served}, read ${a.blocksIn} blocks and ${a.havesIn} haves; b served ${b.served}, read ${b.blocksIn} blocks and ${b.havesIn} haves)`,
  );
  assert.deepEqual([...a.errors, ...b.errors], []);
});
