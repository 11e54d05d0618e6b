/**
 * uTP connections (BEP 29) between two socket managers (src/utp/utp-socket-manager.ts), each on its
 * own UDP socket bound to 127.0.0.1: megabytes both ways with the right SHA-1 and a clean close (both
 * FINs, no ST_RESET); DATA for no connection answered by ST_RESET; a SYN nobody accepts refused;
 * a dial to a silent port given up; `maxConnections` held; `destroy()` resetting the other side; and
 * a connection whose peer forgot it (its endpoint restarted) reset by that peer's RESET instead of
 * timing out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import type { UtpError } from '../../../src/utp/utp-error.js';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  type UtpPacket,
  type UtpPacketType,
} from '../../../src/utp/utp-packet.js';
import type { UtpSocket } from '../../../src/utp/utp-socket.js';
import { UtpSocketManager, type UtpSocketManagerOptions } from '../../../src/utp/utp-socket-manager.js';

const HOST = '127.0.0.1';
/** A guard, not a timing: a broken build fails here instead of hanging the suite (each test takes ~1 s). */
const GUARD = { timeout: 60_000 };

interface Endpoint {
  readonly udp: UdpSocket;
  readonly port: number;
  manager: UtpSocketManager;
  /** Types of the datagrams this endpoint sent. */
  readonly sentTypes: number[];
  /** While false, what the manager sends is dropped (a machine gone silent). */
  sending: boolean;
}

async function bind(): Promise<UdpSocket> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, HOST, resolve));
  return udp;
}

/** A raw UDP socket on 127.0.0.1, closed after the test. */
async function bound(t: TestContext): Promise<UdpSocket> {
  const udp = await bind();
  t.after(() => closeUdp(udp));
  return udp;
}

function closeUdp(udp: UdpSocket): void {
  try {
    udp.close();
  } catch {
    // closed already
  }
}

/**
 * A manager on its own UDP socket; after the test the manager is closed (its RESETs sent), then
 * the socket.
 */
async function endpoint(t: TestContext, opts: UtpSocketManagerOptions = {}): Promise<Endpoint> {
  const udp = await bind();
  const e: Endpoint = {
    udp,
    port: udp.address().port,
    manager: undefined as unknown as UtpSocketManager,
    sentTypes: [],
    sending: true,
  };
  e.manager = new UtpSocketManager(
    {
      send: (bytes, port, host) => {
        e.sentTypes.push(bytes[0]![0]! >> 4);
        if (e.sending) udp.send(bytes as Uint8Array[], port, host);
      },
    },
    opts,
  );
  udp.on('message', (msg, from) => e.manager.receive(msg, from));
  t.after(() => {
    e.manager.close();
    closeUdp(udp);
  });
  return e;
}

/** A connected pair: `client` dialled from `a`, `server` accepted by `b`. */
async function connectedPair(a: Endpoint, b: Endpoint): Promise<{ client: UtpSocket; server: UtpSocket }> {
  const accepted = new Promise<UtpSocket>((resolve) => b.manager.onConnection(resolve));
  const client = a.manager.connect(b.port, HOST);
  await once(client, 'connect');
  return { client, server: await accepted };
}

/** `n` pseudo-random bytes (xorshift32 from `seed`). */
function randomBytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** Writes `data` in 16 KiB chunks, waiting for 'drain' when the socket asks to. */
async function writeAll(socket: UtpSocket, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 16384) {
    // A fresh buffer per write, overwritten once taken: the bytes sent must be the ones written.
    const chunk = Buffer.from(data.subarray(at, at + 16384));
    if (!socket.write(chunk, () => chunk.fill(0xee))) await once(socket, 'drain');
  }
}

function closeOf(socket: UtpSocket): Promise<UtpError | undefined> {
  return new Promise((resolve) => {
    let error: UtpError | undefined;
    socket.on('error', (e) => {
      error = e as UtpError;
    });
    socket.once('close', () => resolve(error));
  });
}

