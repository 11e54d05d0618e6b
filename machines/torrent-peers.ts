/**
 * The torrent machine's view of its peers: one entry per live connection, and the input each
 * spawned peer machine gets.
 */
import type { ActorRefFrom } from 'xstate';
import { banKey } from '../src/net/ban-key.js';
import { Bitfield } from '../src/picker/bitfield.js';
import type { peerMachine } from './peer.machine.js';
import type { PeerInput, PeerKey, PeerTransport } from './peer.types.js';
import type { TorrentContext } from './torrent-context.js';
import { isFetchingLayers } from './torrent-piece-layers.js';
import { isSuperSeeding } from './torrent-super-seed.js';
import { isUploadOnly } from './torrent-upload-only.js';

export type PeerRef = ActorRefFrom<typeof peerMachine>;

/** One live connection, by reference in `peers`. */
export interface PeerEntry {
  /** Its key in `peers`: its address, but for an incoming one from where our dial waits (`incomingKey`). */
  readonly key: PeerKey;
  readonly address: string;
  readonly ref: PeerRef;
  /** The number in its actor id (`peer#n`), given back when it closes (see `takePeerId`). */
  readonly idNumber: number;
  /** Who dialled: we (`outgoing`) or the peer (`incoming`, its address's port is its source port). */
  readonly direction: 'outgoing' | 'incoming';
  /** What a host ban of this address covers (src/net/ban-key.ts), worked out once per connection. */
  readonly host: string;
  /** The peer machine's own Bitfield object (counted in the picker's availability). */
  bitfield: Bitfield;
  handshaken: boolean;
  /** The peer id of its handshake (undefined until then): tells one peer's two connections apart from two peers'. */
  peerId: Uint8Array | undefined;
  /** What carries the connection, from its handshake on (BEP 11's `utp` flag when we name it). */
  transport: PeerTransport;
  unchoked: boolean;
  /** We told it cmd.interested. */
  interested: boolean;
  /** It told us it is interested (peer.interest). */
  peerInterested: boolean;
  /** Its last reported payload rates (peer.rate), bytes/s; 0 until reported. */
  downloadRate: number;
  uploadRate: number;
  /** The torrent's clock (nowMs) when payload last flowed either way, or it handshook. */
  idleSinceMs: number;
  /** Since when neither side is interested (noted once a tick); undefined while either is. */
  uninterestedSinceMs: number | undefined;
  /** Requests it still has room for, as it last reported, minus what we gave since. */
  wanted: number;
  /**
   * BEP 6: while it chokes us, the pieces we may still request from it (its allowed fast pieces
   * that it has, as it last reported); undefined when there are none or it does not choke us.
   */
  allowedFast: Bitfield | undefined;
  /** BEP 21: it said it will not download from us (peer.uploadOnly): the choker leaves it choked. */
  uploadOnly: boolean;
  /**
   * Its bitfield came (peer.bitfield: a BEP 3 bitfield with a piece, or BEP 6 haveAll), so what it
   * has is known: until then an upload-only peer is not judged by what it has (torrent-upload-only.ts).
   */
  bitfieldCame: boolean;
  /** BEP 16: we super-seed it (a connection made once we had every piece: torrent-super-seed.ts). */
  superSeed: boolean;
  /** BEP 16: the pieces it is shown now, at most MAX_REVEALED_PER_PEER; empty unless super-seeded. */
  readonly revealed: number[];
  /**
   * BEP 16: pieces it was shown and went not interested without announcing (it took them and
   * spared the have, or does not want them): not shown it again. Made at the first; undefined till then.
   */
  declined: Bitfield | undefined;
  /** BEP 16: the pieces it was shown when it last said interested (at most MAX_REVEALED_PER_PEER). */
  interestedIn: number[];
  /** An incoming peer's listening address (its host, its BEP 10 `p`), once it said; else undefined. */
  listenAddress: string | undefined;
  /**
   * A hybrid's (BEP 52) connection in its v2 swarm: dialled with the v2 hash, or its handshake
   * named it (peer.handshaken `infoHash`). Absent: the v1 swarm, or not a hybrid.
   */
  v2Swarm?: boolean;
  /** Asked for a hybrid's piece layers (torrent-piece-layers.ts): not dropped as a seed meanwhile. */
  layerSource?: boolean;
  // --- BEP 11 peer exchange (machines/torrent-pex.ts) ---
  /** The addresses our ut_pex messages told it of (and did not drop); undefined: it takes no ut_pex. */
  pexSent: Set<string> | undefined;
  /** The torrent's clock (nowMs) when our next ut_pex message to it is due. */
  pexDueMs: number;
  /** nowMs when we last took one of its ut_pex messages; undefined: none yet. */
  pexHeardMs: number | undefined;
  /**
   * Addresses its ut_pex messages named (and we took) that it has not dropped since: at most
   * MAX_PEX_PEERS_PER_CONNECTION. Undefined until its first message.
   */
  pexNamed: Set<string> | undefined;
  toJSON(): object;
}

/**
 * The key of an incoming connection from `address` while our dial to that address waits for its
 * handshake: the address with `#in`. A uTP peer's datagrams come from the port it listens on (docs/utp.md), so
 * when two peers dial each other over uTP at once, its connection to us comes from the very address
 * we are dialling. Under a key of its own it is adopted, and the duplicate rule (onListening) keeps
 * one of the two after their handshakes, as it does for TCP, whose incoming connections come from
 * another port. A suffix keeps the host readable where a key is read as an address (a ban's key,
 * addressOfKey).
 */
export function incomingKeyAt(address: string): PeerKey {
  return `${address}${INCOMING_SUFFIX}`;
}

