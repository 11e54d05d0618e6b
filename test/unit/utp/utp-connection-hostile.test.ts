/**
 * What a hostile uTP peer can make one connection (src/utp/utp-connection.ts) hold or do: packets
 * crafted here are handed to a responder as its socket would, and what it sends, hands on and holds
 * (read from the window it advertises) is checked. Memory stays bounded whatever the peer sends —
 * DATA far ahead fills the reorder buffer only up to MAX_REORDER_PACKETS and the receive window, a
 * peer ignoring our zero window fills nothing; acks and selective acks of packets we never sent
 * change nothing; a resent SYN is answered again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_REORDER_PACKETS, UTP_RECEIVE_WINDOW, UtpConnection } from '../../../src/utp/utp-connection.js';
import type { UtpError } from '../../../src/utp/utp-error.js';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_STATE,
  ST_SYN,
  seqAdd,
  type UtpPacket,
  type UtpPacketType,
} from '../../../src/utp/utp-packet.js';

/** The peer's (initiator's) connection id: its SYN carries it, the responder sends with it. */
const PEER_ID = 4000;
/** The responder's first seq_nr. */
const OUR_SEQ = 1000;

interface Harness {
  readonly conn: UtpConnection;
  /** Everything the responder sent, decoded. */
  readonly sent: UtpPacket[];
  /** The bytes it handed on, in order. */
  readonly data: Uint8Array[];
  readonly closes: (UtpError | undefined)[];
  writable: number;
  now: number;
  buffered: number;
  /** A packet from the peer, as the socket hands it over (then the batch's ack). */
  fromPeer(p: Partial<UtpPacket> & { type: UtpPacketType }, extra?: { chain?: Uint8Array }): void;
}

/** A responder that accepted the peer's SYN (seq_nr `peerSeq`). */
function responder(peerSeq: number, o: { receiveWindow?: number; peerWindow?: number } = {}): Harness {
  const h: Harness = {
    conn: undefined as unknown as UtpConnection,
    sent: [],
    data: [],
    closes: [],
    writable: 0,
    now: 0,
    buffered: 0,
    fromPeer(p, extra) {
      h.conn.receive(packet(p, extra?.chain));
      h.conn.sendAck();
    },
  };
  (h as { conn: UtpConnection }).conn = new UtpConnection({
    receiveId: PEER_ID + 1,
    sendId: PEER_ID,
    initialSeq: OUR_SEQ,
    ...(o.receiveWindow === undefined ? {} : { receiveWindow: o.receiveWindow }),
    io: {
      now: () => h.now,
      send: (header, payload) => {
        const p = decodeUtpPacket(Buffer.concat([header, payload]));
        assert.equal(typeof p, 'object');
        h.sent.push(p as UtpPacket);
      },
      data: (bytes) => h.data.push(bytes),
      buffered: () => h.buffered,
      connected: () => {},
      writable: () => h.writable++,
      end: () => {},
      finished: () => {},
      closed: (e) => h.closes.push(e),
    },
  });
  h.conn.accept(
    packet({ type: ST_SYN, connectionId: PEER_ID, seqNr: peerSeq, windowSize: o.peerWindow ?? 1 << 20 }),
  );
  return h;
}

/**
 * A packet from the peer, encoded and decoded as it would come off the wire. `chain`: bytes of
 * unknown extensions put between the header and the payload (the header's extension byte names 9).
 */
function packet(p: Partial<UtpPacket> & { type: UtpPacketType }, chain?: Uint8Array): UtpPacket {
  const header = encodeUtpHeader({
    type: p.type,
    connectionId: p.connectionId ?? PEER_ID + 1,
    timestamp: p.timestamp ?? 0,
    timestampDifference: p.timestampDifference ?? 0,
    windowSize: p.windowSize ?? 1 << 20,
    seqNr: p.seqNr ?? 0,
    ackNr: p.ackNr ?? 0,
    ...(p.selectiveAck === undefined ? {} : { selectiveAck: p.selectiveAck }),
  });
  if (chain !== undefined) header[1] = 9;
  const bytes = Buffer.concat([header, chain ?? new Uint8Array(0), p.payload ?? new Uint8Array(0)]);
  const decoded = decodeUtpPacket(bytes);
  assert.equal(typeof decoded, 'object', String(decoded));
  return decoded as UtpPacket;
}

