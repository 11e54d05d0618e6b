/**
 * The UDP endpoint the DHT and uTP share (src/net/udp-endpoint.ts), on 127.0.0.1: datagrams told
 * apart by their first byte ('d': KRPC; anything else: uTP), one handler per kind, unsubscribing,
 * a uTP SYN or DATA answered by ST_RESET while no uTP handler is set (`--utp off`), sending, close,
 * and a bind that fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UdpEndpoint } from '../../../src/net/udp-endpoint.js';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  type UtpPacketType,
} from '../../../src/utp/utp-packet.js';
import { Inbox, plainSocket } from '../../helpers/datagrams.js';

const KRPC_PING = Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe');
/** uTP headers (BEP 29): ST_SYN (type 4) and ST_DATA (type 0), version 1, the rest zeroes. */
const UTP_SYN = Buffer.concat([Buffer.of(0x41), Buffer.alloc(19)]);
const UTP_DATA = Buffer.concat([Buffer.of(0x01), Buffer.alloc(19), Buffer.from('payload')]);

async function endpoint(t: { after(fn: () => unknown): void }): Promise<UdpEndpoint> {
  const e = await UdpEndpoint.open({ port: 0, host: '127.0.0.1' });
  t.after(() => e.close());
  return e;
}

test("a datagram starting with 'd' goes to onKrpc, any other to onUtp; an empty one is dropped", async (t) => {
  const e = await endpoint(t);
  const peer = await plainSocket(t);
  const krpc = new Inbox();
  const utp = new Inbox();
  e.onKrpc(krpc.take);
  e.onUtp(utp.take);
  peer.socket.send(UTP_SYN, e.port, '127.0.0.1');
  peer.socket.send(KRPC_PING, e.port, '127.0.0.1');
  peer.socket.send(Buffer.alloc(0), e.port, '127.0.0.1');
  peer.socket.send(UTP_DATA, e.port, '127.0.0.1');
  await krpc.until(1);
  await utp.until(2);
  assert.deepEqual(krpc.hex, [KRPC_PING.toString('hex')]);
  // The empty one came before UTP_DATA (one sender on loopback keeps its order): it was dropped.
  assert.deepEqual(utp.hex, [UTP_SYN.toString('hex'), UTP_DATA.toString('hex')]);
  for (const r of [...krpc.received, ...utp.received])
    assert.deepEqual(r.from, { address: '127.0.0.1', port: peer.port });
});

test('one handler per kind; unsubscribed, its kind is dropped until another handler comes', async (t) => {
  const e = await endpoint(t);
  const peer = await plainSocket(t);
  const krpc = new Inbox();
  const first = new Inbox();
  e.onKrpc(krpc.take);
  const stopFirst = e.onUtp(first.take);
  assert.throws(() => e.onUtp(() => {}), /uTP handler/);
  assert.throws(() => e.onKrpc(() => {}), /KRPC handler/);

  peer.socket.send(UTP_SYN, e.port, '127.0.0.1');
  await first.until(1);
  stopFirst();
  stopFirst(); // twice: no harm
  peer.socket.send(UTP_DATA, e.port, '127.0.0.1'); // nobody's: not handed on (answered by ST_RESET)
  peer.socket.send(KRPC_PING, e.port, '127.0.0.1');
  await krpc.until(1); // sent after UTP_DATA: that one has been dealt with
  assert.equal(first.received.length, 1, 'no datagram after unsubscribing');

  const second = new Inbox();
  e.onUtp(second.take);
  peer.socket.send(UTP_SYN, e.port, '127.0.0.1');
  await second.until(1);
  assert.deepEqual(second.hex, [UTP_SYN.toString('hex')], 'UTP_DATA was not kept for it');
  assert.equal(first.received.length, 1);
});

test('send: its parts as one datagram, from the bound port; a send the socket refuses is dropped', async (t) => {
  const e = await endpoint(t);
  const peer = await plainSocket(t);
  assert.equal(e.host, '127.0.0.1');
  assert.ok(e.port > 0);
  e.send(UTP_SYN, 0, '127.0.0.1'); // Node throws at once on port 0
  e.send([UTP_DATA.subarray(0, 20), UTP_DATA.subarray(20)], peer.port, '127.0.0.1');
  e.send(KRPC_PING, peer.port, '127.0.0.1');
  await peer.inbox.until(2);
  assert.deepEqual(peer.inbox.hex, [UTP_DATA.toString('hex'), KRPC_PING.toString('hex')]);
  assert.deepEqual(peer.inbox.received[0]!.from, { address: '127.0.0.1', port: e.port });
});

