/**
 * The peer machine's `connection` actor over real TCP: a socket (dialled, or adopted from the
 * listener) whose bytes go through the wire decoder into `wire.*` events, and whose `send` commands
 * are encoded onto the socket.
 *
 * Events to the machine:  socket.connected (with the BEP 6 allowed fast set we grant the remote
 *                         IPv4 address: SHA-1 is the world's job) · wire.<type> (fields flattened) · wire.error · socket.closed
 *                         · wire.extendedHandshake (BEP 10 extended id 0, its bencoded dict decoded here)
 *                         · wire.metadataRequest (BEP 9) · wire.pex (BEP 11 ut_pex, decoded and bounded here)
 *                         · wire.pieces / wire.requests (the pieces of a turn, the requests of a read)
 *                         · socket.congested / socket.drained · socket.served { count }
 * Commands it takes:      { type: 'send', message: WireItem } · { type: 'serve', blocks } · { type: 'close' }
 *
 * Writing is send-queue.ts: messages and served blocks in the machine's order, messages packed back
 * to back into shared buffers, a block's bytes taken from the `blockSource` (the read cache) and
 * never copied, each tick's writes corked into one writev. The MSE answer goes through it too, so
 * everything written to the socket is in its order and its count. Nagle is off: requests must leave
 * at once.
 *
 * Back-pressure: when the socket's unsent bytes pass WRITE_HIGH_WATER (a slow reader), or the
 * upload limit holds pieces back, the machine hears `socket.congested` and serves nothing more
 * until `socket.drained`; what it already handed over (a peer's read window) is all that waits.
 * Reading the socket pauses (TCP then slows the sender) for any of three reasons, and resumes when
 * none holds: a download limit spent, the disk behind (readGate), or what we send piling up unread
 * (send-queue.ts, READ_PAUSE_BYTES: a peer that never reads what we answer must not make us queue
 * answers without end). A peer paused for good says nothing more to the
 * machine, whose idle timeout (timeouts.idle) closes it.
 */
import { connect, type Socket } from 'node:net';
import { fromCallback } from 'xstate';
import type { ConnectionCommand, ConnectionInput } from '../../machines/peer.types.js';
import { BencodeDict, type BencodeValue, bdecode } from '../metainfo/bdecode.js';
import type { BlockSource } from '../storage/read-cache.js';
import type { ReadGate } from '../storage/write-backlog.js';
import { allowedFastSet } from '../wire/allowed-fast.js';
import { decodeUtMetadata } from '../wire/decode-ut-metadata.js';
import { decodeUtPex } from '../wire/decode-ut-pex.js';
import type { WireItem } from '../wire/messages.js';
import { OUR_UT_METADATA_ID, UT_METADATA, type UtMetadataMessage } from '../wire/ut-metadata.js';
import { OUR_UT_PEX_ID, UT_PEX, type UtPexMessage } from '../wire/ut-pex.js';
import { WireDecoder } from '../wire/wire-decoder.js';
import type { WireError } from '../wire/wire-error.js';
import { parsePeerAddress } from './address.js';
import type { BlockPool } from './block-pool.js';
import { MAX_MESSAGE_EVENTS_PER_SECOND, MessageBudget } from './message-budget.js';
import { IncomingPreface, MseError } from './mse-responder.js';
import { PexGate } from './pex-gate.js';
import { ReadBatches } from './read-batches.js';
import { SendQueue } from './send-queue.js';
import type { TokenBucket } from './token-bucket.js';

export const CONNECT_TIMEOUT_MS = 10_000;
export { WRITE_HIGH_WATER } from './send-queue.js';

/** The events of messages without fields, made once (the decoder shares these messages too). */
const FIELDLESS_EVENTS: Readonly<Record<string, { type: string }>> = Object.fromEntries(
  ['keepAlive', 'choke', 'unchoke', 'interested', 'notInterested', 'haveAll', 'haveNone'].map((t) => [
    t,
    Object.freeze({ type: `wire.${t}` }),
  ]),
);

