/**
 * A small actor harness for the peer machine: a parent that records every report the peer sends
 * (sendParent), an in-memory `connection` that records every command, and a SimulatedClock.
 */
import { type AnyActorRef, assign, createActor, fromCallback, SimulatedClock, setup } from 'xstate';
import { peerMachine } from '../../../machines/peer.machine.js';
import type {
  CloseReason,
  ConnectionCommand,
  ConnectionEvent,
  ConnectionInput,
  PeerCommand,
  PeerInput,
  PeerReport,
} from '../../../machines/peer.types.js';
import { wireItemsOf } from '../../../machines/peer.types.js';
import { Bitfield } from '../../../src/picker/bitfield.js';
import type { WireItem } from '../../../src/wire/messages.js';

export const INFO_HASH = new Uint8Array(20).fill(7);
export const OUR_ID = new Uint8Array(20).fill(1);
export const THEIR_ID = new Uint8Array(20).fill(2);

export interface PeerHarness {
  readonly clock: SimulatedClock;
  readonly reports: PeerReport[];
  /** Every command the machine gave its connection, in order. */
  readonly commands: ConnectionCommand[];
  /** The wire items it sent, in order. */
  readonly sent: () => WireItem[];
  /** Deliver a connection event (socket or wire) to the machine. */
  deliver(e: ConnectionEvent): void;
  command(c: PeerCommand): void;
  state(): unknown;
  output(): CloseReason | undefined;
  isClosed(): boolean;
  /** Connect and complete a valid handshake. */
  handshake(): void;
  /** The same with the BEP 6 bit on both ends; `grant`: the allowed fast set the world computed. */
  fastHandshake(grant?: readonly number[]): void;
  /** The peer machine's context (for fields no report carries). */
  context(): Record<string, unknown> | undefined;
  advance(ms: number): void;
  stop(): void;
}

export function startPeer(overrides: Partial<PeerInput> = {}): PeerHarness {
  const clock = new SimulatedClock();
  const reports: PeerReport[] = [];
  const commands: ConnectionCommand[] = [];
  let toPeer: ((e: ConnectionEvent) => void) | undefined;
  const connection = fromCallback<ConnectionCommand, ConnectionInput>(({ sendBack, receive }) => {
    toPeer = sendBack;
    receive((c) => commands.push(c));
  });
  const input: PeerInput = {
    key: 'peer-a',
    infoHash: INFO_HASH,
    peerId: OUR_ID,
    pieceCount: 20,
    pieceLength: 32768,
    totalLength: 20 * 32768,
    address: '10.0.0.1:6881',
    direction: 'outgoing',
    ourBitfield: new Bitfield(20),
    ...overrides,
  };
  const parent = setup({
    types: { context: {} as { output: CloseReason | undefined } },
    actors: { peer: peerMachine.provide({ actors: { connection } }) },
  }).createMachine({
    context: { output: undefined },
    invoke: {
      id: 'peer',
      src: 'peer',
      input,
      onDone: { actions: assign({ output: ({ event }) => event.output }) },
    },
    on: {
      '*': {
        actions: ({ event }) => {
          if (event.type.startsWith('peer.')) reports.push(event as unknown as PeerReport);
        },
      },
    },
  });
  const actor = createActor(parent, { clock });
  actor.start();
  const peer = (): AnyActorRef | undefined => actor.getSnapshot().children.peer as AnyActorRef | undefined;
  const h: PeerHarness = {
    clock,
    reports,
    commands,
    sent: () => commands.flatMap(wireItemsOf),
    deliver: (e) => toPeer?.(e),
    command: (c) => peer()?.send(c),
    state: () => peer()?.getSnapshot().value,
    output: () => actor.getSnapshot().context.output,
    isClosed: () => actor.getSnapshot().context.output !== undefined,
    handshake: () => {
      h.deliver({ type: 'socket.connected' });
      h.deliver({
        type: 'wire.handshake',
        infoHash: INFO_HASH,
        peerId: THEIR_ID,
        reserved: new Uint8Array(8),
      });
    },
    fastHandshake: (grant) => {
      h.deliver(
        grant === undefined ? { type: 'socket.connected' } : { type: 'socket.connected', allowedFast: grant },
      );
      const reserved = new Uint8Array(8);
      reserved[7] = 0x04;
      h.deliver({ type: 'wire.handshake', infoHash: INFO_HASH, peerId: THEIR_ID, reserved });
    },
    context: () => peer()?.getSnapshot().context as Record<string, unknown> | undefined,
    advance: (ms) => {
      // SimulatedClock fires each timer at most once per increment: step so re-armed timers fire too.
      for (let left = ms; left > 0; left -= 50) clock.increment(Math.min(50, left));
    },
    stop: () => actor.stop(),
  };
  return h;
}
