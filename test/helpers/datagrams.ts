/**
 * Datagrams as they arrive, for tests of UDP on 127.0.0.1: an inbox to hand a UdpEndpoint's
 * handlers (or a plain socket's 'message'), and a plain udp4 socket bound there, closed after the
 * test.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { DatagramSource } from '../../src/net/udp-endpoint.js';
import { type TestContext, within } from './temp-dir.js';

export class Inbox {
  readonly received: { msg: Buffer; from: DatagramSource }[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  /** The handler to give: keeps each datagram. */
  readonly take = (msg: Buffer, from: DatagramSource): void => {
    this.received.push({ msg: Buffer.from(msg), from: { address: from.address, port: from.port } });
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once `count` datagrams have come in all (rejects after 60 s: one was lost). */
  until(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return within(
      60_000,
      new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
      `datagram ${count}`,
    );
  }

  /** The datagrams' bytes as hex, in order. */
  get hex(): string[] {
    return this.received.map((r) => r.msg.toString('hex'));
  }
}

/** A plain udp4 socket on 127.0.0.1 (any port) whose datagrams go to `inbox`. */
export async function plainSocket(t: TestContext): Promise<{ socket: Socket; port: number; inbox: Inbox }> {
  const socket = createSocket('udp4');
  const inbox = new Inbox();
  socket.on('message', inbox.take);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { socket, port: socket.address().port, inbox };
}
