/**
 * A BEP 19 web seed as a peer machine's `connection` actor: the peer machine (and the torrent
 * machine above it) see a peer that has every piece and never chokes; the requests it sends become
 * HTTP range GETs of the files on the server (web-seed-url.ts, web-seed-get.ts).
 *
 * - Handshake: answered at once with the torrent's info-hash, a web seed's peer id, a full bitfield
 *   and an unchoke; a keep-alive is answered with one (a server is never idle for the idle timeout).
 * - Requests queue; one GET at a time per seed covers a run: the oldest request, then every queued
 *   block that continues it, up to MAX_RUN_BYTES (whole pieces, and runs of pieces, in one GET, as
 *   libtorrent asks; never 16 KiB GETs). A run crossing files is one GET per file; padding files
 *   are zeros made here. A cancel drops a block not yet asked of the server.
 * - The body is streamed into blocks (web-seed-blocks.ts: at most one partial block held); a
 *   turn's blocks reach the machine as one wire.pieces (read-batches.ts), counted on the read gate
 *   (the response is paused while the disk is behind, as a socket is). More bytes than asked, fewer
 *   before the end, or nothing for `timeoutMs` fail the run.
 * - Any failure closes the connection (socket.closed with the error and a 503's Retry-After): the
 *   peer machine gives back its outstanding blocks, and the torrent machine tries the seed again
 *   after a back-off (machines/torrent-web-seeds.ts). A file the server answered 404 or 410 for is
 *   missing there: from then on that seed's bitfield leaves out the pieces touching it (as
 *   libtorrent's `have_files`), so it is asked for the other files only. Bytes that arrive and are wrong are caught by
 *   the piece's hash, and the seed is banned as a peer is.
 */
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { fromCallback } from 'xstate';
import type { BlockRef, ConnectionCommand, ConnectionInput } from '../../machines/peer.types.js';
import type { Torrent } from '../metainfo/torrent.js';
import { FileMap } from '../storage/file-map.js';
import type { ReadGate } from '../storage/write-backlog.js';
import type { BlockPool } from './block-pool.js';
import { ReadBatches } from './read-batches.js';
import type { TokenBucket } from './token-bucket.js';
import { WebSeedBlocks } from './web-seed-blocks.js';
import { WebSeedError } from './web-seed-error.js';
import { openRange, WEB_SEED_TIMEOUT_MS } from './web-seed-get.js';
import { webSeedRanges } from './web-seed-url.js';

/** The most one GET asks for: a run of blocks continuing each other (a peer's pipeline is ≤ 4 MiB). */
export const MAX_RUN_BYTES = 8 * 1024 * 1024;
/** The peer id a web seed "handshakes" with: not ours, so never `connectedToSelf`. */
export const WEB_SEED_PEER_ID = new TextEncoder().encode('-WS0000-bitstate-web');
const ZEROS = new Uint8Array(16 * 1024);