/**
 * A message that would tell the peer machine nothing the messages before it in the same socket
 * read did not: dropped before it becomes an event. Every message resets the machine's silence
 * clock, so a keep-alive, an unknown message or an extended one other than the handshake (the
 * machine ignores those) says nothing after any other message of the read; and a choke, unchoke,
 * interested, not interested, cancel, suggest or allowed fast says nothing right after the same
 * message. A hostile-peer review measured 6 MB of keep-alives or unknown messages stalling an
 * honest download for 16–27 s, one machine event per 4 or 5 bytes; haves are batched instead
 * (read-batches.ts), and a peer that flaps choke and unchoke is closed (`unchokeFlood`).
 * Extended messages other than the handshake, ut_metadata (BEP 9, which the machine answers) and
 * ut_pex (BEP 11, whose peers it queues) are dropped only because the peer machine ignores them:
 * the next extension it reads must be taken out of this rule too.
 */
export function redundantMessage(before: WireItem | 'batched' | undefined, item: WireItem): boolean {
  if (before === undefined) return false;
  switch (item.type) {
    case 'keepAlive':
    case 'unknown':
      return true;
    case 'extended':
      return (
        item.extendedId !== 0 && item.extendedId !== OUR_UT_METADATA_ID && item.extendedId !== OUR_UT_PEX_ID
      );
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'notInterested':
      return before !== 'batched' && before.type === item.type;
    case 'cancel':
      return (
        before !== 'batched' &&
        before.type === 'cancel' &&
        before.index === item.index &&
        before.begin === item.begin &&
        before.length === item.length
      );
    case 'suggest':
    case 'allowedFast':
      return before !== 'batched' && before.type === item.type && before.index === item.index;
    default:
      return false;
  }
}

/**
 * Turn a decoded item into the machine's event: `{ type: 'wire.<kind>', ...fields }`. A piece (one
 * per 16 KiB block) is built field by field and a fieldless message is a shared constant: a spread
 * and a type string per message were measurable garbage on a fast download (issue #8).
 */
export function wireEvent(item: WireItem): { type: string } {
  if (item.type === 'extended' && item.extendedId === 0) return extensionHandshakeEvent(item.payload);
  if (item.type === 'extended' && item.extendedId === OUR_UT_METADATA_ID) return metadataEvent(item);
  if (item.type === 'extended' && item.extendedId === OUR_UT_PEX_ID) return pexEvent(item.payload);
  if (item.type === 'piece')
    return { type: 'wire.piece', index: item.index, begin: item.begin, block: item.block } as {
      type: string;
    };
  return FIELDLESS_EVENTS[item.type] ?? { ...item, type: `wire.${item.type}` };
}

/**
 * The most bencoded values an extension handshake is decoded through. A real one holds a few dozen
 * (libtorrent's: `m` with ~10 extensions, `v`, `p`, `reqq`, `yourip`, `complete_ago`,
 * `metadata_size`…). Without a bound, a 1 MiB handshake of small values took 60–200 ms to decode
 * on the main thread, and BEP 10 lets a peer send the handshake again whenever it likes: a few
 * connections repeating it held a seeder's event loop most of the time. Past the bound the payload
 * is treated as one that does not decode (the event carries no fields): 25–35 µs for the 1 MiB
 * handshake that took 200 ms before.
 */
export const EXTENSION_HANDSHAKE_MAX_TOKENS = 1000;

/**
 * BEP 10: the peer's extension handshake (extended id 0) as the machine's event, with the fields
 * the machine uses: `reqq` and `p` (the port the peer listens on). The payload is already bounded
 * by the wire frame limit (MAX_EXTENDED_PAYLOAD_LENGTH) and decoded through at most
 * EXTENSION_HANDSHAKE_MAX_TOKENS values; a payload that is not a dictionary, or a field that is not
 * an integer, is left out of the event, not fatal: the extension is optional.
 * The machine checks the values' ranges (acceptedReqq, acceptedListenPort).
 */
