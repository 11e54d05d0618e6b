/**
 * A raw BitTorrent client on 127.0.0.1 that handshakes with BEP 52's bit set under `infoHash` (a v2
 * torrent's, or a hybrid's v2 swarm's) and asks hash requests, each resolved with the peer's
 * answer to it (`hashes` or `hashReject`). Its socket is destroyed after the test.
 */
import { connect, type Socket } from 'node:net';
import { encodeHandshake, encodeMessage } from '../../src/wire/encode-message.js';
import type { HashRange, WireItem } from '../../src/wire/messages.js';
import { ourReservedBytes } from '../../src/wire/reserved-bits.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';
import { type TestContext, within } from './temp-dir.js';

/** A client that handshakes (BEP 52's bit set) and collects every message the seeder sends. */
export async function hashRequestClient(t: TestContext, port: number, infoHash: Uint8Array) {
  const socket: Socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: WireItem[] = [];
  const waiters: (() => void)[] = [];
  const decoder = new WireDecoder();
  socket.on('data', (chunk: Buffer) => {
    decoder.push(new Uint8Array(chunk), (item) => {
      received.push(item);
      for (const w of waiters.splice(0)) w();
    });
  });
  socket.write(
    encodeHandshake({ reserved: ourReservedBytes(true), infoHash, peerId: new Uint8Array(20).fill(9) }),
  );
  /** Sends a hash request and resolves with the seeder's answer to it. */
  const ask = (range: HashRange) => {
    socket.write(encodeMessage({ type: 'hashRequest', ...range }));
    const same = (m: WireItem) =>
      (m.type === 'hashes' || m.type === 'hashReject') &&
      m.baseLayer === range.baseLayer &&
      m.index === range.index &&
      m.length === range.length &&
      m.proofLayers === range.proofLayers;
    return within(
      60_000,
      new Promise<WireItem>((resolve) => {
        const look = () => {
          const m = received.find(same);
          if (m === undefined) waiters.push(look);
          else resolve(m);
        };
        look();
      }),
      'the answer to a hash request',
    );
  };
  return { ask };
}
