/**
 * The peer machine's `connection` actor over real TCP: a socket (dialled, or adopted from the
 * listener) whose bytes go through the wire decoder into `wire.*` events, and whose `send` commands
 * are encoded onto the socket.
 *
 * Events to the machine:  socket.connected · wire.<type> (fields flattened) · wire.error · socket.closed
 * Commands it takes:      { type: 'send', message: WireItem } · { type: 'close' }
 *
 * A piece is written as its 13-byte header plus the block (two writes inside one cork), so the
 * block is never copied. Nagle is off: requests must leave at once.
 */
import { connect, type Socket } from 'node:net';
import { fromCallback } from 'xstate';
import type { ConnectionCommand, ConnectionInput } from '../../machines/peer.types.js';
import { encodeHandshake, encodeMessage, encodePieceHeader } from '../wire/encode-message.js';
import type { WireItem } from '../wire/messages.js';
import { WireDecoder } from '../wire/wire-decoder.js';
import { parsePeerAddress } from './address.js';

export const CONNECT_TIMEOUT_MS = 10_000;
/** Above this many unsent bytes we stop reading the peer's requests until the socket drains. */
export const WRITE_HIGH_WATER = 4 * 1024 * 1024;

/** Turn a decoded item into the machine's event: `{ type: 'wire.<kind>', ...fields }`. */
export function wireEvent(item: WireItem): { type: string } {
  return { ...item, type: `wire.${item.type}` };
}

export function writeItem(socket: Socket, message: WireItem): void {
  if (message.type === 'handshake') {
    socket.write(encodeHandshake(message));
  } else if (message.type === 'piece') {
    socket.cork();
    socket.write(encodePieceHeader(message.index, message.begin, message.block.length));
    socket.write(message.block);
    process.nextTick(() => socket.uncork());
  } else {
    socket.write(encodeMessage(message));
  }
}

/** Observers of the payload moved, for rates and progress (the machines keep no clocks). */
export interface ConnectionHooks {
  readonly onPayloadReceived?: (bytes: number) => void;
  readonly onPayloadSent?: (bytes: number) => void;
}

export function createTcpConnection(hooks: ConnectionHooks = {}) {
  const { onPayloadReceived, onPayloadSent } = hooks;
  return fromCallback<ConnectionCommand, ConnectionInput>(({ input, sendBack, receive }) => {
    let socket: Socket;
    let closed = false;
    let connected = false;
    const decoder = new WireDecoder({ expectHandshake: true });
    const emit = (item: WireItem) => {
      if (item.type === 'piece') onPayloadReceived?.(item.block.length);
      sendBack(wireEvent(item) as never);
    };

    const finish = (error?: string) => {
      if (closed) return;
      closed = true;
      sendBack(error === undefined ? { type: 'socket.closed' } : { type: 'socket.closed', error });
    };

    if (input.handle !== undefined && input.handle !== null) {
      socket = input.handle as Socket;
      connected = true;
    } else {
      const { host, port } = parsePeerAddress(input.address);
      socket = connect({ host, port, noDelay: true });
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
        if (!connected) socket.destroy(new Error('connect timeout'));
      });
      socket.once('connect', () => {
        connected = true;
        socket.setTimeout(0);
        sendBack({ type: 'socket.connected' });
      });
    }
    socket.setNoDelay(true);

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      const error = decoder.push(chunk, emit);
      if (error !== undefined) {
        sendBack({ type: 'wire.error', code: error.code, message: error.message });
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.on('close', () => finish());

    if (connected) queueMicrotask(() => sendBack({ type: 'socket.connected' }));

    receive((cmd) => {
      if (closed || socket.destroyed) return;
      if (cmd.type === 'send') {
        if (cmd.message.type === 'piece') onPayloadSent?.(cmd.message.block.length);
        writeItem(socket, cmd.message);
      } else if (cmd.type === 'close') socket.end(() => socket.destroy());
    });

    return () => {
      closed = true;
      socket.destroy();
    };
  });
}

export const tcpConnection = createTcpConnection();