export interface WebSeedConnectionHooks {
  readonly torrent: Pick<Torrent, 'name' | 'multiFile' | 'files' | 'totalLength' | 'pieceLength'>;
  readonly onPayloadReceived?: (bytes: number) => void;
  /** Responses pause while this gate is closed (the disk is behind), as sockets stop reading. */
  readonly readGate?: ReadGate;
  readonly blockPool?: BlockPool;
  /** `--max-down`: the session's bucket, shared with the peers' connections. */
  readonly downloadLimit?: TokenBucket;
  /** No answer or no body bytes for this long fails the run (default WEB_SEED_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export function createWebSeedConnection(hooks: WebSeedConnectionHooks) {
  const { torrent, onPayloadReceived, readGate, blockPool, downloadLimit } = hooks;
  const timeoutMs = hooks.timeoutMs ?? WEB_SEED_TIMEOUT_MS;
  let fileMap: FileMap | undefined; // made at the first web seed's connection, not per download
  /** By seed URL: the files it answered 404 or 410 for (kept across its connections). */
  const missingFiles = new Map<string, Set<number>>();
  return fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    const base = input.address;
    const files = (fileMap ??= FileMap.of(torrent));
    let closed = false;
    let fetching = false;
    /** Requested, not yet asked of the server. */
    let queue: BlockRef[] = [];
    let run: AbortController | undefined;
    const agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 1 }),
    };
    const batches = new ReadBatches((event) => {
      if (!closed) sendBack(event);
    }, readGate);

    const shutdown = () => {
      if (closed) return;
      batches.close();
      closed = true;
      run?.abort();
      agents.http.destroy();
      agents.https.destroy();
    };
    const fail = (err: unknown) => {
      if (closed) return;
      batches.flush(); // the blocks already whole go first: they are good until a hash says not
      const e = err instanceof WebSeedError ? err : undefined;
      const message = err instanceof Error ? err.message : String(err);
      shutdown();
      sendBack({
        type: 'socket.closed',
        error: message,
        ...(e?.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
      });
    };

    const offsetOf = (b: BlockRef) => b.index * torrent.pieceLength + b.begin;
    /** The oldest request and every queued block that continues it, up to MAX_RUN_BYTES. */
    const takeRun = (): BlockRef[] => {
      const byOffset = new Map<number, BlockRef>();
      for (const b of queue) byOffset.set(offsetOf(b), b);
      const first = queue[0]!;
      const blocks = [first];
      let bytes = first.length;
      byOffset.delete(offsetOf(first));
      for (;;) {
        const next = byOffset.get(offsetOf(first) + bytes);
        if (next === undefined || bytes + next.length > MAX_RUN_BYTES) break;
        blocks.push(next);
        bytes += next.length;
        byOffset.delete(offsetOf(next));
      }
      const taken = new Set(blocks);
      queue = queue.filter((b) => !taken.has(b));
      return blocks;
    };

    const pump = async () => {
      if (fetching || closed) return;
      fetching = true;
      try {
        while (!closed && queue.length > 0) await fetchRun(takeRun());
      } catch (err) {
        fail(err);
      } finally {
        fetching = false;
      }
    };

    const fetchRun = async (blocks: BlockRef[]) => {
      const first = blocks[0]!;
      const length = blocks.reduce((n, b) => n + b.length, 0);
      const assembler = new WebSeedBlocks(blocks, (b) => batches.piece(b), blockPool);
      const controller = new AbortController();
      run = controller;
      for (const range of webSeedRanges(base, torrent, files.segments(offsetOf(first), length))) {
        if (closed) return;
        if (range.kind === 'zeros') {
          for (let left = range.length; left > 0; left -= ZEROS.length)
            assembler.push(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
          batches.endOfRead();
          continue;
        }
        const { response: res } = await openRange({
          ...range,
          signal: controller.signal,
          timeoutMs,
          agents,
        }).catch((err: unknown) => {
          if (err instanceof WebSeedError && (err.status === 404 || err.status === 410)) {
            const missing = missingFiles.get(base) ?? new Set<number>();
            missing.add(range.fileIndex);
            missingFiles.set(base, missing);
          }
          throw err;
        });
        await streamBody(res, range.length, range.url, assembler);
      }
    };

    /** The body of one range into the run's blocks: exactly `length` bytes, never more held. */
    const streamBody = (res: IncomingMessage, length: number, url: string, into: WebSeedBlocks) =>
      new Promise<void>((resolve, reject) => {
        let received = 0;
        let timer: NodeJS.Timeout | undefined;
        const waits = new Set<NodeJS.Timeout>();
        /** Reasons the response is paused now (the disk is behind, the rate limit is spent). */
        let held = 0;
        const stop = (err?: Error) => {
          clearTimeout(timer);
          for (const w of waits) clearTimeout(w);
          res.removeAllListeners('data');
          if (err === undefined) resolve();
          else {
            res.destroy();
            reject(err);
          }
        };
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(
            () => stop(new WebSeedError('timeout', `web seed ${url}: body stalled ${timeoutMs} ms`, { url })),
            timeoutMs,
          );
        };
        // Paused by us, not by the server: the idle timer waits too.
        const hold = () => {
          if (held++ === 0) {
            res.pause();
            clearTimeout(timer);
          }
        };
        const release = () => {
          if (--held > 0 || closed) return;
          arm();
          res.resume();
        };
        arm();
        res.on('data', (chunk: Buffer) => {
          if (closed) return stop(new Error('closed'));
          received += chunk.length;
          if (received > length)
            return stop(
              new WebSeedError('badLength', `web seed ${url}: sent more than the ${length} bytes asked`, {
                url,
              }),
            );
          into.push(chunk);
          onPayloadReceived?.(chunk.length);
          batches.endOfRead();
          if (readGate !== undefined && !readGate.open) {
            hold();
            readGate.whenOpen(release);
          }
          const wait = downloadLimit?.takeDebt(chunk.length) ?? 0;
          if (wait > 0) {
            hold();
            const w = setTimeout(() => {
              waits.delete(w);
              release();
            }, wait);
            waits.add(w);
          }
          if (held === 0) arm();
        });
        res.on('end', () => {
          if (received === length) stop();
          else
            stop(
              new WebSeedError('badLength', `web seed ${url}: ${received} of ${length} bytes, then the end`, {
                url,
              }),
            );
        });
        res.on('error', (e) =>
          stop(
            e instanceof WebSeedError
              ? e
              : new WebSeedError('network', `web seed ${url}: ${e.message}`, { url, cause: e }),
          ),
        );
        res.on('close', () => {
          if (received < length)
            stop(
              new WebSeedError('network', `web seed ${url}: closed after ${received} of ${length} bytes`, {
                url,
              }),
            );
        });
      });

    receive((command) => {
      if (closed) return;
      switch (command.type) {
        case 'send': {
          const m = command.message;
          if (m.type === 'handshake') {
            const bitfield = webSeedBitfield(input.pieceCount, torrent, missingFiles.get(base) ?? new Set());
            // Every file missing there: a failure (its back-off grows, it goes to the back of the
            // order), not a live seed with nothing that would hold a web seed's place for good.
            if (bitfield.every((b) => b === 0)) {
              fail(
                new WebSeedError('httpStatus', `web seed ${base}: has none of the torrent's files`, {
                  url: base,
                }),
              );
              return;
            }
            // BEP 19: the server is a seed that never chokes.
            sendBack({
              type: 'wire.handshake',
              infoHash: input.infoHash,
              peerId: WEB_SEED_PEER_ID,
              reserved: new Uint8Array(8),
            });
            sendBack({ type: 'wire.bitfield', bitfield });
            sendBack({ type: 'wire.unchoke' });
          } else if (m.type === 'keepAlive') sendBack({ type: 'wire.keepAlive' });
          else if (m.type === 'cancel') {
            const at = queue.findIndex((b) => b.index === m.index && b.begin === m.begin);
            if (at !== -1) queue.splice(at, 1);
          }
          return;
        }
        case 'request':
          queue.push(...command.blocks);
          void pump();
          return;
        case 'serve':
          return; // a web seed asks for nothing
        case 'close':
          shutdown();
          return;
      }
    });
    setImmediate(() => {
      if (!closed) sendBack({ type: 'socket.connected' });
    });
    return shutdown;
  });
}

/**
 * What a web seed has: every piece but those touching a file it is missing (BEP 3's bitfield, high
 * bit first, the spare bits of the last byte clear).
 */
export function webSeedBitfield(
  pieceCount: number,
  torrent: Pick<Torrent, 'files' | 'pieceLength'>,
  missing: ReadonlySet<number>,
): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(pieceCount / 8)).fill(0xff);
  const spare = bytes.length * 8 - pieceCount;
  if (spare > 0) bytes[bytes.length - 1] = (0xff << spare) & 0xff;
  for (const f of missing) {
    const file = torrent.files[f];
    if (file === undefined || file.length === 0) continue;
    const last = Math.floor((file.offset + file.length - 1) / torrent.pieceLength);
    for (let i = Math.floor(file.offset / torrent.pieceLength); i <= last; i++)
      bytes[i >> 3]! &= ~(0x80 >> (i & 7));
  }
  return bytes;
}