function header(type: UtpPacketType, connectionId: number, seqNr: number): Uint8Array {
  return encodeUtpHeader({
    type,
    connectionId,
    timestamp: 0,
    timestampDifference: 0,
    windowSize: 65536,
    seqNr,
    ackNr: 0,
  });
}

async function nextPacket(udp: UdpSocket): Promise<UtpPacket> {
  const [msg] = (await once(udp, 'message')) as [Buffer];
  const p = decodeUtpPacket(msg);
  assert.equal(typeof p, 'object', String(p));
  return p as UtpPacket;
}

test(
  'megabytes both ways arrive with the right SHA-1, and both sides close cleanly (no RESET)',
  GUARD,
  async (t) => {
    const a = await endpoint(t);
    const b = await endpoint(t);
    const { client, server } = await connectedPair(a, b);
    const up = randomBytes(3 * 1024 * 1024 + 777, 1);
    const down = randomBytes(2 * 1024 * 1024 + 4321, 2);
    const closes = [closeOf(client), closeOf(server)];
    // Each side ends once it wrote everything and read all it expects (a peer's FIN ends our writing
    // side too, as TCP's without half-open), then reads on to the peer's FIN.
    const side = async (socket: UtpSocket, out: Buffer, expected: number) => {
      const chunks: Buffer[] = [];
      let read = 0;
      const gotAll = new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if ((read += chunk.length) >= expected) resolve();
        }),
      );
      const ended = once(socket, 'end');
      await writeAll(socket, out);
      await gotAll;
      socket.end();
      await ended;
      return Buffer.concat(chunks);
    };
    const [atClient, atServer] = await Promise.all([
      side(client, up, down.length),
      side(server, down, up.length),
    ]);
    assert.equal(sha1(atClient), sha1(down));
    assert.equal(sha1(atServer), sha1(up));
    assert.deepEqual(await Promise.all(closes), [undefined, undefined]);
    assert.ok(!a.sentTypes.includes(ST_RESET) && !b.sentTypes.includes(ST_RESET), 'a RESET was sent');
    assert.equal(a.manager.size, 0);
    assert.equal(b.manager.size, 0);
  },
);

