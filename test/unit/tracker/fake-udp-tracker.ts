/**
 * A scriptable UDP tracker (BEP 15) on 127.0.0.1 for tests: it answers connect, announce and
 * scrape correctly, and a `fate` function decides, for each request it receives, what reaches
 * the client: the answer, nothing, the answer late, twice, corrupted, or noise before it.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { TrackerPeer } from '../../../src/tracker/announce-types.js';
import { UDP_PROTOCOL_ID } from '../../../src/tracker/udp-codec.js';

export type Fate =
  | { readonly kind: 'answer'; readonly delayMs?: number; readonly duplicate?: boolean }
  | { readonly kind: 'drop' }
  /** `datagram(answer)` is sent instead of the answer (garbage, a truncation, a wrong id…). */
  | { readonly kind: 'replace'; readonly datagram: (answer: Uint8Array) => Uint8Array }
  /** Noise datagrams first, then the answer. */
  | { readonly kind: 'noise'; readonly datagrams: readonly Uint8Array[] };

export interface ReceivedRequest {
  readonly action: number;
  readonly transactionId: number;
  /** Announce only: the BEP 15 event code, `left`, the port and the info-hash (hex). */
  readonly event?: number;
  readonly left?: number;
  readonly port?: number;
  readonly infoHash?: string;
}

export interface FakeUdpTracker {
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

export interface FakeUdpTrackerOptions {
  /** The peers of every answer, or of the answer for an info-hash (hex: a hybrid's two swarms). */
  readonly peers: readonly TrackerPeer[] | ((infoHash: string) => readonly TrackerPeer[]);
  readonly interval?: number;
  readonly fate?: (request: ReceivedRequest, n: number) => Fate;
  /** Answer announces (or those it returns a message for) with the error action and this message. */
  readonly failure?: string | ((request: ReceivedRequest) => string | undefined);
  readonly host?: '127.0.0.1' | '127.0.0.2' | '::1';
}

function peerBytes(peers: readonly TrackerPeer[], family: 4 | 6): Buffer {
  const size = family === 4 ? 6 : 18;
  const b = Buffer.alloc(peers.length * size);
  for (const [i, p] of peers.entries()) {
    // Only the IPv6 forms the tests use: '::1' and fully written addresses.
    const parts =
      family === 4
        ? p.host.split('.').map(Number)
        : p.host === '::1'
          ? [0, 0, 0, 0, 0, 0, 0, 1]
          : p.host.split(':').map((g) => Number.parseInt(g, 16));
    for (const [j, x] of parts.entries()) {
      if (family === 4) b.writeUInt8(x, i * size + j);
      else b.writeUInt16BE(x, i * size + 2 * j);
    }
    b.writeUInt16BE(p.port, i * size + size - 2);
  }
  return b;
}

export async function startFakeUdpTracker(opts: FakeUdpTrackerOptions): Promise<FakeUdpTracker> {
  const host = opts.host ?? '127.0.0.1';
  const family = host === '::1' ? 6 : 4;
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const received: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const connectionIds = new Set<bigint>();
  let nextId = 0x1234_5678_9abcn;
  let closed = false;

  const send = (b: Uint8Array, to: RemoteInfo) => {
    if (!closed) socket.send(b, to.port, to.address);
  };
  const answerTo = (msg: Buffer): { request: ReceivedRequest; answer: Uint8Array } | undefined => {
    if (msg.length < 16) return undefined;
    if (msg.readBigUInt64BE(0) === UDP_PROTOCOL_ID && msg.readUInt32BE(8) === 0) {
      const transactionId = msg.readUInt32BE(12);
      const id = nextId++;
      connectionIds.add(id);
      const a = Buffer.alloc(16);
      a.writeUInt32BE(0, 0);
      a.writeUInt32BE(transactionId, 4);
      a.writeBigUInt64BE(id, 8);
      return { request: { action: 0, transactionId }, answer: a };
    }
    const action = msg.readUInt32BE(8);
    const transactionId = msg.readUInt32BE(12);
    const error = (text: string) => {
      const a = Buffer.concat([Buffer.alloc(8), Buffer.from(text)]);
      a.writeUInt32BE(3, 0);
      a.writeUInt32BE(transactionId, 4);
      return a;
    };
    if (!connectionIds.has(msg.readBigUInt64BE(0)))
      return { request: { action, transactionId }, answer: error('unknown connection id') };
    if (action === 1 && msg.length >= 98) {
      const infoHash = msg.subarray(16, 36).toString('hex');
      const request = {
        action,
        transactionId,
        event: msg.readUInt32BE(80),
        left: Number(msg.readBigUInt64BE(64)),
        port: msg.readUInt16BE(96),
        infoHash,
      };
      const failure = typeof opts.failure === 'function' ? opts.failure(request) : opts.failure;
      if (failure !== undefined) return { request, answer: error(failure) };
      const head = Buffer.alloc(20);
      head.writeUInt32BE(1, 0);
      head.writeUInt32BE(transactionId, 4);
      head.writeUInt32BE(opts.interval ?? 1800, 8);
      head.writeUInt32BE(3, 12); // leechers
      head.writeUInt32BE(5, 16); // seeders
      const peers = typeof opts.peers === 'function' ? opts.peers(infoHash) : opts.peers;
      return { request, answer: Buffer.concat([head, peerBytes(peers, family)]) };
    }
    if (action === 2 && (msg.length - 16) % 20 === 0) {
      const n = (msg.length - 16) / 20;
      const a = Buffer.alloc(8 + 12 * n);
      a.writeUInt32BE(2, 0);
      a.writeUInt32BE(transactionId, 4);
      for (let i = 0; i < n; i++) {
        a.writeUInt32BE(5, 8 + 12 * i);
        a.writeUInt32BE(9 + i, 12 + 12 * i);
        a.writeUInt32BE(3, 16 + 12 * i);
      }
      return { request: { action, transactionId }, answer: a };
    }
    return undefined;
  };

  socket.on('message', (msg, rinfo) => {
    const r = answerTo(msg);
    if (r === undefined) return;
    received.push(r.request);
    const fate = opts.fate?.(r.request, received.length - 1) ?? { kind: 'answer' };
    switch (fate.kind) {
      case 'drop':
        return;
      case 'replace':
        return send(fate.datagram(r.answer), rinfo);
      case 'noise':
        for (const d of fate.datagrams) send(d, rinfo);
        return send(r.answer, rinfo);
      case 'answer': {
        const go = () => {
          send(r.answer, rinfo);
          if (fate.duplicate === true) send(r.answer, rinfo);
        };
        if (fate.delayMs === undefined || fate.delayMs === 0) return go();
        const t = setTimeout(() => {
          timers.delete(t);
          go();
        }, fate.delayMs);
        timers.add(t);
      }
    }
  });
  await new Promise<void>((ok) => socket.bind(0, host, ok));
  const port = socket.address().port;
  return {
    url: family === 6 ? `udp://[::1]:${port}/announce` : `udp://${host}:${port}/announce`,
    received,
    close: () =>
      new Promise<void>((ok) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        socket.close(() => ok());
      }),
  };
}
