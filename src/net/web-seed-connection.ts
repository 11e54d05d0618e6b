/**
 * A BEP 19 web seed as a peer machine's `connection` actor: the peer machine (and the torrent
 * machine above it) see a peer that has every piece and never chokes; the requests it sends become
 * HTTP range GETs of the files on the server (web-seed-url.ts, web-seed-get.ts).
 *
 * - Handshake: answered at once with the torrent's info-hash, a web seed's peer id, a full bitfield
 *   and an unchoke; a keep-alive is answered with one (a server is never idle for the idle timeout).
 * - Requests queue (web-seed-requests.ts); up to `connections` GETs are in flight per seed, each on
 *   a keep-alive connection of its own and each for a run: the oldest request, then every queued
 *   block that continues it, within the queue's share among the idle connections (whole pieces,
 *   and runs of pieces, in one GET, as libtorrent asks; never 16 KiB GETs), the bytes in flight
 *   under MAX_WEB_SEED_BYTES_IN_FLIGHT. A run crossing files is one GET per file; padding files are
 *   zeros made here. A cancel drops a block not yet asked of the server.
 * - A file's redirects are remembered for the rest of the download (web-seed-redirects.ts): its
 *   next GETs go where the last one ended; a GET that fails there forgets it, and the file's own
 *   URL is asked again.
 * - Each body is streamed into blocks (web-seed-body.ts, web-seed-blocks.ts: at most one partial
 *   block held per GET); a turn's blocks reach the machine as one wire.pieces (read-batches.ts),
 *   counted on the read gate (the responses are paused while the disk is behind, as a socket is).
 *   More bytes than asked, fewer before the end, or nothing for `timeoutMs` fail the run.
 * - Any failure closes the connection (socket.closed with the error and a 503's Retry-After): the
 *   peer machine gives back its outstanding blocks, and the torrent machine tries the seed again
 *   after a back-off (machines/torrent-web-seeds.ts). A file the server answered 404 or 410 for is
 *   missing there: from then on that seed's bitfield leaves out the pieces touching it (as
 *   libtorrent's `have_files`), so it is asked for the other files only. Bytes that arrive
 *   and are wrong are caught by the piece's hash, and the seed is banned as a peer is.
 */
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { fromCallback } from 'xstate';
import type { BlockRef, ConnectionCommand, ConnectionInput } from '../../machines/peer.types.js';
import type { Torrent } from '../metainfo/torrent.js';
import { FileMap } from '../storage/file-map.js';
import type { ReadGate } from '../storage/write-backlog.js';
import type { BlockPool } from './block-pool.js';
import { filteredLookup } from './filtered-lookup.js';
import type { IpRangeSet } from './ip-range-set.js';
import { proxiedAgent } from './proxied-agent.js';
import type { ProxyDialer } from './proxy-dialer.js';
import { ReadBatches } from './read-batches.js';
import type { TokenBucket } from './token-bucket.js';
import { WebSeedBlocks } from './web-seed-blocks.js';
import { type BodyContext, streamBody } from './web-seed-body.js';
import { WebSeedError } from './web-seed-error.js';
import { openRange, WEB_SEED_TIMEOUT_MS } from './web-seed-get.js';
import { WebSeedRedirects } from './web-seed-redirects.js';
import {
  DEFAULT_WEB_SEED_CONNECTIONS,
  MAX_WEB_SEED_CONNECTIONS,
  WebSeedRequests,
} from './web-seed-requests.js';
import { type WebSeedRange, webSeedRanges } from './web-seed-url.js';

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
  /** GETs in flight per seed, each on its own connection (default DEFAULT_WEB_SEED_CONNECTIONS). */
  readonly connections?: number;
  /** Every GET through this proxy (proxy-dialer.ts: a tunnel per connection, TLS inside for https). */
  readonly proxy?: ProxyDialer;
  /**
   * The address every GET goes from (`--bind`: bind-address.ts), an IPv4 one: the server's name is
   * then looked up for IPv4 only.
   */
  readonly localAddress?: string;
  /**
   * The user's IP filter (docs/blocklist.md): a seed at a blocked address, or whose name resolves
   * only to blocked ones, is not asked (`blocked`, retried after its back-off as any failure), as
   * libtorrent filters a web seed's address. Through a proxy, a name it resolves (socks5h://,
   * socks4a://, http://) is not seen: only an address in the URL is checked; a name looked up here
   * (socks5://) is filtered as without.
   */
  readonly blocklist?: IpRangeSet;
}

