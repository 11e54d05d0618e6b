/**
 * Which transport a dial uses (src/net/peer-dial.ts, utp-mode.ts), in the connection actor over
 * real sockets on 127.0.0.1: TCP first and uTP when TCP is refused or every handshake over it is
 * closed unanswered (`on`), uTP first (`prefer`, or an address last reached over uTP), never uTP
 * (`off`). The uTP side is a real socket manager on a UDP port of the same number, whose incoming
 * connections are adopted by a second connection actor, as a session adopts them.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { PeerDial } from '../../../src/net/peer-dial.js';
import { createTcpConnection } from '../../../src/net/tcp-connection.js';
import type { UtpMode } from '../../../src/net/utp-mode.js';
import type { UtpSocket } from '../../../src/utp/utp-socket.js';
import type { UtpSocketManager } from '../../../src/utp/utp-socket-manager.js';
import { encodeHandshake } from '../../../src/wire/encode-message.js';
import { startUtpManager } from '../../helpers/utp-manager.js';
import { listen, run } from './connection-actor.js';

const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => i + 40);
const handshake = (id: number) =>
  ({
    type: 'handshake',
    reserved: new Uint8Array(8),
    infoHash: INFO_HASH,
    peerId: new Uint8Array(20).fill(id),
  }) as const;

/** A uTP socket manager on a UDP socket bound to 127.0.0.1:`port` (0: any). */
async function utpOn(t: TestContext, port = 0) {
  let syns = 0;
  const utp = await startUtpManager(port, (msg) => {
    if (msg[0]! >> 4 === 4) syns++;
  });
  t.after(() => utp.close());
  return { manager: utp.manager, port: utp.port, syns: () => syns };
}

/** The answering side: each incoming uTP connection adopted by a connection actor that hands back its handshake. */
function answerOverUtp(t: TestContext, manager: UtpSocketManager) {
  const accepted: UtpSocket[] = [];
  manager.onConnection((socket) => {
    accepted.push(socket);
    const peer = run(t, createTcpConnection(), {
      address: `${socket.remoteAddress}:${socket.remotePort}`,
      direction: 'incoming',
      handle: socket,
      infoHash: INFO_HASH,
      pieceCount: 4,
    });
    void peer
      .waitFor((e) => e.type === 'wire.handshake')
      .then(() => peer.send({ type: 'send', message: handshake(9) }));
  });
  return accepted;
}

/**
 * A TCP listener at the uTP peer's port number (`listen`'s arguments), or undefined — the test
 * skipped — when another program holds that TCP port (the UDP one was free).
 */
async function tcpAt(
  t: TestContext,
  onSocket: (s: Socket) => void,
  port: number,
): Promise<number | undefined> {
  try {
    return await listen(t, onSocket, port);
  } catch {
    t.skip('the TCP port of the UDP port number is taken');
    return undefined;
  }
}

function dial(
  t: TestContext,
  port: number,
  utp: UtpSocketManager,
  utpMode: UtpMode,
  over: { utpFirst?: boolean } = {},
) {
  const c = run(t, createTcpConnection({ utp, utpMode }), {
    address: `127.0.0.1:${port}`,
    direction: 'outgoing',
    handle: null,
    infoHash: INFO_HASH,
    pieceCount: 4,
    ...over,
  });
  void c
    .waitFor((e) => e.type === 'socket.connected')
    .then(
      () => c.send({ type: 'send', message: handshake(1) }),
      () => {}, // never connected (`off`): nothing to send
    );
  return c;
}

test('on: TCP refused, the dial goes on over uTP and the handshake says so', async (t) => {
  const peer = await utpOn(t); // nothing listens for TCP on this port number
  const accepted = answerOverUtp(t, peer.manager);
  const ours = await utpOn(t);
  const c = dial(t, peer.port, ours.manager, 'on');
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.transport, 'utp');
  assert.equal(accepted.length, 1);
  assert.equal(
    c.events.filter((e) => e.type === 'socket.connected').length,
    1,
    'the machine hears one connection',
  );
});

