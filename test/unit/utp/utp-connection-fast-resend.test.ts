/**
 * Fast retransmit (src/utp/utp-connection.ts) happens once per packet: a hole resent for the three
 * packets selectively acknowledged past it is not resent again by the duplicate acks that follow
 * (libtorrent's window-update STATEs repeat the same ack_nr), only by the retransmission timer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_STATE,
  ST_SYN,
  seqAdd,
  type UtpPacket,
} from '../../../src/utp/utp-packet.js';
import { recordingConnection } from './recording-connection.js';

test('a hole fast-resent for a selective ack is not resent again by three duplicate acks', () => {
  const now = 0;
  const { conn, sent } = recordingConnection({
    receiveId: 500,
    sendId: 501,
    initialSeq: 1000,
    now: () => now,
    closed: () => assert.fail('closed'),
  });
  // The peer: its packets to us, as a responder whose first DATA would be seq 77.
  const fromPeer = (type: number, ackNr: number, selectiveAck?: Uint8Array) =>
    decodeUtpPacket(
      encodeUtpHeader({
        type: type as typeof ST_STATE,
        connectionId: 500,
        timestamp: 1,
        timestampDifference: 0,
        windowSize: 1 << 20,
        seqNr: 77,
        ackNr,
        ...(selectiveAck === undefined ? {} : { selectiveAck }),
      }),
    ) as UtpPacket;
  conn.connect();
  const syn = sent[0]!;
  assert.equal(syn.type, ST_SYN);
  conn.receive(fromPeer(ST_STATE, syn.seqNr));
  assert.equal(conn.state, 'connected');
  conn.write(new Uint8Array(1380 * 40));
  // Acks of everything sent so far grow the window (slow start) until several packets are in flight.
  let acked = syn.seqNr;
  for (let round = 0; round < 4; round++) {
    const data = sent.filter((p) => p.type === ST_DATA);
    acked = data[data.length - 1]!.seqNr;
    conn.receive(fromPeer(ST_STATE, acked));
  }
  const inFlight = sent.filter(
    (p) => p.type === ST_DATA && p.seqNr !== acked && seqAdd(p.seqNr, -acked) < 0x8000,
  );
  assert.ok(inFlight.length >= 4, `${inFlight.length} packets in flight`);
  const hole = seqAdd(acked, 1);
  const transmissionsOfHole = () => sent.filter((p) => p.type === ST_DATA && p.seqNr === hole).length;
  // The three packets after the hole arrived: selectively acked (bit i is ack_nr + 2 + i).
  conn.receive(fromPeer(ST_STATE, seqAdd(hole, -1), Uint8Array.from([0b111, 0, 0, 0])));
  assert.equal(transmissionsOfHole(), 2, 'fast-resent once for the selective ack');
  // Window updates repeating the same ack_nr: three duplicate acks.
  for (let i = 0; i < 3; i++) conn.receive(fromPeer(ST_STATE, seqAdd(hole, -1)));
  assert.equal(transmissionsOfHole(), 2, 'not resent a second time by duplicate acks');
});
