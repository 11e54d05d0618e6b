/**
 * A scriptable BEP 9 peer on 127.0.0.1 for tests: it answers the BitTorrent handshake, sends an
 * extension handshake offering ut_metadata with `metadataSize`, and answers each ut_metadata
 * request with the piece of `info` (which may be forged). `holdHandshake` delays the extension
 * handshake until released, so a test can order which peer is asked first without a clock;
 * `silent` offers the metadata and never answers a request; `overUtp` takes connections over uTP
 * only (BEP 29, a socket manager on a UDP port where no TCP listens: a TCP dial there is refused).
 * `hashes` answers BEP 52 hash requests with the bytes it returns (right or forged; undefined: a
 * hash reject), once they resolve when it returns a promise (a test orders the answer after
 * something it waits for); without it hash requests go unanswered.
 * Stopped by the test (close()).
 */
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { bencode } from '../../src/metainfo/bencode.js';
import { decodeUtMetadata } from '../../src/wire/decode-ut-metadata.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/encode-message.js';
import type { HashRange } from '../../src/wire/messages.js';
import { encodeUtMetadata, METADATA_PIECE_LENGTH } from '../../src/wire/ut-metadata.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';
import { startUtpManager } from './utp-manager.js';

const PEER_UT_METADATA = 3;

export interface MetadataPeer {
  readonly port: number;
  /** Pieces asked of this peer, in order. */
  readonly requests: number[];
  /** The reserved bytes of each handshake it was sent. */
  readonly reserved: Uint8Array[];
  /** Hash requests asked of this peer, in order. */
  readonly hashRequests: HashRange[];
  /** Resolves at the first request. */
  readonly firstRequest: Promise<void>;
  /** Resolves when the first connection to it is closed by the other end. */
  readonly firstClosed: Promise<void>;
  /** Sends the held extension handshake (holdHandshake). */
  release(): void;
  close(): Promise<void>;
}

export async function startMetadataPeer(opts: {
  readonly infoHash: Uint8Array;
  readonly info: Uint8Array;
  /** `metadata_size` announced (default the info's length); null: none, as a peer without it. */
  readonly metadataSize?: number | null;
  readonly holdHandshake?: boolean;
  readonly silent?: boolean;
  readonly overUtp?: boolean;
  readonly hashes?: (range: HashRange) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
}): Promise<MetadataPeer> {
  const sockets = new Set<Duplex>();
  const requests: number[] = [];
  const hashRequests: HashRange[] = [];
  const handshakes: Uint8Array[] = [];
  let onFirst: () => void = () => {};
  const firstRequest = new Promise<void>((r) => (onFirst = r));
  let onClosed: () => void = () => {};
  const firstClosed = new Promise<void>((r) => (onClosed = r));
  let released = opts.holdHandshake !== true;
  const held: (() => void)[] = [];
  const serve = (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => onClosed());
    socket.on('error', () => {});
    const decoder = new WireDecoder();
    let theirId = 0;
    const sendHandshake = () =>
      socket.write(
        encodeMessage({
          type: 'extended',
          extendedId: 0,
          payload: bencode({
            m: { ut_metadata: PEER_UT_METADATA },
            metadata_size: opts.metadataSize === null ? undefined : (opts.metadataSize ?? opts.info.length),
          }),
        }),
      );
    socket.on('data', (chunk) => {
      decoder.push(chunk, (item) => {
        if (item.type === 'handshake') {
          handshakes.push(Uint8Array.from(item.reserved));
          const reserved = new Uint8Array(8);
          reserved[5] = 0x10;
          socket.write(
            encodeHandshake({ reserved, infoHash: opts.infoHash, peerId: new Uint8Array(20).fill(0x41) }),
          );
          if (released) sendHandshake();
          else held.push(sendHandshake);
          return;
        }
        if (item.type === 'hashRequest') {
          const { type: _, ...range } = item;
          hashRequests.push(range);
          if (opts.hashes === undefined) return;
          const reply = (answer: Uint8Array | undefined) => {
            if (socket.destroyed) return;
            socket.write(
              encodeMessage(
                answer === undefined
                  ? { type: 'hashReject', ...range }
                  : { type: 'hashes', ...range, hashes: answer },
              ),
            );
          };
          const answer = opts.hashes(range);
          if (answer instanceof Promise) void answer.then(reply);
          else reply(answer);
          return;
        }
        if (item.type !== 'extended') return;
        if (item.extendedId === 0) {
          const m = /ut_metadatai(\d+)e/.exec(Buffer.from(item.payload).toString('latin1'));
          theirId = Number(m?.[1] ?? 0);
          return;
        }
        if (item.extendedId !== PEER_UT_METADATA) return;
        const m = decodeUtMetadata(item.payload);
        if (m.msgType !== 'request') return;
        requests.push(m.piece);
        onFirst();
        if (opts.silent === true) return;
        const data = opts.info.subarray(
          m.piece * METADATA_PIECE_LENGTH,
          (m.piece + 1) * METADATA_PIECE_LENGTH,
        );
        socket.write(
          encodeMessage({
            type: 'extended',
            extendedId: theirId,
            payload: encodeUtMetadata({ msgType: 'data', piece: m.piece, totalSize: opts.info.length, data }),
          }),
        );
      });
    });
  };
  let port: number;
  let stop: () => Promise<void>;
  if (opts.overUtp === true) {
    const utp = await startUtpManager();
    utp.manager.onConnection(serve);
    port = utp.port;
    stop = utp.close;
  } else {
    const server: Server = createServer(serve);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
    stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return {
    port,
    requests,
    hashRequests,
    reserved: handshakes,
    firstRequest,
    firstClosed,
    release() {
      released = true;
      for (const send of held.splice(0)) send();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return stop();
    },
  };
}
