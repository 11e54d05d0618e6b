/**
 * One connection (TCP, or uTP when TCP fails or under `--utp prefer`: peer-dial.ts) used only to
 * fetch a magnet link's metadata (BEP 9): the BitTorrent handshake
 * with the BEP 10 bit, our extension handshake offering `ut_metadata`, then ut_metadata requests
 * on command and the peer's answers decoded (src/wire/decode-ut-metadata.ts). Everything else the
 * peer sends (bitfield, have, choke…) is read and ignored: there is no torrent yet to use it for.
 * The decisions — which piece of whom, who is dropped — are the metadata machine's
 * (machines/metadata.machine.ts); this is its hands. Bounded: one decoder frame of at most
 * METADATA_MAX_FRAME_LENGTH (a full bitfield; ut_metadata data is 17 KiB), a deadline for the
 * peer's extension handshake, extension messages at most MAX_MESSAGE_EVENTS_PER_SECOND (each is
 * decoded), and requests the peer makes of us (we have no metadata to give) answered with a
 * reject, at most MAX_REJECTED_REQUESTS of them.
 *
 * The peer's handshake is reported with how the dial came up (`dialled`: MSE or plain, TCP or uTP),
 * which the download after the fetch starts its address book with (docs/encryption.md).
 *
 * For a v2 magnet (BEP 52) the handshake carries the v2 reserved bit, and the same connection then
 * asks for the piece layers the info dictionary lacks: `hash request` on command, the peer's
 * `hashes` and `hash reject` passed on (checked by the metadata machine, not here).
 */
import { CLIENT_VERSION } from '../../machines/peer-extension.js';
import { bytesEqual } from '../../machines/peer-handshake.js';
import type { DialOutcome } from '../../machines/torrent-address-book.js';
import { bencode } from '../metainfo/bencode.js';
import type { UtpSocketManager } from '../utp/utp-socket-manager.js';
import { decodeUtMetadata } from '../wire/decode-ut-metadata.js';
import { encodeHandshake, encodeMessage } from '../wire/encode-message.js';
import { MAX_BITFIELD_FRAME_LENGTH } from '../wire/limits.js';
import type { Hashes, HashRange, HashReject, WireItem } from '../wire/messages.js';
import {
  EXTENSION_PROTOCOL_BIT,
  EXTENSION_PROTOCOL_BYTE,
  hasExtensionBit,
  V2_BIT,
  V2_BYTE,
} from '../wire/reserved-bits.js';
import { encodeUtMetadata, OUR_UT_METADATA_ID, type UtMetadataMessage } from '../wire/ut-metadata.js';
import { WireDecoder } from '../wire/wire-decoder.js';
import { WireError } from '../wire/wire-error.js';
import { formatPeerAddress, type PeerAddress } from './address.js';
import { DEFAULT_ENCRYPTION_POLICY, type Encryption, type EncryptionPolicy } from './encryption-policy.js';
import { BLOCKED_CODE } from './filtered-lookup.js';
import type { IpRangeSet } from './ip-range-set.js';
import { MAX_MESSAGE_EVENTS_PER_SECOND, MessageBudget } from './message-budget.js';
import { MseError } from './mse-error.js';
import { OutgoingPreface } from './outgoing-preface.js';
import { PeerDial } from './peer-dial.js';
import type { PeerStream } from './peer-stream.js';
import type { ProxyDialer } from './proxy-dialer.js';
import type { Rc4 } from './rc4.js';
import { DEFAULT_UTP_MODE, dialTransports, type UtpMode } from './utp-mode.js';
import { extensionHandshakeEvent } from './wire-events.js';

/** A peer that does not offer ut_metadata within this long after the dial is of no use to us. */
export const METADATA_HANDSHAKE_TIMEOUT_MS = 15_000;
/** Requests for metadata we do not have yet, answered with a reject before the peer is closed. */
export const MAX_REJECTED_REQUESTS = 64;
/**
 * The longest frame a peer may send while we fetch: a bitfield for the largest torrent (256 KiB),
 * the largest thing a peer sends unasked; ut_metadata data and extension handshakes are far
 * smaller. 30 connections then hold at most ~7.7 MiB of decoder frames, not 30 MiB.
 */
export const METADATA_MAX_FRAME_LENGTH = MAX_BITFIELD_FRAME_LENGTH;

