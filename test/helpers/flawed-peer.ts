/**
 * A small BitTorrent seeder on 127.0.0.1 with one deliberate flaw, for the probe's tests: it answers
 * the handshake (with BEP 6 when `fast`), announces every piece, unchokes at once, and serves each
 * request from `payload` — except where `flaw` says:
 *   corruptBlocks   every block it serves has its first byte flipped (pieces fail their SHA-1)
 *   unrequested     each block served is followed by one of the next piece nobody asked for
 *   lateBitfield    a second announcement (a bitfield) after its first block
 *   sharedBuffer    while another connection opened before this one is still open, every block
 *                   this one gets has its last byte flipped (as a read buffer shared between
 *                   connections would leave it): one connection at a time sees only right bytes
 *   none            no flaw (a conforming peer)
 * Stopped by the test (close()).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pieceLengthAt, type Torrent } from '../../src/metainfo/torrent.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/encode-message.js';
import { FAST_EXTENSION_BIT, FAST_EXTENSION_BYTE } from '../../src/wire/reserved-bits.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';

export type Flaw = 'none' | 'corruptBlocks' | 'unrequested' | 'lateBitfield' | 'sharedBuffer';

export interface FlawedPeer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startFlawedPeer(opts: {
  readonly torrent: Torrent;
  readonly payload: Uint8Array;
  readonly flaw: Flaw;
  readonly fast?: boolean;
}): Promise<FlawedPeer> {
  const { torrent, payload, flaw } = opts;
  const fast = opts.fast !== false;
  const sockets = new Set<Socket>();
  let connections = 0;
  const fullBitfield = () => {
    const b = new Uint8Array(Math.ceil(torrent.pieceCount / 8));
    for (let i = 0; i < torrent.pieceCount; i++) b[i >> 3]! |= 0x80 >> (i & 7);
    return b;
  };
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new WireDecoder();
    let served = 0;
    const send = (m: Parameters<typeof encodeMessage>[0]) => socket.write(encodeMessage(m));
    socket.on('data', (chunk: Buffer) => {
      const err = decoder.push(new Uint8Array(chunk), (item) => {
        if (item.type === 'handshake') {
          const reserved = new Uint8Array(8);
          if (fast) reserved[FAST_EXTENSION_BYTE] = FAST_EXTENSION_BIT;
          socket.write(
            encodeHandshake({ reserved, infoHash: torrent.infoHash, peerId: new Uint8Array(20).fill(7) }),
          );
          send(fast ? { type: 'haveAll' } : { type: 'bitfield', bitfield: fullBitfield() });
          send({ type: 'unchoke' });
        } else if (item.type === 'request') {
          const at = item.index * torrent.pieceLength + item.begin;
          let block = payload.slice(at, at + item.length);
          if (flaw === 'corruptBlocks' && block.length > 0) {
            // A copy: flipping the view's byte flipped `payload`, so every second time a block was
            // served it was right again, and a shrink attempt could pass (a script kept a step).
            block = Uint8Array.from(block);
            block[0] = block[0]! ^ 0xff;
          }
          if (flaw === 'sharedBuffer' && block.length > 0 && [...sockets][0] !== socket) {
            // A copy: `block` is a view of `payload` (Buffer's slice), which must stay right.
            const wrong = Uint8Array.from(block);
            wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
            send({ type: 'piece', index: item.index, begin: item.begin, block: wrong });
          } else send({ type: 'piece', index: item.index, begin: item.begin, block });
          served++;
          if (flaw === 'unrequested') {
            const next = (item.index + 1) % torrent.pieceCount;
            const length = Math.min(16384, pieceLengthAt(torrent, next));
            const from = next * torrent.pieceLength;
            send({ type: 'piece', index: next, begin: 0, block: payload.slice(from, from + length) });
          }
          if (flaw === 'lateBitfield' && served === 1) send({ type: 'bitfield', bitfield: fullBitfield() });
        }
      });
      if (err !== undefined) socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