const INCOMING_SUFFIX = '#in';

/** The address a peer key names (a ban names a peer by its key: the picker's senders are keys). */
export function addressOfKey(key: PeerKey): string {
  return key.endsWith(INCOMING_SUFFIX) ? key.slice(0, -INCOMING_SUFFIX.length) : key;
}

/**
 * A connection is at `address`, under its own key or, from the peer's side of a dial each way,
 * `incomingKeyAt(address)`: the address is not dialled (again) while it lives.
 */
export function connectedAt(c: TorrentContext, address: string): boolean {
  return c.peers.has(address) || c.peers.has(incomingKeyAt(address));
}

/**
 * The key an incoming connection from `address` is adopted under, or undefined when it duplicates a
 * connection: one from the same address is there already, or our dial there has handshaken (the
 * peer is connected; refused before its handshake, the new one cannot be the one the other end keeps
 * either: the duplicate rule there needs both handshaken). Our dial there before its handshake is
 * no duplicate yet (see `incomingKeyAt`).
 */
export function incomingKey(c: TorrentContext, address: string): PeerKey | undefined {
  const other = incomingKeyAt(address);
  if (c.peers.has(other)) return undefined;
  const e = c.peers.get(address);
  if (e === undefined) return address;
  return e.direction === 'outgoing' && !e.handshaken ? other : undefined;
}

/** A new connection's entry: nothing known yet, not handshaken, choked, not interested. */
export function newEntry(
  address: string,
  ref: PeerRef,
  idNumber: number,
  pieceCount: number,
  direction: 'outgoing' | 'incoming',
  nowMs: number,
  key: PeerKey = address,
): PeerEntry {
  const e: PeerEntry = {
    key,
    address,
    ref,
    idNumber,
    direction,
    host: banKey(address),
    bitfield: new Bitfield(pieceCount),
    handshaken: false,
    peerId: undefined,
    transport: 'tcp',
    unchoked: false,
    interested: false,
    peerInterested: false,
    downloadRate: 0,
    uploadRate: 0,
    idleSinceMs: nowMs,
    uninterestedSinceMs: undefined,
    wanted: 0,
    allowedFast: undefined,
    uploadOnly: false,
    bitfieldCame: false,
    superSeed: false,
    revealed: [],
    declined: undefined,
    interestedIn: [],
    listenAddress: undefined,
    pexSent: undefined,
    pexDueMs: 0,
    pexHeardMs: undefined,
    pexNamed: undefined,
    toJSON: () => ({
      address,
      have: e.bitfield.count,
      unchoked: e.unchoked,
      interested: e.interested,
      wanted: e.wanted,
    }),
  };
  return e;
}

/**
 * The actor id of a new connection's peer machine, `peer#n`: a number given back by a closed
 * connection (the longest free first, so a connection that just closed is not followed by one with
 * its id while its done event may still be queued), else a new one. Why recycle: XState memoizes
 * each state node's transition candidates per event type, and a child's done event is typed with
 * its id (`xstate.done.actor.<id>`); one id per connection (`peer:<address>#<serial>`) left ~400
 * bytes on the heap per connection for ever (44k connect-hangup cycles, +13 MB). Recycled, the ids
 * are at most as many as connections ever open at once. The address is in the machine's context.
 */
export function takePeerId(c: TorrentContext): number {
  return c.freeIds.shift() ?? ++c.serial;
}

/** The input of the peer machine spawned for `address` (under `key`). */
export function peerInput(
  c: TorrentContext,
  address: string,
  direction: 'outgoing' | 'incoming',
  handle: unknown,
  key: PeerKey = address,
): PeerInput {
  // A hybrid (BEP 52): either hash is the peer's; a dial to a peer of the v2 swarm carries its hash.
  const v2Dial = direction === 'outgoing' && c.addresses.get(address)?.v2Swarm === true;
  const hashes =
    c.otherInfoHash === undefined
      ? { infoHash: c.infoHash }
      : v2Dial
        ? { infoHash: c.otherInfoHash, otherInfoHash: c.infoHash }
        : { infoHash: c.infoHash, otherInfoHash: c.otherInfoHash };
  return {
    key,
    ...hashes,
    peerId: c.peerId,
    pieceCount: c.pieceCount,
    pieceLength: c.pieceLength,
    totalLength: c.totalLength,
    address,
    direction,
    handle,
    ourBitfield: c.picker.have,
    timeouts: c.peerTimeouts,
    limits: c.peerLimits,
    ...(c.listenPort === undefined ? {} : { listenPort: c.listenPort }),
    ...(c.metadata === undefined ? {} : { metadata: c.metadata }),
    ...(c.pieceLayerTrees === undefined ? {} : { pieceLayerTrees: c.pieceLayerTrees }),
    ...(isFetchingLayers(c) ? { fetchesLayers: true } : {}),
    ...(c.pex ? { pex: true } : {}),
    // BEP 16: a full seed asked to super-seed shows this connection a piece or two at a time, and
    // does not say upload_only (libtorrent: peers might leave once they have the one piece).
    // BEP 21: else, every wanted piece verified (we seed, or are about to): we will not download.
    ...(isSuperSeeding(c) ? { superSeed: true } : isUploadOnly(c) ? { uploadOnly: true } : {}),
    // Last reached over MSE (torrent-address-book.ts): dialled with MSE first.
    ...(direction === 'outgoing' && c.addresses.get(address)?.mseFirst === true ? { mseFirst: true } : {}),
    // Last reached over uTP: dialled over uTP first.
    ...(direction === 'outgoing' && c.addresses.get(address)?.utpFirst === true ? { utpFirst: true } : {}),
  };
}