export function extensionHandshakeEvent(payload: Uint8Array): {
  type: 'wire.extendedHandshake';
  reqq?: number;
  listenPort?: number;
  utMetadata?: number;
  metadataSize?: number;
  utPex?: number;
} {
  let dict: BencodeValue;
  try {
    dict = bdecode(payload, { maxTokens: EXTENSION_HANDSHAKE_MAX_TOKENS });
  } catch {
    return { type: 'wire.extendedHandshake' };
  }
  if (!(dict instanceof BencodeDict)) return { type: 'wire.extendedHandshake' };
  const reqq = safeInteger(dict.get('reqq'));
  const listenPort = safeInteger(dict.get('p'));
  // BEP 9: the id the peer reads ut_metadata messages under (0 or none: it has none), and the
  // info dictionary's size when it has it. Ranges are the reader's to check (MAX_METADATA_SIZE).
  const m = dict.get('m');
  const utMetadata = m instanceof BencodeDict ? safeInteger(m.get(UT_METADATA)) : undefined;
  const metadataSize = safeInteger(dict.get('metadata_size'));
  // BEP 11: the id the peer reads ut_pex messages under; 0 turns it off (BEP 10: `m` is additive,
  // so a handshake sent again without ut_pex changes nothing, and one with 0 disables it).
  const utPex = m instanceof BencodeDict ? safeInteger(m.get(UT_PEX)) : undefined;
  return {
    type: 'wire.extendedHandshake',
    ...(reqq === undefined || reqq < 1 ? {} : { reqq }),
    ...(listenPort === undefined ? {} : { listenPort }),
    ...(utMetadata === undefined || utMetadata < 1 || utMetadata > 255 ? {} : { utMetadata }),
    ...(metadataSize === undefined ? {} : { metadataSize }),
    ...(utPex === undefined || utPex < 0 || utPex > 255 ? {} : { utPex }),
  };
}

/**
 * BEP 11: a ut_pex message sent to us (under the id our extension handshake gave it), decoded with
 * its bounds (src/wire/decode-ut-pex.ts): `wire.pex` with at most MAX_PEX_ACCEPTED added and
 * dropped peers. A payload over MAX_UT_PEX_PAYLOAD or one that is not a dictionary closes the
 * connection (`wire.error`), as libtorrent closes with pex_message_too_large / invalid_pex_message.
 */
export function pexEvent(payload: Uint8Array): { type: string } {
  let m: UtPexMessage;
  try {
    m = decodeUtPex(payload);
  } catch (err) {
    const e = err as WireError;
    return { type: 'wire.error', code: e.code, message: e.message } as { type: string };
  }
  return { type: 'wire.pex', added: m.added, dropped: m.dropped } as { type: string };
}

/**
 * BEP 9: a ut_metadata message sent to us (under the id our extension handshake gave it). A request
 * becomes `wire.metadataRequest` for the peer machine to answer; a message that does not decode
 * closes the connection (`wire.error`, as libtorrent closes with invalid_metadata_message); data and
 * rejects, which we never asked for while a torrent runs, stay the ignored `wire.extended`.
 */
export function metadataEvent(item: Extract<WireItem, { type: 'extended' }>): { type: string } {
  let m: UtMetadataMessage;
  try {
    m = decodeUtMetadata(item.payload);
  } catch (err) {
    const e = err as WireError;
    return { type: 'wire.error', code: e.code, message: e.message } as { type: string };
  }
  if (m.msgType === 'request') return { type: 'wire.metadataRequest', piece: m.piece } as { type: string };
  return { type: 'wire.extended', extendedId: item.extendedId, payload: item.payload } as { type: string };
}

/** A bencoded integer that fits a JavaScript number exactly; anything else is undefined. */
function safeInteger(value: BencodeValue | undefined): number | undefined {
  if (typeof value !== 'bigint') return undefined;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : undefined;
}

/** Observers of the payload moved, for rates and progress (the machines keep no clocks). */
export interface ConnectionHooks {
  readonly onPayloadReceived?: (bytes: number) => void;
  readonly onPayloadSent?: (bytes: number) => void;
  /** Shared payload rate limits (--max-up, --max-down). */
  readonly uploadLimit?: TokenBucket;
  readonly downloadLimit?: TokenBucket;
  /** Closed while the disk is behind (src/storage/write-backlog.ts): reading pauses until it opens. */
  readonly readGate?: ReadGate;
  /** Where served blocks' bytes come from (the session's ReadCache); without it nothing is served. */
  readonly blockSource?: BlockSource;
  /** A served block could not be read from disk (the connection closes). */
  readonly onReadError?: (err: unknown) => void;
  /**
   * Given: dialled sockets read into one shared buffer and received blocks are copied into this
   * pool's slabs (block-pool.ts), which storage gives back once written.
   */
  readonly blockPool?: BlockPool;
}

/**
 * Every dialled socket of a connection with a block pool reads into this one buffer (Node's
 * `onread`), up to 256 KiB at a time instead of a fresh 64 KiB chunk per read. It is shared: a read
 * is decoded at once, and whatever the machines keep of it (blocks, bitfields, payloads) is copied
 * out before the callback returns — nothing may hold a view of it after that.
 */
const SHARED_READ_BYTES = 256 * 1024;
const sharedReadBuffer = Buffer.allocUnsafeSlow(SHARED_READ_BYTES);