test(
  'DATA for no connection is answered by ST_RESET (a RESET, STATE or FIN, or bytes that are no uTP, by nothing)',
  GUARD,
  async (t) => {
    const b = await endpoint(t);
    const raw = await bound(t);
    // Neither of these is answered, so the first answer is the DATA's.
    raw.send(header(ST_RESET, 777, 5), b.port, HOST);
    raw.send(Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe'), b.port, HOST);
    raw.send(Buffer.concat([header(ST_DATA, 777, 42), Buffer.from('hello')]), b.port, HOST);
    const reset = await nextPacket(raw);
    assert.equal(reset.type, ST_RESET);
    assert.equal(reset.connectionId, 777);
    assert.equal(reset.ackNr, 42);
    // A STATE or a FIN for no connection is not answered (acks and FINs still come after a clean
    // close); DATA is, again.
    raw.send(header(ST_STATE, 9000, 7), b.port, HOST);
    raw.send(header(ST_FIN, 9001, 8), b.port, HOST);
    raw.send(Buffer.concat([header(ST_DATA, 9002, 9), Buffer.from('again')]), b.port, HOST);
    const second = await nextPacket(raw);
    assert.equal(second.type, ST_RESET);
    assert.equal(second.connectionId, 9002);
    assert.equal(second.ackNr, 9);
    assert.equal(b.manager.size, 0);
  },
);

test(
  'a SYN when no handler takes connections is answered by ST_RESET: the dial fails with ECONNREFUSED',
  GUARD,
  async (t) => {
    const a = await endpoint(t);
    const b = await endpoint(t);
    const client = a.manager.connect(b.port, HOST);
    const error = await closeOf(client);
    assert.equal(error?.code, 'ECONNREFUSED');
    assert.deepEqual(b.sentTypes, [ST_RESET]);
    assert.equal(b.manager.size, 0);
    assert.equal(a.manager.size, 0);
  },
);

test(
  'a dial to a port where nothing listens fails with ETIMEDOUT after the SYN and its two resends',
  GUARD,
  async (t) => {
    // The SYN is resent after 1 s and 2 s more, and given up 4 s after that: the dialer's clock (the
    // manager's `now`) runs 10 times fast so the test waits 0.7 s of real time for those 7 s.
    const start = performance.now();
    const a = await endpoint(t, { now: () => (performance.now() - start) * 10 });
    const nobody = await bound(t);
    const port = nobody.address().port;
    nobody.close(); // nothing is bound there any more
    const client = a.manager.connect(port, HOST);
    const error = await closeOf(client);
    assert.ok(error?.code === 'ETIMEDOUT' || error?.code === 'ECONNREFUSED', error?.code);
    if (error?.code === 'ETIMEDOUT') assert.deepEqual(a.sentTypes, [ST_SYN, ST_SYN, ST_SYN]);
    assert.equal(a.manager.size, 0);
  },
);

test('maxConnections bounds the incoming connections: a SYN past it is refused', GUARD, async (t) => {
  const a = await endpoint(t);
  const b = await endpoint(t, { maxConnections: 2 });
  const accepted: UtpSocket[] = [];
  b.manager.onConnection((s) => accepted.push(s));
  const first = a.manager.connect(b.port, HOST);
  await once(first, 'connect');
  const second = a.manager.connect(b.port, HOST);
  await once(second, 'connect');
  const third = a.manager.connect(b.port, HOST);
  assert.equal((await closeOf(third))?.code, 'ECONNREFUSED');
  assert.equal(accepted.length, 2);
  assert.equal(b.manager.size, 2);
  // One closed: room for one more.
  const gone = closeOf(accepted[0]!);
  accepted[0]!.destroy();
  await gone;
  const fourth = a.manager.connect(b.port, HOST);
  await once(fourth, 'connect');
  assert.equal(accepted.length, 3);
  assert.equal(b.manager.size, 2);
});

for (const destroyer of ['client', 'server'] as const) {
  test(
    `destroy(error) mid-transfer (by the ${destroyer}) sends ST_RESET: the other side errors with ECONNRESET`,
    GUARD,
    async (t) => {
      const a = await endpoint(t);
      const b = await endpoint(t);
      const pair = await connectedPair(a, b);
      const [ours, theirs] = destroyer === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
      const closes = [closeOf(ours), closeOf(theirs)];
      // The other side sends without end; we destroy once some of it arrived.
      void writeAll(theirs, Buffer.alloc(8 * 1024 * 1024, 3)).catch(() => {});
      theirs.on('data', () => {});
      await once(ours, 'data');
      const sent = (destroyer === 'client' ? a : b).sentTypes;
      const before = sent.length;
      ours.destroy(new Error('gone'));
      assert.deepEqual(sent.slice(before), [ST_RESET], 'destroy(error) sends ST_RESET at once');
      const [ourClose, theirClose] = await Promise.all(closes);
      assert.equal(ourClose?.message, 'gone');
      assert.equal(theirClose?.code, 'ECONNRESET');
      assert.equal(a.manager.size, 0);
      assert.equal(b.manager.size, 0);
    },
  );

  test(
    `destroy() without an error (by the ${destroyer}) sends our FIN once, as a TCP close: the other side ends at once`,
    GUARD,
    async (t) => {
      const a = await endpoint(t);
      const b = await endpoint(t);
      const pair = await connectedPair(a, b);
      const [ours, theirs] = destroyer === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
      const closes = [closeOf(ours), closeOf(theirs)];
      let theirEnd = false;
      theirs.on('end', () => {
        theirEnd = true;
      });
      theirs.on('data', () => {});
      await writeAll(ours, Buffer.alloc(64 * 1024, 5));
      const sent = (destroyer === 'client' ? a : b).sentTypes;
      const before = sent.length;
      ours.destroy();
      assert.deepEqual(sent.slice(before), [ST_FIN], 'destroy() sends ST_FIN at once, no ST_RESET');
      const [ourClose, theirClose] = await Promise.all(closes);
      assert.equal(ourClose, undefined);
      // Everything we wrote had arrived or arrives with the FIN: the other side reads its end and
      // closes without an error, where a RESET made it ECONNRESET for every finished peer.
      assert.equal(theirClose, undefined);
      assert.equal(theirEnd, true);
      assert.equal(a.manager.size, 0);
      assert.equal(b.manager.size, 0);
    },
  );
}

for (const forgetter of ['client', 'server'] as const) {
  test(
    `a connection its peer forgot (the ${forgetter}'s endpoint restarted) is reset by the peer's answer, not left to time out`,
    GUARD,
    async (t) => {
      const a = await endpoint(t);
      const b = await endpoint(t);
      const pair = await connectedPair(a, b);
      const [gone, survivor] = forgetter === 'client' ? [a, pair.server] : [b, pair.client];
      // The forgetter's endpoint dies without a word and a new manager takes its UDP socket.
      gone.sending = false;
      gone.manager.close();
      gone.manager = new UtpSocketManager({
        send: (bytes, port, host) => gone.udp.send(bytes as Uint8Array[], port, host),
      });
      const closed = closeOf(survivor);
      survivor.write(Buffer.from('are you there?'));
      const error = await closed;
      assert.equal(error?.code, 'ECONNRESET');
    },
  );
}

test(
  'bytes read from a connection do not pin the datagram they came in (1 byte behind a 64 KB extension chain)',
  GUARD,
  async (t) => {
    const b = await endpoint(t);
    const accepted = new Promise<UtpSocket>((resolve) => b.manager.onConnection(resolve));
    // A peer of our own making on a raw UDP socket: its SYN, then DATA once our STATE answers.
    const raw = await bound(t);
    const id = 1234;
    raw.send(header(ST_SYN, id, 100), b.port, HOST);
    const state = await nextPacket(raw);
    assert.equal(state.type, ST_STATE);
    const server = await accepted;
    server.pause(); // the reader reads nothing: the bytes wait in the stream
    const chain = new Uint8Array(250 * 257);
    for (let i = 0; i < 250; i++) {
      chain[i * 257] = i === 249 ? 0 : 9; // next: an unknown extension, the last none
      chain[i * 257 + 1] = 255;
    }
    const data = encodeUtpHeader({
      type: ST_DATA,
      connectionId: id + 1,
      timestamp: 0,
      timestampDifference: 0,
      windowSize: 65536,
      seqNr: 101,
      ackNr: state.seqNr - 1,
    });
    data[1] = 9;
    raw.send(Buffer.concat([data, chain, Buffer.from('x')]), b.port, HOST);
    const ack = await nextPacket(raw);
    assert.equal(ack.ackNr, 101, 'taken');
    const chunk = server.read() as Buffer;
    assert.equal(chunk.toString(), 'x');
    assert.ok(chunk.buffer.byteLength < chain.length, `1 byte read holds ${chunk.buffer.byteLength} bytes`);
  },
);

test(
  'both ends close at once while our reader is paused: the bytes and the end the peer sent before its FIN still reach the reader',
  GUARD,
  async (t) => {
    const a = await endpoint(t);
    const b = await endpoint(t);
    const { client, server } = await connectedPair(a, b);
    const events: string[] = [];
    for (const event of ['finish', 'end', 'close']) client.on(event, () => events.push(event));
    const closed = once(client, 'close');
    // The client reads nothing yet (a paused reader: the disk is behind). Both end at once: the
    // server's last bytes and its FIN cross the client's FIN, so the client holds the server's FIN
    // before the ack of its own.
    server.on('data', () => {});
    server.write(Buffer.from('last words'));
    server.end();
    client.end();
    await once(client, 'finish'); // our FIN acknowledged: both FINs are in
    assert.equal(client.connection.peerEnded, true);
    // As a TCP socket, the stream stays open until its reader took what came before the FIN.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['finish'], 'closed before its reader got the bytes and the end');
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    await closed;
    assert.equal(Buffer.concat(chunks).toString(), 'last words');
    assert.deepEqual(events, ['finish', 'end', 'close']);
  },
);