/** An unknown-extension chain of `links` links of 255 bytes each (the last ends the chain). */
function extensionChain(links: number): Uint8Array {
  const chain = new Uint8Array(links * 257);
  for (let i = 0; i < links; i++) {
    chain[i * 257] = i === links - 1 ? 0 : 9;
    chain[i * 257 + 1] = 255;
  }
  return chain;
}

/** A payload naming its packet: `length` bytes, the first two the seq_nr. */
function payloadOf(seq: number, length: number): Uint8Array {
  const b = new Uint8Array(length).fill(0x5a);
  b[0] = seq >> 8;
  b[1] = seq & 0xff;
  return b;
}

const lastSent = (h: Harness) => h.sent[h.sent.length - 1]!;
const total = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);

test('DATA far ahead: the reorder buffer holds at most MAX_REORDER_PACKETS past the hole, across the wrap', () => {
  const peerSeq = 0xffff - 100; // the packets ahead wrap past 65535
  const h = responder(peerSeq);
  const next = seqAdd(peerSeq, 1);
  for (let d = 2; d <= 3 * MAX_REORDER_PACKETS; d++)
    h.fromPeer({ type: ST_DATA, seqNr: seqAdd(next, d - 1), ackNr: OUR_SEQ - 1, payload: payloadOf(d, 10) });
  assert.equal(h.data.length, 0, 'nothing is in order yet');
  // Held: distances 2..MAX_REORDER_PACKETS (the hole is at 1), 10 bytes each; the window says so.
  const held = MAX_REORDER_PACKETS - 1;
  const ack = lastSent(h);
  assert.equal(ack.type, ST_STATE);
  assert.equal(ack.ackNr, peerSeq);
  assert.equal(ack.windowSize, UTP_RECEIVE_WINDOW - held * 10);
  assert.ok(ack.selectiveAck !== undefined && ack.selectiveAck.length <= 32, 'the selective ack is bounded');
  // The hole filled: exactly the held packets come out behind it, in order.
  h.fromPeer({ type: ST_DATA, seqNr: next, ackNr: OUR_SEQ - 1, payload: payloadOf(1, 10) });
  assert.equal(h.data.length, 1 + held);
  h.data.forEach((b, i) => {
    assert.equal((b[0]! << 8) | b[1]!, i + 1);
  });
  assert.equal(lastSent(h).ackNr, seqAdd(peerSeq, 1 + held));
  assert.equal(lastSent(h).windowSize, UTP_RECEIVE_WINDOW);
});

test('DATA far ahead: the reorder buffer holds at most the receive window in bytes', () => {
  const window = 64 * 1024;
  const h = responder(500, { receiveWindow: window });
  for (let d = 2; d <= 400; d++)
    h.fromPeer({ type: ST_DATA, seqNr: 500 + d, ackNr: OUR_SEQ - 1, payload: payloadOf(d, 1000) });
  const held = Math.floor(window / 1000);
  assert.equal(lastSent(h).windowSize, window - held * 1000);
  h.fromPeer({ type: ST_DATA, seqNr: 501, ackNr: OUR_SEQ - 1, payload: payloadOf(1, 1000) });
  assert.equal(total(h.data), (1 + held) * 1000);
  assert.equal(lastSent(h).ackNr, 501 + held);
});

test('a packet held out of order keeps its payload, not the datagram it came in (a long extension chain)', () => {
  const h = responder(500, { receiveWindow: 64 * 1024 });
  // 1-byte payloads behind 64 KB of unknown extensions: held as datagrams they would pin 64 MB.
  const chain = extensionChain(250);
  for (let d = 2; d <= 100; d++)
    h.fromPeer({ type: ST_DATA, seqNr: 500 + d, ackNr: OUR_SEQ - 1, payload: Uint8Array.of(d) }, { chain });
  h.fromPeer({ type: ST_DATA, seqNr: 501, ackNr: OUR_SEQ - 1, payload: Uint8Array.of(1) });
  assert.equal(h.data.length, 100);
  for (const b of h.data.slice(1))
    assert.ok(b.buffer.byteLength < 1024, `held ${b.buffer.byteLength} bytes for 1`);
});

