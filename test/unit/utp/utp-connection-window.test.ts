/**
 * A reader that pauses (the disk is behind, the download limit) closes the receive window it
 * advertises; the sender (src/utp/utp-connection.ts) then probes it on its retransmission timer,
 * backing off to a minute. When the reader reads again the transfer must go on at once and at the
 * speed it had: the window update answers with data within the one-way delay, and the probes the
 * peer dropped past its closed window did not cost the sender its congestion window. Two
 * connections on a lossless wire of fixed delay, with a virtual clock ticked every TICK_MS. And a
 * window open less than a packet (libtorrent's, whose reader is behind) is probed for as long as the
 * peer answers, as a closed one is, not given up as a dead peer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UTP_RECEIVE_WINDOW, UtpConnection } from '../../../src/utp/utp-connection.js';
import {
  decodeUtpPacket,
  encodeUtpHeader,
  ST_DATA,
  ST_STATE,
  ST_SYN,
  type UtpPacket,
} from '../../../src/utp/utp-packet.js';
import { TICK_MS } from '../../../src/utp/utp-socket-manager.js';
import { recordingConnection } from './recording-connection.js';

const DELAY_MS = 20;

interface Side {
  conn: UtpConnection | undefined;
  received: number;
  unread: number;
  ended: boolean;
  /** What this side sent: when, and the packet. */
  readonly sent: { at: number; packet: UtpPacket }[];
}

test('a paused reader that reads again gets data within the one-way delay, from a sender that kept its window', () => {
  let now = 0;
  const queue: { at: number; to: Side; bytes: Uint8Array }[] = [];
  const side = (): Side => ({ conn: undefined, received: 0, unread: 0, ended: false, sent: [] });
  const a = side();
  const b = side();
  const io = (self: Side, other: Side) => ({
    now: () => now,
    send: (header: Uint8Array, payload: Uint8Array) => {
      const bytes = Buffer.concat([header, payload]);
      self.sent.push({ at: now, packet: decodeUtpPacket(bytes) as UtpPacket });
      queue.push({ at: now + DELAY_MS, to: other, bytes });
    },
    data: (bytes: Uint8Array) => {
      self.received += bytes.length;
      self.unread += bytes.length;
    },
    buffered: () => self.unread,
    connected: () => {},
    writable: () => {},
    end: () => {
      self.ended = true;
    },
    finished: () => {},
    closed: () => assert.fail('a connection closed'),
  });
  a.conn = new UtpConnection({ receiveId: 100, sendId: 101, initialSeq: 65000, io: io(a, b) });
  const length = 3 * UTP_RECEIVE_WINDOW;
  const pauseUntil = 200_000; // long enough for the probes' timer to back off to its cap
  let nextTick = TICK_MS;
  let windowClosedAt: number | undefined;
  let windowAtClose = 0;
  const step = () => {
    const due = queue.filter((d) => d.at <= now);
    for (const d of due) queue.splice(queue.indexOf(d), 1);
    const batch = new Set<Side>();
    for (const d of due) {
      const p = decodeUtpPacket(d.bytes) as UtpPacket;
      if (d.to === b && b.conn === undefined) {
        assert.equal(p.type, ST_SYN);
        b.conn = new UtpConnection({
          receiveId: p.connectionId + 1,
          sendId: p.connectionId,
          initialSeq: 7,
          io: io(b, a),
        });
        b.conn.accept(p);
        continue;
      }
      if (d.to === a && p.type === ST_STATE && p.windowSize === 0 && windowClosedAt === undefined) {
        windowClosedAt = now;
        windowAtClose = a.conn!.congestionWindow;
      }
      d.to.conn!.receive(p);
      batch.add(d.to);
    }
    for (const s of batch) s.conn!.sendAck();
    // The reader: A's always; B's from pauseUntil on.
    for (const s of [a, b]) {
      if (s.unread === 0 || (s === b && now < pauseUntil)) continue;
      s.unread = 0;
      s.conn?.windowOpened();
    }
    if (now >= nextTick) {
      nextTick += TICK_MS;
      a.conn!.tick();
      b.conn?.tick();
    }
  };
  const runUntil = (stop: () => boolean, limit: number) => {
    while (!stop() && now < limit) {
      step();
      let next = nextTick;
      for (const d of queue) next = Math.min(next, d.at);
      if (now < pauseUntil) next = Math.min(next, pauseUntil);
      now = next;
    }
  };

  a.conn.connect();
  runUntil(() => a.conn!.state === 'connected', 10_000);
  a.conn.write(new Uint8Array(length).fill(7));
  a.conn.end();
  runUntil(() => now >= pauseUntil, pauseUntil);
  assert.ok(windowClosedAt !== undefined, 'the paused reader never closed its window');
  assert.ok(a.conn.stats.timeouts >= 3, `the sender probed ${a.conn.stats.timeouts} times`);
  assert.ok(b.received < length, 'the reader paused took everything');
  // Probes dropped past a closed window are not losses.
  assert.ok(
    a.conn.congestionWindow >= windowAtClose,
    `the window was ${windowAtClose} bytes when the peer's closed, ${a.conn.congestionWindow} after the probes`,
  );

  const resumedAt = now;
  // Ten seconds is hundreds of round trips here; a sender waiting on its backed-off timer takes up
  // to a minute.
  runUntil(() => b.ended, resumedAt + 10_000);
  assert.equal(b.received, length, 'the transfer did not go on once the reader read');
  // B's window update left at resumedAt and reached A one delay later: A's next DATA goes then,
  // and it is the packet B is missing (the probe it dropped), not one B must hold behind that hole.
  const update = b.sent.find((s) => s.at >= resumedAt)!;
  assert.equal(update.packet.type, ST_STATE);
  const nextData = a.sent.find((s) => s.at >= resumedAt && s.packet.type === ST_DATA);
  assert.equal(nextData?.at, resumedAt + DELAY_MS, 'the window update was not answered with data at once');
  assert.equal(nextData.packet.seqNr, (update.packet.ackNr + 1) & 0xffff, 'the hole was not resent first');
});