test('close is idempotent, frees the port, and a send after it is dropped', async (t) => {
  const e = await UdpEndpoint.open({ port: 0, host: '127.0.0.1' });
  const port = e.port;
  const closing = e.close();
  assert.equal(e.close(), closing, 'a second close waits for the first');
  await closing;
  await e.close();
  e.send(UTP_SYN, 9, '127.0.0.1'); // the socket is closed: Node would throw
  assert.equal(e.port, port, 'the port is still known');
  const again = await UdpEndpoint.open({ port, host: '127.0.0.1' });
  t.after(() => again.close());
  assert.equal(again.port, port);
});

test('open rejects with the bind error (EADDRINUSE) when the port is taken; the default host is every interface', async (t) => {
  const e = await endpoint(t);
  await assert.rejects(UdpEndpoint.open({ port: e.port, host: '127.0.0.1' }), { code: 'EADDRINUSE' });
  const any = await UdpEndpoint.open({ port: 0 });
  t.after(() => any.close());
  assert.equal(any.host, '0.0.0.0');
});

/** A uTP header (BEP 29) of `type` with connection id `id` and seq_nr `seq`. */
function utpHeader(type: UtpPacketType, id: number, seq: number): Buffer {
  return Buffer.from(
    encodeUtpHeader({
      type,
      connectionId: id,
      timestamp: 1,
      timestampDifference: 0,
      windowSize: 65536,
      seqNr: seq,
      ackNr: 0,
    }),
  );
}

test('with no uTP handler (--utp off) a SYN and DATA are answered by ST_RESET with their id; a RESET, STATE, FIN or non-uTP bytes by nothing', async (t) => {
  const e = await endpoint(t);
  const peer = await plainSocket(t);
  const krpc = new Inbox();
  e.onKrpc(krpc.take); // the DHT's handler: uTP is off, not the socket
  // None of these is answered, so the first answer is the SYN's.
  peer.socket.send(utpHeader(ST_RESET, 700, 1), e.port, '127.0.0.1');
  peer.socket.send(utpHeader(ST_STATE, 701, 2), e.port, '127.0.0.1');
  peer.socket.send(utpHeader(ST_FIN, 702, 3), e.port, '127.0.0.1');
  peer.socket.send(Buffer.from('not uTP: version 0 and too short'), e.port, '127.0.0.1');
  peer.socket.send(utpHeader(ST_SYN, 4660, 999), e.port, '127.0.0.1');
  await peer.inbox.until(1);
  const reset = decodeUtpPacket(peer.inbox.received[0]!.msg);
  assert.ok(typeof reset !== 'string', reset as string);
  assert.equal(reset.type, ST_RESET);
  assert.equal(reset.connectionId, 4660, "the SYN's id: the one its sender files the connection under");
  assert.equal(reset.ackNr, 999, "the SYN's seq_nr acknowledged, as libtorrent checks");
  assert.deepEqual(peer.inbox.received[0]!.from, { address: '127.0.0.1', port: e.port });

  peer.socket.send(Buffer.concat([utpHeader(ST_DATA, 77, 5), Buffer.from('data')]), e.port, '127.0.0.1');
  await peer.inbox.until(2);
  const second = decodeUtpPacket(peer.inbox.received[1]!.msg);
  assert.ok(typeof second !== 'string' && second.type === ST_RESET);
  assert.equal(second.connectionId, 77);
  assert.equal(second.ackNr, 5);
  assert.equal(krpc.received.length, 0, 'no uTP packet reached the DHT');

  // Once a uTP handler is set, uTP packets are its own: nothing answers for it.
  const utp = new Inbox();
  e.onUtp(utp.take);
  peer.socket.send(utpHeader(ST_SYN, 4661, 1), e.port, '127.0.0.1');
  peer.socket.send(KRPC_PING, e.port, '127.0.0.1');
  await utp.until(1);
  await krpc.until(1); // sent after the SYN: the SYN has been dealt with
  // A RESET for it would have left before this marker (one sender on loopback keeps its order).
  e.send(KRPC_PING, peer.port, '127.0.0.1');
  await peer.inbox.until(3);
  assert.equal(peer.inbox.hex[2], KRPC_PING.toString('hex'), 'no RESET for a packet the handler took');
});