export interface MetadataConnectionHandlers {
  /** The peer's extension handshake offered ut_metadata, with its `metadata_size` (if any). */
  ready(metadataSize: number | undefined): void;
  /** A data or reject message (unknown ones are ignored, as BEP 9 asks). */
  message(m: Extract<UtMetadataMessage, { msgType: 'data' | 'reject' }>): void;
  /** The connection is gone (once), and why. */
  closed(reason: string): void;
  /** BEP 52 `hashes` or `hash reject` (a v2 magnet's piece layers). */
  hashes?(m: Hashes | HashReject): void;
  /**
   * The peer's handshake came with our info-hash, over the encryption and the transport the dial
   * settled on: what the torrent machine's address book keeps of a dial (mseFirst, utpFirst).
   */
  dialled?(outcome: DialOutcome): void;
}

export interface MetadataConnection {
  request(piece: number): void;
  /** BEP 52: asks for a run of hashes (once the peer's extension handshake offered ut_metadata). */
  hashRequest(range: HashRange): void;
  close(reason: string): void;
}

export interface MetadataConnectionOptions {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly handshakeTimeoutMs?: number;
  /** Message Stream Encryption for the dial (outgoing-preface.ts; default 'allowed'). */
  readonly encryption?: EncryptionPolicy;
  /** uTP connections on the session's UDP port; without it every dial is TCP. */
  readonly utp?: UtpSocketManager;
  /** When the dial uses uTP (utp-mode.ts; default `on`: after TCP fails). */
  readonly utpMode?: UtpMode;
  /** The dial through this proxy (proxy-dialer.ts; TCP only). */
  readonly proxy?: ProxyDialer;
  /** The user's IP filter (docs/blocklist.md), for a dial to a host name's resolved addresses. */
  readonly blocklist?: IpRangeSet;
  /** A v2 magnet's fetch: BEP 52's reserved bit in our handshake (libtorrent's v2 connections). */
  readonly v2?: boolean;
  /** The address the TCP dial goes from (`--bind`: bind-address.ts). */
  readonly localAddress?: string;
}

/** Our extension handshake for a metadata fetch: `{ m: { ut_metadata: 1 }, v: "bitstate …" }`. */
export function fetchingExtensionHandshake(): Uint8Array {
  return bencode({ m: { ut_metadata: OUR_UT_METADATA_ID }, v: CLIENT_VERSION });
}

