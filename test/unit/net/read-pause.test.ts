/**
 * Back-pressure from what we send to what we read: a TCP connection actor whose peer never reads
 * the answers stops reading the socket once they pile up (send-queue.ts: READ_PAUSE_BYTES), so a
 * flood of requests costs bounded memory; and it reads on once the peer
 * reads. A real socket on 127.0.0.1; the parent answers every request with a 1 KiB message, as the
 * peer machine answers a fast peer's requests with rejects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, enqueueActions, setup } from 'xstate';
import type { ConnectionCommand } from '../../../machines/peer.types.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import { loopbackPeer } from './loopback-peer.js';

const REQUESTS = 30_000; // 510 KB of requests; answered in full while unread, 30 MB would wait
const ANSWER = { type: 'bitfield', bitfield: new Uint8Array(1020) } as const; // 1025 bytes on the wire

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a peer that floods requests and never reads the answers is no longer read; once it reads, all are read and answered', async (t) => {
  let peerSocket: import('node:net').Socket | undefined;
  let peerWrote = 0;
  const port = await loopbackPeer(t, (socket) => {
    peerSocket = socket;
    socket.pause(); // reads nothing
    const request = encodeMessage({ type: 'request', index: 0, begin: 0, length: 16384 });
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => request));
    const flood = () => {
      while (peerWrote < REQUESTS) {
        peerWrote += 1000;
        if (!socket.write(chunk)) return void socket.once('drain', flood);
      }
    };
    flood();
  });

  let read = 0; // requests the connection read (and the parent answered)
  const parent = setup({ actors: { connection: createTcpConnection() } }).createMachine({
    invoke: {
      id: 'connection',
      src: 'connection',
      input: {
        address: `127.0.0.1:${port}`,
        direction: 'outgoing',
        handle: null,
        infoHash: new Uint8Array(20),
        pieceCount: 1,
      },
    },
    on: {
      '*': {
        actions: enqueueActions(({ event, enqueue }) => {
          const e = event as { type: string; requests?: unknown[] };
          const n =
            e.type === 'wire.requests' ? (e.requests?.length ?? 0) : e.type === 'wire.request' ? 1 : 0;
          read += n;
          for (let i = 0; i < n; i++)
            enqueue.sendTo('connection', { type: 'send', message: ANSWER } satisfies ConnectionCommand);
        }),
      },
    },
  });
  const actor = createActor(parent);
  actor.start();
  t.after(() => actor.stop());

  // Reading stops: the answers fill the kernel's buffers (a few MiB on loopback), then the send
  // queue's marks; what was read stays put while the peer reads nothing.
  await until(() => read > 0, 5000, 'the first requests');
  // Settled: the count unchanged for a whole second (a loaded machine can leave a socket unread
  // for a few polls without any pause).
  let last = -1;
  let since = Date.now();
  await until(
    () => {
      if (read !== last) {
        last = read;
        since = Date.now();
      }
      return Date.now() - since >= 1000;
    },
    15_000,
    'reading to stop',
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(read, last, 'nothing more read while the peer reads nothing');
  t.diagnostic(`paused after reading ${read} of ${REQUESTS} requests`);
  assert.ok(read < REQUESTS, `stopped reading the flood: ${read} of ${REQUESTS} requests read`);

  // The peer reads the answers: the connection reads the rest of the flood and answers it all.
  let received = 0;
  peerSocket?.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  peerSocket?.resume();
  await until(() => read === REQUESTS, 20_000, 'every request to be read');
  await until(() => received === REQUESTS * 1025, 20_000, 'every answer to arrive');
});
