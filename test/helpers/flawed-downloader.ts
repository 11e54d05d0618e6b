/**
 * A small BitTorrent downloader on 127.0.0.1 with one deliberate flaw, for the serving probe's
 * tests (`probe --data`): it takes incoming connections, answers the handshake (with BEP 6 when
 * `fast`), says it has nothing, is interested once the peer announces pieces, and, unchoked, keeps
 * `queue` requests out for the blocks of the announced pieces in order, checks each piece's SHA-1
 * and announces it with `have` — except where `flaw` says:
 *   pastPieceEnd     its first request of each connection runs 100 bytes past its piece's end
 *   acceptsCorrupt   it announces a piece whatever its SHA-1 says
 *   ignoresChoke     it requests whether choked or not
 *   haveToSenderOnly (with `shared`) it announces a piece only on the connection it came on
 *   none             no flaw (a conforming downloader)
 * Each connection starts with nothing (it keeps no piece across connections) unless `shared`: then
 * its pieces are kept across the connections open at once (forgotten when a handshake comes with no
 * other connection open, so that each group of connections starts anew), a new connection is told
 * them in a bitfield, and a piece checked is announced on every open connection (BEP 3), as one
 * client with many peers does.
 * `echoKeepAlives`: it answers each keep-alive with one, after everything it sent in answer to the
 * messages before it (all it sends is written as it reads them), so a probe with `keepAliveEcho`
 * knows when it has heard it all. `holdAnswers` (echoing too): everything but the handshake is held
 * until a keep-alive comes, then written before its echo — the slowest answers a loaded machine
 * can give, which no silence waits out.
 * Stopped by the test.
 * It keeps what the seed told it of (`told`): whether it said it had every piece, and the most
 * pieces it announced and the downloader had not finished at any one time (a super-seed, BEP 16,
 * shows one or two at a time).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { pieceHash, pieceLengthAt, type Torrent } from '../../src/metainfo/torrent.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/encode-message.js';
import type { WireMessage } from '../../src/wire/messages.js';
import { FAST_EXTENSION_BIT, FAST_EXTENSION_BYTE, hasFastBit } from '../../src/wire/reserved-bits.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';

export type DownloaderFlaw = 'none' | 'pastPieceEnd' | 'acceptsCorrupt' | 'ignoresChoke' | 'haveToSenderOnly';

export interface FlawedDownloader {
  readonly port: number;
  readonly connections: () => number;
  /** Pieces it announced over every connection, and how many of those failed their SHA-1. */
  readonly announced: () => { pieces: number; bad: number };
  /** Over every connection: a haveAll or a full bitfield came; the most pieces announced and not yet finished at once. */
  readonly told: () => { all: boolean; mostAhead: number };
  close(): Promise<void>;
}

const BLOCK = 16 * 1024;

