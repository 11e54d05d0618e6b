/**
 * Test helper: one uTP connection (src/utp/utp-connection.ts) whose io records every packet it
 * sends, decoded, and reads the time from `now`; everything else it tells is dropped but its close,
 * which goes to `closed`.
 */
import { UtpConnection } from '../../../src/utp/utp-connection.js';
import { decodeUtpPacket, type UtpPacket } from '../../../src/utp/utp-packet.js';

export function recordingConnection(o: {
  readonly receiveId: number;
  readonly sendId: number;
  readonly initialSeq: number;
  readonly now: () => number;
  readonly closed: (err: unknown) => void;
}): { conn: UtpConnection; sent: UtpPacket[] } {
  const sent: UtpPacket[] = [];
  const conn = new UtpConnection({
    receiveId: o.receiveId,
    sendId: o.sendId,
    initialSeq: o.initialSeq,
    io: {
      now: o.now,
      send: (header, payload) => sent.push(decodeUtpPacket(Buffer.concat([header, payload])) as UtpPacket),
      data: () => {},
      buffered: () => 0,
      connected: () => {},
      writable: () => {},
      end: () => {},
      finished: () => {},
      closed: o.closed,
    },
  });
  return { conn, sent };
}