/** Bytes that are overwritten by the next read: views of the shared buffer or of `reused`. */
function isTransient(bytes: Uint8Array, reused: ArrayBufferLike | undefined): boolean {
  return bytes.buffer === sharedReadBuffer.buffer || bytes.buffer === reused;
}

/** `item` with every byte field that is transient copied (rare messages only). */
function ownBytes(item: WireItem, reused: ArrayBufferLike | undefined): WireItem {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(item))
    if (v instanceof Uint8Array && isTransient(v, reused)) {
      copy ??= { ...item };
      copy[k] = new Uint8Array(v); // not v.slice(): on a Buffer that is a view, not a copy
    }
  return (copy ?? item) as WireItem;
}

export function createTcpConnection(hooks: ConnectionHooks = {}) {
  const {
    onPayloadReceived,
    onPayloadSent,
    uploadLimit,
    downloadLimit,
    readGate,
    blockPool,
    blockSource,
    onReadError,
  } = hooks;
  return fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    let socket: Socket;
    let closed = false;
    let connected = false;
    // With a block pool every block is copied into a slab, so split frames may share one buffer too.
    const decoder = new WireDecoder({ expectHandshake: true, reuseFrames: blockPool !== undefined });
    const reused = decoder.reusedFrameBuffer;
    // Pieces and requests go to the machine in batches, in wire order (read-batches.ts).
    const batches = new ReadBatches((event) => {
      if (!closed) sendBack(event);
    }, readGate);
    const messageBudget = new MessageBudget();
    const pexGate = new PexGate();
    /** Past the budget: the connection is closing, nothing more is handed on. */
    let flooded = false;
    /** What this socket read has handed on so far (redundantMessage): nothing, or the last item. */
    let emittedThisRead: WireItem | 'batched' | undefined;
    const emit = (item: WireItem) => {
      if (flooded) return; // closing: the rest of the read is not handed on, pieces included
      if (item.type === 'request') {
        emittedThisRead = 'batched';
        batches.request({ index: item.index, begin: item.begin, length: item.length });
        return;
      }
      if (item.type === 'have') {
        emittedThisRead = 'batched';
        batches.have(item.index);
        return;
      }
      if (item.type === 'piece') {
        onPayloadReceived?.(item.block.length);
        // A view of the shared read buffer (or of the decoder's reused frame) is copied into a
        // pooled slab before the next read.
        if (blockPool !== undefined && isTransient(item.block, reused))
          batches.piece({ index: item.index, begin: item.begin, block: blockPool.copy(item.block) });
        else batches.piece(item); // the decoded piece itself: index, begin, block (and its type)
        emittedThisRead = 'batched';
        return;
      }
      if (redundantMessage(emittedThisRead, item)) return;
      // BEP 11: a ut_pex message soon after the last one is dropped undecoded (pex-gate.ts).
      if (item.type === 'extended' && item.extendedId === OUR_UT_PEX_ID && !pexGate.take()) return;
      if (!messageBudget.take()) {
        flooded = true;
        batches.flush();
        sendBack({
          type: 'wire.error',
          code: 'messageFlood',
          message: `more than ${MAX_MESSAGE_EVENTS_PER_SECOND} messages in a second`,
        });
        socket.destroy();
        return;
      }
      emittedThisRead = item;
      batches.flush();
      sendBack(wireEvent(blockPool === undefined ? item : ownBytes(item, reused)) as never);
    };

    const connectedEvent = (host: string) => {
      // An input without a torrent (a bare connection in a test) grants nothing.
      const allowedFast =
        input.infoHash === undefined
          ? undefined
          : allowedFastSet(socket.remoteAddress ?? host, input.infoHash, input.pieceCount);
      return allowedFast === undefined
        ? { type: 'socket.connected' as const }
        : { type: 'socket.connected' as const, allowedFast };
    };

    const finish = (error?: string) => {
      if (closed) return;
      batches.close();
      closed = true;
      sendBack(error === undefined ? { type: 'socket.closed' } : { type: 'socket.closed', error });
    };

    let host = '';
    /** Dialled with a block pool: reads land in the shared read buffer (see SHARED_READ_BYTES). */
    let readsShared = false;
    if (input.handle !== undefined && input.handle !== null) {
      socket = input.handle as Socket;
      connected = true;
    } else {
      const { host: dialled, port } = parsePeerAddress(input.address);
      host = dialled;
      socket = connect({
        host: dialled,
        port,
        noDelay: true,
        ...(blockPool === undefined
          ? {}
          : {
              onread: {
                buffer: sharedReadBuffer,
                callback: (n: number, buf: Uint8Array) => {
                  onData(buf.subarray(0, n));
                  return true; // pausing is explicit (socket.pause), as with 'data'
                },
              },
            }),
      });
      readsShared = blockPool !== undefined;
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
        if (!connected) socket.destroy(new Error('connect timeout'));
      });
      socket.once('connect', () => {
        connected = true;
        socket.setTimeout(0);
        sendBack(connectedEvent(host));
      });
    }
    socket.setNoDelay(true);

    let resumeTimer: NodeJS.Timeout | undefined;
    /** Paused because the disk is behind (readGate closed). */
    let gated = false;
    /** Paused because what we send waits unread past the send queue's marks (onReadPause). */
    let backedUp = false;
    /** Reading resumes only when no reason to pause holds: the download limit, the disk, the send queue. */
    const resumeReading = () => {
      if (!closed && !gated && !backedUp && resumeTimer === undefined) socket.resume();
    };

    // The write half: messages and served blocks, in the machine's order (send-queue.ts).
    const out = new SendQueue(socket, {
      ...(blockSource === undefined ? {} : { source: blockSource }),
      ...(uploadLimit === undefined ? {} : { uploadLimit }),
      ...(onPayloadSent === undefined ? {} : { onPayloadSent }),
      onCongestion: (now) => {
        if (!closed) sendBack({ type: now ? 'socket.congested' : 'socket.drained' });
      },
      onReadPause: (paused) => {
        backedUp = paused;
        if (paused) socket.pause();
        else resumeReading();
      },
      onServed: (count) => {
        if (!closed) sendBack({ type: 'socket.served', count });
      },
      onReadError: (err) => {
        // A verified piece we cannot read back: this peer cannot be served (the disk's fault, told
        // to the session through onReadError, which fails the torrent as a write error does).
        onReadError?.(err);
        socket.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    });

    // An accepted socket may open with MSE (mse-responder.ts: aria2 always does first): until its
    // first bytes tell, the machine is not told it is connected, so it sends nothing (our handshake
    // must follow the MSE answer). A bare connection in a test (no info hash) is plain.
    let preface = connected && input.infoHash !== undefined ? new IncomingPreface(input.infoHash) : undefined;
    if (connected && preface === undefined) queueMicrotask(() => sendBack(connectedEvent(host)));

    const onData = (data: Uint8Array) => {
      if (closed) return;
      let chunk = data;
      if (preface !== undefined) {
        try {
          const { send, rest } = preface.push(data);
          for (const bytes of send) out.sendBytes(bytes);
          if (rest === undefined) return;
          preface = undefined;
          sendBack(connectedEvent(host));
          chunk = rest;
        } catch (err) {
          if (!(err instanceof MseError)) throw err;
          sendBack({ type: 'wire.error', code: err.code, message: err.message });
          socket.destroy();
          return;
        }
      }
      if (downloadLimit !== undefined) {
        const wait = downloadLimit.takeDebt(chunk.length);
        if (wait > 0 && resumeTimer === undefined) {
          socket.pause();
          resumeTimer = setTimeout(() => {
            resumeTimer = undefined;
            resumeReading();
          }, wait);
        }
      }
      emittedThisRead = undefined;
      const error = decoder.push(chunk, emit);
      batches.endOfRead();
      if (readGate !== undefined && !readGate.open && !gated) {
        gated = true;
        socket.pause();
        readGate.whenOpen(() => {
          gated = false;
          resumeReading();
        });
      }
      if (error !== undefined) {
        batches.flush();
        sendBack({ type: 'wire.error', code: error.code, message: error.message });
        socket.destroy();
      }
    };
    if (!readsShared) socket.on('data', onData);
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.on('close', () => {
      out.close();
      finish();
    });

    receive((cmd) => {
      if (closed || socket.destroyed) return;
      if (cmd.type === 'send') out.send(cmd.message);
      else if (cmd.type === 'request') out.sendRequests(cmd.blocks);
      else if (cmd.type === 'serve') out.serve(cmd.blocks);
      else if (cmd.type === 'close') out.end();
    });

    return () => {
      closed = true;
      out.close();
      clearTimeout(resumeTimer);
      socket.destroy();
    };
  });
}

export const tcpConnection = createTcpConnection();