test('on: every handshake over TCP closed unanswered (libtorrent with incoming TCP off), then uTP', async (t) => {
  const peer = await utpOn(t);
  const accepted = answerOverUtp(t, peer.manager);
  // A TCP listener on the same port number that accepts and closes, as libtorrent does with
  // enable_incoming_tcp off. The UDP port was free, the TCP one may not be: then skip.
  let tcpDials = 0;
  const port = await tcpAt(
    t,
    (s: Socket) => {
      tcpDials++;
      s.once('data', () => s.destroy());
    },
    peer.port,
  );
  if (port === undefined) return;
  const ours = await utpOn(t);
  const c = dial(t, port, ours.manager, 'on');
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.transport, 'utp');
  assert.equal(tcpDials, 2, 'plain, then MSE over TCP, before uTP');
  assert.equal(accepted.length, 1);
});

test('prefer: uTP first; refused there (ST_RESET), the dial goes on over TCP', async (t) => {
  const peer = await utpOn(t); // no onConnection: every SYN is reset
  const port = await tcpAt(
    t,
    (s: Socket) => {
      s.once('data', () => s.write(encodeHandshake(handshake(9))));
    },
    peer.port,
  );
  if (port === undefined) return;
  const ours = await utpOn(t);
  const c = dial(t, port, ours.manager, 'prefer');
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.transport, 'tcp');
  assert.equal(peer.syns(), 1, 'one uTP SYN came first');
});

test('on, to an address last reached over uTP (utpFirst): uTP first, TCP never tried', async (t) => {
  const peer = await utpOn(t);
  answerOverUtp(t, peer.manager);
  let tcpDials = 0;
  const port = await tcpAt(t, () => tcpDials++, peer.port);
  if (port === undefined) return;
  const ours = await utpOn(t);
  const c = dial(t, port, ours.manager, 'on', { utpFirst: true });
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.transport, 'utp');
  assert.equal(tcpDials, 0);
});

test('off: TCP refused is the end of the dial; no uTP SYN is sent', async (t) => {
  const peer = await utpOn(t);
  answerOverUtp(t, peer.manager);
  const ours = await utpOn(t);
  const c = dial(t, peer.port, ours.manager, 'off');
  const closed = await c.waitFor((e) => e.type === 'socket.closed');
  assert.equal(closed.error, 'ECONNREFUSED');
  assert.equal(peer.syns(), 0);
});

test('prefer, to a host name or an IPv6 address: TCP only (our uTP socket is IPv4, and knows a peer by its IPv4 address)', async (t) => {
  const peer = await utpOn(t);
  answerOverUtp(t, peer.manager);
  const port = await tcpAt(
    t,
    (s: Socket) => {
      s.once('data', () => s.write(encodeHandshake(handshake(9))));
    },
    peer.port,
  );
  if (port === undefined) return;
  const ours = await utpOn(t);
  // The peer's answers would come from 127.0.0.1, a connection the dial made to "localhost" never
  // hears them: its SYN goes unanswered for 7 s before TCP is tried.
  const c = run(t, createTcpConnection({ utp: ours.manager, utpMode: 'prefer' }), {
    address: `localhost:${port}`,
    direction: 'outgoing',
    handle: null,
    infoHash: INFO_HASH,
    pieceCount: 4,
  });
  void c
    .waitFor((e) => e.type === 'socket.connected')
    .then(
      () => c.send({ type: 'send', message: handshake(1) }),
      () => {}, // never connected: the handshake below fails the test
    );
  const hs = await c.waitFor((e) => e.type === 'wire.handshake');
  assert.equal(hs.transport, 'tcp');
  assert.equal(peer.syns(), 0, 'a uTP SYN was sent to a host name');
  assert.equal(
    new PeerDial({ address: `[::1]:${port}`, transports: ['utp', 'tcp'], utp: ours.manager }).transport,
    'tcp',
  );
  assert.equal(
    new PeerDial({ address: `127.0.0.1:${port}`, transports: ['utp', 'tcp'], utp: ours.manager }).transport,
    'utp',
  );
});