test('a peer ignoring our zero window (the reader reads nothing) gets its data dropped unacknowledged', () => {
  const h = responder(700);
  h.buffered = 10 * UTP_RECEIVE_WINDOW; // the reader never reads
  for (let seq = 701; seq < 801; seq++)
    h.fromPeer({ type: ST_DATA, seqNr: seq, ackNr: OUR_SEQ - 1, payload: payloadOf(seq, 1000) });
  for (let seq = 803; seq < 900; seq++)
    h.fromPeer({ type: ST_DATA, seqNr: seq, ackNr: OUR_SEQ - 1, payload: payloadOf(seq, 1000) });
  assert.equal(h.data.length, 0);
  const ack = lastSent(h);
  assert.equal(ack.ackNr, 700, 'nothing acknowledged');
  assert.equal(ack.windowSize, 0);
  assert.equal(ack.selectiveAck, undefined, 'nothing held');
  // Once the reader has read, the resend is taken.
  h.buffered = 0;
  h.fromPeer({ type: ST_DATA, seqNr: 701, ackNr: OUR_SEQ - 1, payload: payloadOf(701, 1000) });
  assert.equal(h.data.length, 1);
  assert.equal(lastSent(h).ackNr, 701);
});

/** A responder with `bytes` written: two packets in flight (the initial window), the rest queued. */
function sending(bytes: number): Harness {
  const h = responder(300);
  h.conn.write(new Uint8Array(bytes));
  assert.deepEqual(
    h.sent.filter((p) => p.type === ST_DATA).map((p) => p.seqNr),
    [OUR_SEQ, OUR_SEQ + 1],
  );
  return h;
}

test('acks of sequence numbers we never sent are ignored: nothing counted as acknowledged', () => {
  const h = sending(5000);
  const before = { pending: h.conn.pendingBytes, window: h.conn.congestionWindow, sent: h.sent.length };
  for (const ackNr of [
    OUR_SEQ + 2,
    OUR_SEQ + 5,
    OUR_SEQ + 0x7000,
    OUR_SEQ + 0x8000,
    OUR_SEQ - 0x7000,
    0,
    0xffff,
  ])
    for (let i = 0; i < 4; i++) h.fromPeer({ type: ST_STATE, seqNr: 301, ackNr });
  assert.equal(h.conn.pendingBytes, before.pending);
  assert.equal(h.conn.congestionWindow, before.window);
  assert.equal(h.writable, 0);
  assert.equal(h.conn.stats.fastResends, 0);
  assert.equal(h.sent.length, before.sent, 'nothing resent or sent');
  assert.equal(h.conn.state, 'connected');
  // A true ack still counts.
  h.fromPeer({ type: ST_STATE, seqNr: 301, ackNr: OUR_SEQ });
  assert.equal(h.writable, 1);
  assert.ok(h.conn.pendingBytes < before.pending);
});

test('a selective ack with every bit set, for packets never sent, changes nothing', () => {
  const h = sending(5000);
  const before = { pending: h.conn.pendingBytes, window: h.conn.congestionWindow, sent: h.sent.length };
  const everyBit = new Uint8Array(32).fill(0xff);
  // Past what we sent (the cumulative ack_nr too), and before our first seq_nr.
  for (const ackNr of [OUR_SEQ + 2, OUR_SEQ + 40, OUR_SEQ - 300, OUR_SEQ + 0x8000])
    for (let i = 0; i < 4; i++) h.fromPeer({ type: ST_STATE, seqNr: 301, ackNr, selectiveAck: everyBit });
  assert.equal(h.conn.pendingBytes, before.pending);
  assert.equal(h.conn.congestionWindow, before.window);
  assert.equal(h.writable, 0);
  assert.equal(h.conn.stats.fastResends, 0);
  assert.equal(h.sent.length, before.sent);
  assert.equal(h.conn.state, 'connected');
});

test('a resent SYN gets our STATE again, with the seq_nr our first DATA has', () => {
  const h = responder(300);
  const first = lastSent(h);
  assert.equal(first.type, ST_STATE);
  assert.equal(first.ackNr, 300);
  assert.equal(first.seqNr, OUR_SEQ);
  h.conn.write(new Uint8Array(100)); // sent at once: our first DATA
  assert.equal(lastSent(h).type, ST_DATA);
  h.fromPeer({ type: ST_SYN, connectionId: PEER_ID, seqNr: 300 });
  const again = lastSent(h);
  assert.equal(again.type, ST_STATE);
  assert.equal(again.connectionId, PEER_ID);
  assert.equal(again.ackNr, 300);
  assert.equal(again.seqNr, OUR_SEQ, 'the initiator takes seq_nr - 1 as ours acknowledged');
  // A SYN that is not the one we answered gets nothing.
  const count = h.sent.length;
  h.fromPeer({ type: ST_SYN, connectionId: PEER_ID, seqNr: 301 });
  assert.equal(h.sent.length, count);
  assert.deepEqual(h.closes, []);
});