test("a peer whose window is open less than a packet (libtorrent's, its reader behind) is probed as long as it answers, not timed out", () => {
  // libtorrent advertises what its buffer has left, often a few bytes, and drops a packet past it.
  const SMALL_WINDOW = 100;
  let now = 0;
  const closes: unknown[] = [];
  const { conn, sent } = recordingConnection({
    receiveId: 501,
    sendId: 500,
    initialSeq: 1000,
    now: () => now,
    closed: (e) => closes.push(e),
  });
  const fromPeer = (p: { type: number; seqNr: number; ackNr: number; windowSize: number }) =>
    conn.receive(
      decodeUtpPacket(
        encodeUtpHeader({ ...p, type: p.type as 0, connectionId: 501, timestamp: 0, timestampDifference: 0 }),
      ) as UtpPacket,
    );
  conn.accept(
    decodeUtpPacket(
      encodeUtpHeader({
        type: ST_SYN,
        connectionId: 500,
        timestamp: 0,
        timestampDifference: 0,
        windowSize: 1 << 20,
        seqNr: 40,
        ackNr: 0,
      }),
    ) as UtpPacket,
  );
  conn.write(new Uint8Array(20_000));
  // The first two packets are taken; the ack says the peer has SMALL_WINDOW bytes left.
  const acked = 1001;
  fromPeer({ type: ST_STATE, seqNr: 41, ackNr: acked, windowSize: SMALL_WINDOW });
  // Ten minutes: each probe is dropped past the window and answered with the same ack.
  let probes = 0;
  for (; now < 10 * 60_000; now += TICK_MS) {
    const before = sent.length;
    conn.tick();
    for (const p of sent.slice(before))
      if (p.type === ST_DATA) {
        probes++;
        fromPeer({ type: ST_STATE, seqNr: 41, ackNr: acked, windowSize: SMALL_WINDOW });
      }
  }
  assert.deepEqual(closes, [], 'the connection gave up on a peer that answers every probe');
  assert.ok(probes >= 5, `${probes} probes`);
  // The reader caught up: the window opens and the data goes.
  const before = sent.length;
  fromPeer({ type: ST_STATE, seqNr: 41, ackNr: acked, windowSize: 1 << 20 });
  const data = sent.slice(before).filter((p) => p.type === ST_DATA);
  assert.ok(data.length > 0, 'nothing sent once the window opened');
  assert.equal(data[0]!.seqNr, acked + 1);
});