export async function startFlawedDownloader(opts: {
  readonly torrent: Torrent;
  readonly flaw: DownloaderFlaw;
  readonly fast?: boolean;
  readonly queue?: number;
  readonly shared?: boolean;
  readonly echoKeepAlives?: boolean;
  readonly holdAnswers?: boolean;
}): Promise<FlawedDownloader> {
  const { torrent, flaw } = opts;
  const fast = opts.fast !== false;
  const queue = opts.queue ?? 4;
  const sockets = new Set<Socket>();
  let connections = 0;
  const announced = { pieces: 0, bad: 0 };
  const shared = opts.shared === true;
  /** With `shared`: the pieces it has, and how to send to each open connection. */
  const sharedDone = new Set<number>();
  const open = new Set<(m: WireMessage) => void>();
  const told = { all: false, mostAhead: 0 };
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const held: Uint8Array[] = [];
    const send = (m: WireMessage) => {
      if (opts.holdAnswers) held.push(encodeMessage(m));
      else socket.write(encodeMessage(m));
    };
    const available = new Set<number>();
    const done = shared ? sharedDone : new Set<number>();
    // In the group from its handshake until its peer ends it (FIN or reset), not until 'close': a
    // probe's next group dials as soon as it has closed this one's sockets, and Node says 'close'
    // a loop turn after the end is read, while the new handshake may be read in between (seen at
    // load 27: a new group told the pieces of the one before, then nothing left to complete).
    const leave = () => open.delete(send);
    socket.on('end', leave);
    socket.on('error', leave);
    socket.on('close', leave);
    const blocks = new Map<number, Map<number, Uint8Array>>();
    /** Requests out, by `index:begin`. */
    const out = new Map<string, [number, number, number]>();
    let choked = true;
    let bothFast = false;
    let interested = false;
    let firstRequest = true;
    const wanted = function* (): Generator<[number, number, number]> {
      for (const i of [...available].sort((a, b) => a - b)) {
        if (done.has(i)) continue;
        const plen = pieceLengthAt(torrent, i);
        for (let b = 0; b < plen; b += BLOCK)
          if (!blocks.get(i)?.has(b) && !out.has(`${i}:${b}`)) yield [i, b, Math.min(BLOCK, plen - b)];
      }
    };
    const topUp = () => {
      let ahead = 0;
      for (const i of available) if (!done.has(i)) ahead++;
      told.mostAhead = Math.max(told.mostAhead, ahead);
      if (!interested && available.size > 0) {
        interested = true;
        send({ type: 'interested' });
      }
      if (choked && flaw !== 'ignoresChoke') return;
      for (const [i, b, l] of wanted()) {
        if (out.size >= queue) break;
        out.set(`${i}:${b}`, [i, b, l]);
        if (flaw === 'pastPieceEnd' && firstRequest) {
          const plen = pieceLengthAt(torrent, i);
          send({ type: 'request', index: i, begin: Math.max(0, plen - l + 100), length: l });
        } else send({ type: 'request', index: i, begin: b, length: l });
        firstRequest = false;
      }
    };
    const onPiece = (index: number, begin: number, block: Uint8Array) => {
      if (!out.delete(`${index}:${begin}`) || done.has(index)) return;
      let got = blocks.get(index);
      if (got === undefined) blocks.set(index, (got = new Map()));
      got.set(begin, block.slice());
      const plen = pieceLengthAt(torrent, index);
      if ([...got.values()].reduce((n, b) => n + b.length, 0) < plen) return;
      blocks.delete(index);
      const h = createHash('sha1');
      for (const b of [...got.keys()].sort((x, y) => x - y)) h.update(got.get(b)!);
      const ok = Buffer.from(h.digest()).equals(Buffer.from(pieceHash(torrent, index)));
      if (!ok && flaw !== 'acceptsCorrupt') return; // fetched again: its blocks are wanted anew
      done.add(index);
      announced.pieces++;
      if (!ok) announced.bad++;
      if (!shared || flaw === 'haveToSenderOnly') send({ type: 'have', index });
      else for (const to of open) to({ type: 'have', index });
    };
    const decoder = new WireDecoder();
    socket.on('data', (chunk: Buffer) => {
      const err = decoder.push(new Uint8Array(chunk), (item) => {
        switch (item.type) {
          case 'handshake': {
            const reserved = new Uint8Array(8);
            if (fast) reserved[FAST_EXTENSION_BYTE] = FAST_EXTENSION_BIT;
            bothFast = fast && hasFastBit(item.reserved);
            socket.write(
              encodeHandshake({ reserved, infoHash: torrent.infoHash, peerId: new Uint8Array(20).fill(9) }),
            );
            // No other connection open: a new group, which starts with nothing.
            if (open.size === 0) sharedDone.clear();
            open.add(send);
            if (done.size > 0) {
              const bits = new Uint8Array(Math.ceil(torrent.pieceCount / 8));
              for (const i of done) bits[i >> 3]! |= 0x80 >> (i & 7);
              send({ type: 'bitfield', bitfield: bits });
            } else if (bothFast) send({ type: 'haveNone' });
            return;
          }
          case 'bitfield':
            for (let i = 0; i < torrent.pieceCount; i++)
              if ((item.bitfield[i >> 3]! >> (7 - (i & 7))) & 1) available.add(i);
            if (available.size === torrent.pieceCount) told.all = true;
            return topUp();
          case 'haveAll':
            told.all = true;
            for (let i = 0; i < torrent.pieceCount; i++) available.add(i);
            return topUp();
          case 'have':
            if (item.index < torrent.pieceCount) available.add(item.index);
            return topUp();
          case 'unchoke':
            choked = false;
            return topUp();
          case 'choke':
            choked = true;
            // BEP 3: without BEP 6 a choke drops every request; with it, each comes back rejected.
            if (!bothFast) out.clear();
            return;
          case 'reject':
            out.delete(`${item.index}:${item.begin}`);
            // Asked again at the next unchoke, have or block (not at once: a loop with the probe).
            return;
          case 'piece':
            onPiece(item.index, item.begin, item.block);
            return topUp();
          case 'keepAlive':
            if (!opts.echoKeepAlives && !opts.holdAnswers) return;
            for (const bytes of held.splice(0)) socket.write(bytes);
            socket.write(encodeMessage({ type: 'keepAlive' }));
            return;
          default:
            return;
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
    announced: () => ({ ...announced }),
    told: () => ({ ...told }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
