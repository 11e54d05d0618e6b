/**
 * The torrent machine with in-memory connections a test drives by hand (test/unit/machines):
 * `start` gives the actor, its SimulatedClock, the live connections by address, what each was told
 * to request, every wire message they were told to send and the input each was started with; the helpers below play a peer's part.
 */
import assert from 'node:assert/strict';
import { type CallbackActorLogic, createActor, fromCallback, SimulatedClock } from 'xstate';
import { peerMachine } from '../../../machines/peer.machine.js';
import {
  type BlockRef,
  type ConnectionCommand,
  type ConnectionEvent,
  type ConnectionInput,
  type PeerTransport,
  wireItemsOf,
} from '../../../machines/peer.types.js';
import { torrentMachine } from '../../../machines/torrent.machine.js';
import type {
  StorageCommand,
  StorageEvent,
  StorageInput,
  TorrentEmitted,
  TorrentInput,
} from '../../../machines/torrent.types.js';
import type { trackerTiersMachine } from '../../../machines/tracker-tiers.machine.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';

/**
 * The torrent machine with connections that stay open and silent, and a storage we drive by hand;
 * `actors` replaces the trackers actor (the machine's own, whose announces fail, by default) or the
 * storage (then `storage()` below reaches nothing).
 */
export function start(
  over: Partial<TorrentInput> = {},
  actors: {
    readonly trackers?: typeof trackerTiersMachine;
    readonly storage?: CallbackActorLogic<StorageCommand, StorageInput>;
    /** The IP filter the world provides (the guard isBlockedAddress); none blocks nothing. */
    readonly blocked?: (address: string) => boolean;
  } = {},
) {
  const live = new Map<string, (e: ConnectionEvent) => void>();
  /** The block requests each address's connection was told to send, in order. */
  const requested = new Map<string, BlockRef[]>();
  /** Every wire message any connection was told to send, in order. */
  const sent: WireItem[] = [];
  /** The same, by the connection's address. */
  const sentTo = new Map<string, WireItem[]>();
  /** What each connection was started with, in order (a dial's `mseFirst`, say). */
  const inputs: ConnectionInput[] = [];
  /**
   * Every connection, in order, and whether it is still open: `live` holds one per address, and
   * over uTP a peer dialling us as we dial it comes from the address we dial.
   */
  const connections: { input: ConnectionInput; send: (e: ConnectionEvent) => void; open: boolean }[] = [];
  let toTorrent: ((e: StorageEvent) => void) | undefined;
  const connection = fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    live.set(input.address, sendBack);
    inputs.push(input);
    const connection = { input, send: sendBack, open: true };
    connections.push(connection);
    receive((cmd) => {
      sent.push(...wireItemsOf(cmd));
      sentTo.set(input.address, [...(sentTo.get(input.address) ?? []), ...wireItemsOf(cmd)]);
      if (cmd.type === 'request')
        requested.set(input.address, [...(requested.get(input.address) ?? []), ...cmd.blocks]);
    });
    // A connection stopped after its address was dialled again leaves the new one in place.
    return () => {
      connection.open = false;
      if (live.get(input.address) === sendBack) live.delete(input.address);
    };
  });
  const storage = fromCallback<StorageCommand, StorageInput>(({ sendBack }) => {
    toTorrent = sendBack;
  });
  const blocked = actors.blocked;
  const machine = torrentMachine.provide({
    ...(blocked === undefined
      ? {}
      : { guards: { isBlockedAddress: (_: unknown, { address }: { address: string }) => blocked(address) } }),
    actors: {
      peer: peerMachine.provide({ actors: { connection } }),
      // A web seed's connection (BEP 19) is driven by hand the same way, keyed by its URL.
      webSeed: peerMachine.provide({ actors: { connection } }),
      storage: actors.storage ?? storage,
      ...(actors.trackers === undefined ? {} : { trackers: actors.trackers }),
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, {
    clock,
    input: {
      infoHash: new Uint8Array(20),
      peerId: new Uint8Array(20).fill(1),
      pieceCount: 8,
      pieceLength: 1024,
      totalLength: 8 * 1024,
      blockLength: 1024,
      maxPeers: 2,
      seed: 1,
      ...over,
    },
  });
  const emitted: TorrentEmitted[] = [];
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  return {
    actor,
    clock,
    live,
    requested,
    sent,
    sentTo,
    inputs,
    connections,
    emitted,
    storage: (e: StorageEvent) => toTorrent?.(e),
  };
}

/**
 * The peer at `address` handshakes with the BEP 10 bit, then its extension handshake says `p` (and,
 * with `utPex`, that it takes BEP 11 ut_pex messages under that id).
 */
export function extensionHandshake(
  t: ReturnType<typeof start>,
  address: string,
  listenPort?: number,
  peerId = new Uint8Array(20).fill(2),
  utPex?: number,
  transport?: PeerTransport,
): void {
  const send = t.live.get(address);
  assert.ok(send !== undefined, `no connection to ${address}`);
  handshakeOn(send, listenPort, peerId, utPex, transport);
}

/** extensionHandshake on one connection (`send`, as `connections` holds it). */
export function handshakeOn(
  send: (e: ConnectionEvent) => void,
  listenPort?: number,
  peerId = new Uint8Array(20).fill(2),
  utPex?: number,
  transport?: PeerTransport,
): void {
  const reserved = new Uint8Array(8);
  reserved[5] = 0x10;
  send({ type: 'socket.connected' });
  send({
    type: 'wire.handshake',
    infoHash: new Uint8Array(20),
    peerId,
    reserved,
    ...(transport === undefined ? {} : { transport }),
  });
  send({
    type: 'wire.extendedHandshake',
    ...(listenPort === undefined ? {} : { listenPort }),
    ...(utPex === undefined ? {} : { utPex }),
  });
}

/** The handshaken peer at `address` has every piece, unchokes us, and sends the blocks it was asked for. */
export function sendsRequestedBlocks(t: ReturnType<typeof start>, address: string): number[] {
  const send = t.live.get(address)!;
  send({ type: 'wire.bitfield', bitfield: Bitfield.full(8).bytes });
  send({ type: 'wire.unchoke' });
  const blocks = t.requested.get(address) ?? [];
  for (const b of blocks)
    send({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(b.length) });
  return blocks.map((b) => b.index);
}

/**
 * Virtual time passes in 1 s steps: SimulatedClock.increment fires each timer once at most, so a
 * timer that re-arms itself (the ticker, a peer's tick) needs a step per period.
 */
export function advance(t: ReturnType<typeof start>, ms: number): void {
  for (let left = ms; left > 0; left -= 1_000) t.clock.increment(Math.min(1_000, left));
}
