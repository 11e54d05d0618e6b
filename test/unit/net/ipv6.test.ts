/**
 * Connecting to an IPv6 peer (issue #6): the TCP connection actor dials `[::1]:PORT`, as a
 * tracker's `peers6` (BEP 7) would name it, and the BitTorrent handshake and a message cross both
 * ways. Skipped only when this machine cannot listen on ::1 (checked first, not assumed).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { createActor, createMachine, sendTo } from 'xstate';
import type { ConnectionCommand } from '../../../machines/peer.types.js';
import { formatPeerAddress, parsePeerAddress } from '../../../src/net/address.js';
import { tcpConnection } from '../../../src/net/tcp-connection.js';
import { encodeHandshake, encodeMessage } from '../../../src/wire/encode-message.js';
import { HANDSHAKE_LENGTH } from '../../../src/wire/messages.js';

const INFO_HASH = new Uint8Array(20).fill(0xab);
const OUR_ID = new Uint8Array(20).fill(0x61);
const THEIR_ID = new Uint8Array(20).fill(0x62);
const RESERVED = new Uint8Array(8);

/** Listens on ::1, or resolves undefined when the machine has no IPv6 loopback. */
function listenOnIpv6Loopback(onSocket: (s: Socket) => void): Promise<Server | undefined> {
  const server = createServer(onSocket);
  return new Promise((ok) => {
    server.once('error', () => ok(undefined));
    server.listen(0, '::1', () => ok(server));
  });
}

test('the TCP connection actor connects to [::1]:port and speaks the handshake', async (t) => {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = await listenOnIpv6Loopback((socket) => {
    sockets.add(socket);
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < HANDSHAKE_LENGTH) return;
      received.push(got.subarray(0, HANDSHAKE_LENGTH));
      socket.write(encodeHandshake({ reserved: RESERVED, infoHash: INFO_HASH, peerId: THEIR_ID }));
      socket.write(encodeMessage({ type: 'unchoke' }));
    });
    socket.on('error', () => {});
  });
  if (server === undefined) return t.skip('this machine cannot listen on ::1');
  t.after(
    () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  );
  const { port, address: host } = server.address() as { port: number; address: string };
  assert.equal(host, '::1');
  const address = formatPeerAddress({ host, port });
  assert.equal(address, `[::1]:${port}`);
  assert.deepEqual(parsePeerAddress(address), { host: '::1', port });

  const events: { type: string; [k: string]: unknown }[] = [];
  const parent = createMachine({
    types: {} as { events: { type: string } },
    invoke: { id: 'connection', src: tcpConnection, input: { address, direction: 'outgoing', handle: null } },
    on: {
      '*': [
        {
          guard: ({ event }) => event.type === 'socket.connected',
          actions: [
            ({ event }) => events.push(event),
            sendTo(
              'connection',
              (): ConnectionCommand => ({
                type: 'send',
                message: { type: 'handshake', reserved: RESERVED, infoHash: INFO_HASH, peerId: OUR_ID },
              }),
            ),
          ],
        },
        { actions: ({ event }) => events.push(event) },
      ],
    },
  });
  const actor = createActor(parent).start();
  t.after(() => actor.stop());
  const end = performance.now() + 5000;
  while (!events.some((e) => e.type === 'wire.unchoke')) {
    assert.ok(performance.now() < end, `timed out: ${JSON.stringify(events.map((e) => e.type))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(
    events.map((e) => e.type),
    ['socket.connected', 'wire.handshake', 'wire.unchoke'],
  );
  const handshake = events[1] as unknown as { peerId: Uint8Array };
  assert.deepEqual(Buffer.from(handshake.peerId), Buffer.from(THEIR_ID));
  assert.deepEqual(
    Buffer.from(received[0]!.subarray(28, 48)),
    Buffer.from(INFO_HASH),
    'our handshake arrived',
  );
  assert.deepEqual(Buffer.from(received[0]!.subarray(48, 68)), Buffer.from(OUR_ID));
});