export function createWebSeedConnection(hooks: WebSeedConnectionHooks) {
  const { torrent, onPayloadReceived, readGate, blockPool, downloadLimit } = hooks;
  const timeoutMs = hooks.timeoutMs ?? WEB_SEED_TIMEOUT_MS;
  const connections = hooks.connections ?? DEFAULT_WEB_SEED_CONNECTIONS;
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= MAX_WEB_SEED_CONNECTIONS))
    throw new RangeError(`web seed connections must be 1 to ${MAX_WEB_SEED_CONNECTIONS}, not ${connections}`);
  let fileMap: FileMap | undefined; // made at the first web seed's connection, not per download
  /** By seed URL: the files it answered 404 or 410 for (kept across its connections). */
  const missingFiles = new Map<string, Set<number>>();
  /** Where files were redirected, for the rest of the download (kept across connections). */
  const redirects = new WebSeedRedirects();
  return fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    const base = input.address;
    const files = (fileMap ??= FileMap.of(torrent));
    let closed = false;
    /** Requested, not yet asked of the server. */
    const requests = new WebSeedRequests(torrent.pieceLength);
    /** GETs in flight (runs being fetched), and the bytes they still owe. */
    let active = 0;
    let inFlightBytes = 0;
    /**
     * A GET of this connection had a good answer: until then one GET at a time, so a seed that
     * fails (a 404, a 503, a redirect loop) is asked once, not `connections` times at once, and
     * the first GET's redirect is learnt before the others would each pay it.
     */
    let answered = false;
    const runs = new Set<AbortController>();
    // An agent's options go to each socket it opens: --bind's address with them. Through a proxy,
    // the proxy dialer's connections go from that address (proxy-dialer.ts).
    const from = hooks.localAddress === undefined ? {} : { localAddress: hooks.localAddress, family: 4 };
    const blocklist =
      hooks.blocklist === undefined || hooks.blocklist.size === 0 ? undefined : hooks.blocklist;
    const filtered = blocklist === undefined ? {} : { lookup: filteredLookup(blocklist) };
    const agentOptions = { keepAlive: true, maxSockets: connections };
    const agents =
      hooks.proxy === undefined
        ? {
            http: new HttpAgent({ ...agentOptions, ...from, ...filtered }),
            https: new HttpsAgent({ ...agentOptions, ...from, ...filtered }),
          }
        : {
            http: proxiedAgent(hooks.proxy.filtering(blocklist), false, agentOptions),
            https: proxiedAgent(hooks.proxy.filtering(blocklist), true, agentOptions) as HttpsAgent,
          };
    const batches = new ReadBatches((event) => {
      if (!closed) sendBack(event);
    }, readGate);
    const body: BodyContext = {
      timeoutMs,
      batches,
      readGate,
      downloadLimit,
      onPayloadReceived,
      closed: () => closed,
    };

    const shutdown = () => {
      if (closed) return;
      batches.close();
      closed = true;
      for (const run of runs) run.abort();
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

    /** Starts GETs while a connection is idle, something is queued, and the bytes in flight allow. */
    const pump = () => {
      while (!closed && active < (answered ? connections : 1) && requests.size > 0) {
        const blocks = requests.takeRun(connections - active, inFlightBytes);
        if (blocks.length === 0) return; // the bytes in flight are at their limit: a run's end starts the next
        const bytes = blocks.reduce((n, b) => n + b.length, 0);
        active++;
        inFlightBytes += bytes;
        fetchRun(blocks).then(() => {
          active--;
          inFlightBytes -= bytes;
          pump();
        }, fail);
      }
    };

    const fetchRun = async (blocks: BlockRef[]) => {
      const first = blocks[0]!;
      const length = blocks.reduce((n, b) => n + b.length, 0);
      const assembler = new WebSeedBlocks(blocks, (b) => batches.piece(b), blockPool);
      const controller = new AbortController();
      runs.add(controller);
      try {
        const offset = first.index * torrent.pieceLength + first.begin;
        for (const range of webSeedRanges(base, torrent, files.segments(offset, length))) {
          if (closed) return;
          if (range.kind === 'zeros') {
            for (let left = range.length; left > 0; left -= ZEROS.length)
              assembler.push(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
            batches.endOfRead();
            continue;
          }
          const { response, url } = await open(range, controller.signal);
          await streamBody(response, range.length, range.url, assembler, body).catch((err: unknown) => {
            // A body that failed where the file was redirected (remembered, or just now) forgets the
            // redirect: the next GET asks the file's own URL.
            if (url !== range.url) redirects.forget(range.url);
            throw err;
          });
        }
      } finally {
        runs.delete(controller);
      }
    };

    /**
     * The response to one range and the URL that gave it: asked where the file was last redirected
     * to, if it was; a failure there forgets the redirect and asks the file's own URL once more
     * (web-seed-redirects.ts).
     */
    const open = async (range: Extract<WebSeedRange, { kind: 'http' }>, signal: AbortSignal) => {
      const request = {
        ...range,
        signal,
        timeoutMs,
        agents,
        ...(blocklist === undefined ? {} : { blocklist }),
      };
      const target = redirects.target(range.url);
      let answer: { response: IncomingMessage; url: string } | undefined;
      if (target !== range.url) {
        answer = await openRange({ ...request, url: target }).catch((err: unknown) => {
          redirects.forget(range.url);
          if (signal.aborted) throw err;
          return undefined;
        });
      }
      if (answer === undefined) {
        const opened = await openRange(request).catch((err: unknown) => {
          if (err instanceof WebSeedError && (err.status === 404 || err.status === 410)) {
            const missing = missingFiles.get(base) ?? new Set<number>();
            missing.add(range.fileIndex);
            missingFiles.set(base, missing);
          }
          throw err;
        });
        redirects.answered(range.url, opened.url);
        answer = opened;
      }
      if (!answered) {
        answered = true; // the server answers: the other connections may start
        pump();
      }
      return answer;
    };

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
          else if (m.type === 'cancel') requests.cancel(m.index, m.begin);
          return;
        }
        case 'request':
          requests.add(command.blocks);
          pump();
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
