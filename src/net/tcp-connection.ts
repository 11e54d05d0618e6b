/**
 * The peer machine's `connection` actor over real TCP or uTP: a socket (dialled, or adopted from the
 * listener or the uTP socket manager) whose bytes go through the wire decoder into `wire.*` events,
 * and whose `send` commands are encoded onto the socket. A uTP socket (src/utp/utp-socket.ts) is a
 * Duplex with a TCP socket's surface (peer-stream.ts), so everything here runs over either; the dial
 * picks the transport (peer-dial.ts, utp-mode.ts) and the peer's `wire.handshake` reports it.
 *
 * Events to the machine:  socket.connected (with the BEP 6 allowed fast set we grant the remote
 *                         IPv4 address: SHA-1 is the world's job) · wire.<type> (fields flattened) · wire.error · socket.closed
 *                         · wire.extendedHandshake (BEP 10 extended id 0, its bencoded dict decoded here)
 *                         · wire.metadataRequest (BEP 9) · wire.pex (BEP 11 ut_pex, decoded and bounded here)
 *                         · wire.pieces / wire.requests (the pieces of a turn, the requests of a read)
 *                         · socket.congested / socket.drained · socket.served { count }
 * Commands it takes:      { type: 'send', message: WireItem } · { type: 'serve', blocks } · { type: 'close' }
 *
 * Writing is send-queue.ts: messages and served blocks in the machine's order (BEP 52 hash answers
 * ahead of blocks not yet written), messages packed back to back into shared buffers, a block's
 * bytes taken from the `blockSource` (the read cache) and never copied, each tick's writes corked
 * into one writev. The MSE answer goes through it too, so everything written to the socket is in its
 * order and its count. Nagle is off: requests must leave at once.
 *
 * Encryption (docs/encryption.md): the connection starts with a preface under the policy — an
 * accepted socket's plain handshake or MSE answered (incoming-preface.ts), a dial's plain handshake or
 * MSE initiated (outgoing-preface.ts; a dial the peer closes unanswered is tried once the other way,
 * on a new socket, unseen by the machine: peer-dial.ts). On a port several torrents share, an accepted
 * socket comes with its preface already done by the router (routed-socket.ts, torrent-router.ts),
 * which had to read it to learn the torrent: the connection carries on from it. When RC4 is selected every read is decrypted in place
 * before the decoder and every write encrypted by the send queue: the layers above see plaintext.
 * The peer's `wire.handshake` carries the encryption in use.
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
import { fromCallback } from 'xstate';
import type { ConnectionCommand, ConnectionInput } from '../../machines/peer.types.js';
import type { BlockSource } from '../storage/read-cache.js';
import type { ReadGate } from '../storage/write-backlog.js';
import { UtpSocket } from '../utp/utp-socket.js';
import type { UtpSocketManager } from '../utp/utp-socket-manager.js';
import { allowedFastSet } from '../wire/allowed-fast.js';
import type { HashRange, WireItem } from '../wire/messages.js';
import { OUR_UT_PEX_ID } from '../wire/ut-pex.js';
import { WireDecoder } from '../wire/wire-decoder.js';
import type { BlockPool } from './block-pool.js';
import { DEFAULT_ENCRYPTION_POLICY, type Encryption, type EncryptionPolicy } from './encryption-policy.js';
import { IncomingPreface } from './incoming-preface.js';
import type { IpRangeSet } from './ip-range-set.js';
import { MAX_MESSAGE_EVENTS_PER_SECOND, MessageBudget } from './message-budget.js';
import { MseError } from './mse-error.js';
import { MSE_HANDSHAKE_TIMEOUT_MS, OutgoingPreface, type PrefaceDone } from './outgoing-preface.js';
import { PeerDial } from './peer-dial.js';
import type { PeerStream, PeerTransport } from './peer-stream.js';
import { PexGate } from './pex-gate.js';
import type { ProxyDialer } from './proxy-dialer.js';
import type { ProxyErrorCode } from './proxy-error.js';
import type { Rc4 } from './rc4.js';
import { ReadBatches } from './read-batches.js';
import { RoutedSocket } from './routed-socket.js';
import { SendQueue, type SendQueueHooks } from './send-queue.js';
import { isTransient, ownBytes, sharedReadBuffer } from './shared-read-buffer.js';
import type { TokenBucket } from './token-bucket.js';
import { DEFAULT_UTP_MODE, dialTransports, type UtpMode } from './utp-mode.js';

export { CONNECT_TIMEOUT_MS } from './peer-dial.js';
export { WRITE_HIGH_WATER } from './send-queue.js';
export {
  EXTENSION_HANDSHAKE_MAX_TOKENS,
  extensionHandshakeEvent,
  metadataEvent,
  pexEvent,
  redundantMessage,
  wireEvent,
} from './wire-events.js';

import { redundantMessage, wireEvent } from './wire-events.js';

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
  /**
   * When to use Message Stream Encryption, what to offer and select (encryption-policy.ts;
   * default `allowed`).
   */
  readonly encryption?: EncryptionPolicy;
  /** How long a dial's MSE handshake may take after the connect (default MSE_HANDSHAKE_TIMEOUT_MS). */
  readonly mseTimeoutMs?: number;
  /** uTP connections on our UDP port (src/utp); without it every dial is TCP. */
  readonly utp?: UtpSocketManager;
  /** When dials use uTP (utp-mode.ts; default `on`: after TCP fails). */
  readonly utpMode?: UtpMode;
  /** Every dial through this proxy (proxy-dialer.ts; TCP only). */
  readonly proxy?: ProxyDialer;
  /** The address our TCP dials go from (`--bind`: src/net/bind-address.ts); default the kernel's choice. */
  readonly localAddress?: string;
  /** The user's IP filter (docs/blocklist.md), for a dial to a host name's resolved addresses. */
  readonly blocklist?: IpRangeSet;
  /**
   * BEP 52, a hybrid fetched by magnet fetching its piece layers (machines/torrent-piece-layers.ts):
   * a `hashes` message's run of piece-layer hashes when it proves up to its file's `pieces root`
   * (src/metainfo/verify-hashes.ts), else undefined; handed to the machine as `wire.hashes.proved`.
   * Given, `hashes` and `hash reject` are never dropped as redundant (they answer our requests).
   */
  readonly proveHashes?: (range: HashRange, hashes: Uint8Array) => Uint8Array | undefined;
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
    encryption = DEFAULT_ENCRYPTION_POLICY,
    mseTimeoutMs = MSE_HANDSHAKE_TIMEOUT_MS,
    utp,
    utpMode = DEFAULT_UTP_MODE,
    proxy,
    blocklist,
    proveHashes,
  } = hooks;
  return fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    let socket!: PeerStream;
    let closed = false;
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
      const answersOurs = proveHashes !== undefined && (item.type === 'hashes' || item.type === 'hashReject');
      if (!answersOurs && redundantMessage(emittedThisRead, item)) return;
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
      const event = wireEvent(blockPool === undefined ? item : ownBytes(item, reused));
      // The peer's handshake says which encryption and transport carry the connection (settled by then).
      if (item.type === 'handshake') {
        (event as { encryption?: Encryption }).encryption = carried;
        (event as { transport?: PeerTransport }).transport = socket instanceof UtpSocket ? 'utp' : 'tcp';
        // A hybrid's accepted socket: the allowed fast set over the hash its handshake carries (BEP 52).
        const allowedFast = answersLater
          ? allowedFastSet(socket.remoteAddress ?? '', item.infoHash, input.pieceCount)
          : undefined;
        if (allowedFast !== undefined)
          (event as { allowedFast?: readonly number[] }).allowedFast = allowedFast;
      }
      // Proved here, while its hashes are still the read's (a copy kept: the buffer is reused).
      if (item.type === 'hashes' && proveHashes !== undefined)
        (event as { proved?: Uint8Array }).proved = proveHashes(item, item.hashes)?.slice();
      sendBack(event as never);
    };

    const connectedEvent = (host: string) => {
      // An input without a torrent (a bare connection in a test) grants nothing; nor does a hybrid's
      // accepted socket yet: its set goes with the peer's handshake, over the hash that names.
      const allowedFast =
        input.infoHash === undefined || answersLater
          ? undefined
          : allowedFastSet(socket.remoteAddress ?? host, input.infoHash, input.pieceCount);
      return allowedFast === undefined
        ? { type: 'socket.connected' as const }
        : { type: 'socket.connected' as const, allowedFast };
    };

    const finish = (error?: string, proxy?: ProxyErrorCode) => {
      if (closed) return;
      batches.close();
      closed = true;
      sendBack(
        error === undefined
          ? { type: 'socket.closed' }
          : { type: 'socket.closed', error, ...(proxy === undefined ? {} : { proxy }) },
      );
    };

    const outgoing = input.handle === undefined || input.handle === null;
    /** A hybrid's accepted socket (BEP 52): which of its two hashes names the connection comes later. */
    const answersLater = !outgoing && input.otherInfoHash !== undefined;
    // A bare connection in a test (no info hash) is plain both ways.
    const mse = input.infoHash !== undefined;
    /**
     * Outgoing: the dial (peer-dial.ts) and its plan — which handshake each attempt tries, and
     * whether a dial closed unanswered is tried again.
     */
    const dialling = outgoing
      ? new PeerDial({
          address: input.address,
          plan: mse ? new OutgoingPreface(input.infoHash, encryption, input.mseFirst === true) : undefined,
          transports: dialTransports(utpMode, input.utpFirst === true),
          utp,
          proxy,
          localAddress: hooks.localAddress,
          blocklist,
        })
      : undefined;
    const dialPlan = dialling?.plan;
    const host = dialling?.host ?? '';
    /**
     * The connection's start until the BitTorrent bytes begin: an accepted socket's first bytes (plain,
     * or MSE answered: mse-responder.ts — aria2 always tries it first), or our dial's (plain, or MSE
     * initiated). Until an incoming one is done the machine is not told it is connected, so it sends
     * nothing (our handshake must follow the MSE answer).
     */
    let preface: IncomingPreface | OutgoingPreface | undefined;
    /** RC4 selected: every byte read from here on is decrypted in place (the read buffer is ours). */
    let decrypt: Rc4 | undefined;
    /** What carries this connection, reported with the peer's handshake (wire.handshake). */
    let carried: Encryption = 'none';
    /** Commands that came while an outgoing MSE handshake runs, sent once it is done. */
    let held: ConnectionCommand[] | undefined;
    let mseTimer: NodeJS.Timeout | undefined;
    let told = false;

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
    const queueHooks: SendQueueHooks = {
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
    };
    let out: SendQueue;

    const failMse = (err: MseError) => {
      sendBack({ type: 'wire.error', code: err.code, message: err.message });
      socket.destroy();
    };

    /** The preface is done: the stream's ciphers in place, what came with it handed on. */
    const settle = (done: PrefaceDone): Uint8Array => {
      preface = undefined;
      clearTimeout(mseTimer);
      carried = done.encryption;
      if (done.ciphers !== undefined) {
        out.encryptWith(done.ciphers.encrypt);
        decrypt = done.ciphers.decrypt;
      }
      if (!told) {
        told = true;
        sendBack(connectedEvent(host));
      }
      const waiting = held;
      held = undefined;
      for (const cmd of waiting ?? []) command(cmd);
      return done.rest;
    };

    const onData = (data: Uint8Array) => {
      if (closed) return;
      let chunk = data;
      if (decrypt !== undefined) decrypt.applyTo(data, data);
      else if (preface !== undefined) {
        try {
          const { send, done } = preface.push(data);
          for (const bytes of send) out.sendBytes(bytes);
          if (done === undefined) return;
          chunk = settle(done);
        } catch (err) {
          if (!(err instanceof MseError)) throw err;
          failMse(err);
          return;
        }
      }
      consume(chunk);
    };

    /** BitTorrent bytes (decrypted) to the decoder. */
    const consume = (chunk: Uint8Array) => {
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

    /** Wires a socket (accepted, or a dial) to this connection. */
    const attach = (s: PeerStream, readsShared: boolean) => {
      socket = s;
      s.setNoDelay(true);
      out = new SendQueue(s, queueHooks);
      if (!readsShared) s.on('data', (data: Uint8Array) => s === socket && onData(data));
      s.on('error', (err: NodeJS.ErrnoException) => {
        if (s !== socket || retrying(s)) return;
        // Through a proxy, a failure there is the proxy's: its code is the close reason.
        const proxied = dialling?.proxyFailure(s, err);
        finish(proxied?.message ?? err.code ?? err.message, proxied?.code);
      });
      s.on('close', () => {
        if (s !== socket) return;
        out.close();
        if (retrying(s)) dial(dialling!);
        else finish();
      });
    };

    /** A dial the peer closed before sending a byte, which the policy tries once more the other way. */
    const retrying = (s: PeerStream): boolean => dialling?.retrying(s, closed) === true;

    const dial = (d: PeerDial) => {
      held = undefined;
      clearTimeout(mseTimer);
      const onConnect = () => {
        if (dialPlan !== undefined) {
          preface = dialPlan;
          for (const bytes of dialPlan.connected()) out.sendBytes(bytes);
          if (dialPlan.kind === 'mse') {
            held = [];
            mseTimer = setTimeout(
              () => failMse(new MseError('mseTimeout', `no MSE handshake in ${mseTimeoutMs} ms`)),
              mseTimeoutMs,
            );
          }
        }
        if (!told) {
          told = true;
          sendBack(connectedEvent(host));
        }
      };
      const s: PeerStream = d.open(
        (chunk) => {
          if (s === socket) onData(chunk);
        },
        blockPool === undefined ? undefined : sharedReadBuffer,
        onConnect,
      );
      attach(s, true); // the dial reads it (peer-dial.ts)
    };

    if (dialling !== undefined) dial(dialling);
    else if (input.handle instanceof RoutedSocket) {
      // A shared port's connection (torrent-router.ts): its preface is done, the torrent known.
      const routed = input.handle;
      attach(routed.stream, true);
      queueMicrotask(() => {
        if (closed) return;
        const pending = routed.adopt((data) => routed.stream === socket && onData(data));
        if (routed.stream.destroyed) return finish();
        consume(settle(routed.done));
        for (const data of pending) onData(data);
        resumeReading();
      });
    } else {
      attach(input.handle as PeerStream, false);
      if (mse)
        preface = new IncomingPreface(
          input.otherInfoHash === undefined ? input.infoHash : [input.infoHash, input.otherInfoHash],
          encryption,
        );
      else {
        told = true;
        queueMicrotask(() => sendBack(connectedEvent(host)));
      }
    }

    const command = (cmd: ConnectionCommand) => {
      if (closed || socket.destroyed) return;
      if (cmd.type === 'send' && cmd.message.type === 'handshake' && dialPlan !== undefined) {
        // Ours, kept for a retry; under MSE it rides in the handshake as IA.
        const { inPreface, send } = dialPlan.handshake(cmd.message);
        for (const bytes of send) out.sendBytes(bytes);
        if (inPreface) return;
      } else if (held !== undefined && cmd.type !== 'close') {
        held.push(cmd); // the machine sends nothing else before the peer's handshake: a few at most
        return;
      }
      if (cmd.type === 'send') out.send(cmd.message);
      else if (cmd.type === 'request') out.sendRequests(cmd.blocks);
      else if (cmd.type === 'serve') out.serve(cmd.blocks);
      else if (cmd.type === 'close') out.end();
    };
    receive(command);

    return () => {
      closed = true;
      out.close();
      clearTimeout(resumeTimer);
      clearTimeout(mseTimer);
      socket.destroy();
    };
  });
}

export const tcpConnection = createTcpConnection();