export function openMetadataConnection(
  address: PeerAddress,
  opts: MetadataConnectionOptions,
  handlers: MetadataConnectionHandlers,
): MetadataConnection {
  let socket!: PeerStream;
  const decoder = new WireDecoder({ maxFrameLength: METADATA_MAX_FRAME_LENGTH });
  const budget = new MessageBudget();
  let closed = false;
  let peerUtMetadata: number | undefined;
  let rejected = 0;
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    clearTimeout(deadline);
    socket.destroy();
    handlers.closed(reason);
  };
  const deadline = setTimeout(
    () => close('no ut_metadata handshake in time'),
    opts.handshakeTimeoutMs ?? METADATA_HANDSHAKE_TIMEOUT_MS,
  );
  /** What the preface settled on (the MSE handshake's selection, or none). */
  let encryption: Encryption = 'none';
  /** RC4 selected: what we send is encrypted (our encoded messages, in place), what we read decrypted. */
  let encrypt: Rc4 | undefined;
  let decrypt: Rc4 | undefined;
  const write = (bytes: Uint8Array) => {
    if (encrypt !== undefined) encrypt.applyTo(bytes, bytes);
    socket.write(bytes);
  };
  const send = (item: WireItem) => {
    if (!closed) write(item.type === 'handshake' ? encodeHandshake(item) : encodeMessage(item));
  };
  const reserved = new Uint8Array(8);
  reserved[EXTENSION_PROTOCOL_BYTE] = EXTENSION_PROTOCOL_BIT;
  if (opts.v2 === true) reserved[V2_BYTE]! |= V2_BIT;
  // Plain or MSE first, once the other way if the peer closes unanswered (outgoing-preface.ts); our
  // handshake goes with the first bytes either way (as MSE's IA).
  let preface: OutgoingPreface | undefined = new OutgoingPreface(
    opts.infoHash,
    opts.encryption ?? DEFAULT_ENCRYPTION_POLICY,
  );
  preface.handshake({ reserved, infoHash: opts.infoHash, peerId: opts.peerId });
  // The transports a dial walks, once each, and the handshakes over each (peer-dial.ts).
  const dialling = new PeerDial({
    address: formatPeerAddress(address),
    plan: preface,
    transports: dialTransports(opts.utpMode ?? DEFAULT_UTP_MODE, false),
    utp: opts.utp,
    proxy: opts.proxy,
    localAddress: opts.localAddress,
    blocklist: opts.blocklist,
  });

  const onItem = (item: WireItem) => {
    if (closed) return;
    if (item.type === 'handshake') {
      if (!bytesEqual(item.infoHash, opts.infoHash)) return close('another info-hash');
      if (!hasExtensionBit(item.reserved)) return close('no extension protocol (BEP 10)');
      handlers.dialled?.({ encryption, transport: dialling.transport });
      send({ type: 'extended', extendedId: 0, payload: fetchingExtensionHandshake() });
      return;
    }
    if (item.type === 'hashes' || item.type === 'hashReject') {
      if (!budget.take())
        return close(`more than ${MAX_MESSAGE_EVENTS_PER_SECOND} extension messages in a second`);
      return handlers.hashes?.(item);
    }
    if (item.type !== 'extended') return;
    if (!budget.take())
      return close(`more than ${MAX_MESSAGE_EVENTS_PER_SECOND} extension messages in a second`);
    if (item.extendedId === 0) {
      const hs = extensionHandshakeEvent(item.payload);
      if (hs.utMetadata === undefined) return close('no ut_metadata');
      const first = peerUtMetadata === undefined;
      peerUtMetadata = hs.utMetadata;
      if (first) {
        clearTimeout(deadline);
        handlers.ready(hs.metadataSize);
      }
      return;
    }
    if (item.extendedId !== OUR_UT_METADATA_ID) return;
    let m: UtMetadataMessage;
    try {
      m = decodeUtMetadata(item.payload);
    } catch (err) {
      return close(err instanceof WireError ? err.message : String(err));
    }
    if (m.msgType === 'request') {
      if (++rejected > MAX_REJECTED_REQUESTS) return close('ut_metadata request flood');
      if (peerUtMetadata !== undefined)
        send({
          type: 'extended',
          extendedId: peerUtMetadata,
          payload: encodeUtMetadata({ msgType: 'reject', piece: m.piece }),
        });
      return;
    }
    if (m.msgType === 'data' || m.msgType === 'reject') handlers.message(m);
  };

  const onData = (data: Uint8Array) => {
    if (closed) return;
    let chunk = data;
    if (decrypt !== undefined)
      decrypt.applyTo(data, data); // the read's buffer is ours
    else if (preface !== undefined) {
      try {
        const { send: out, done } = preface.push(data);
        for (const bytes of out) socket.write(bytes);
        if (done === undefined) return;
        preface = undefined;
        encryption = done.encryption;
        encrypt = done.ciphers?.encrypt;
        decrypt = done.ciphers?.decrypt;
        chunk = done.rest;
      } catch (err) {
        if (!(err instanceof MseError)) throw err;
        return close(err.message);
      }
    }
    const err = decoder.push(chunk, onItem);
    if (err !== undefined) close(err.message);
  };
  const dial = () => {
    let error: string | undefined;
    const s = dialling.open(
      (chunk) => {
        if (s === socket) onData(chunk);
      },
      undefined,
      () => {
        for (const bytes of preface?.connected() ?? []) s.write(bytes);
      },
    );
    socket = s;
    s.on('error', (err: NodeJS.ErrnoException) => {
      // A name whose every address the IP filter blocks: its code, for the fetch to report it.
      error = err.name === 'ProxyError' || err.code === BLOCKED_CODE ? err.code : err.message;
    });
    // A dial the peer closed before a byte is tried once the other way, a dial that never connected
    // over the next transport, if the policy and the mode say so.
    s.on('close', () => {
      if (s !== socket || closed) return;
      if (dialling.retrying(s, closed)) dial();
      else close(error ?? 'connection closed');
    });
  };
  dial();

  return {
    request(piece) {
      if (peerUtMetadata === undefined) return;
      send({
        type: 'extended',
        extendedId: peerUtMetadata,
        payload: encodeUtMetadata({ msgType: 'request', piece }),
      });
    },
    hashRequest(range) {
      if (peerUtMetadata === undefined) return;
      send({ type: 'hashRequest', ...range });
    },
    close,
  };
}
