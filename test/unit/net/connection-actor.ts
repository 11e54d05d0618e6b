/**
 * The connection actor (src/net/tcp-connection.ts) under test, over real sockets on 127.0.0.1: a
 * parent machine that invokes it and records every event it sends back, and a TCP listener whose
 * sockets the test closes.
 */
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { type AnyActorLogic, createActor, createMachine } from 'xstate';
import type { ConnectionCommand } from '../../../machines/peer.types.js';

export type Event = { type: string; [k: string]: unknown };

/** A connection actor under a parent that records its events; `send` gives it a command. */
export function run(t: TestContext, logic: AnyActorLogic, input: Record<string, unknown>) {
  const events: Event[] = [];
  const parent = createMachine({
    invoke: { id: 'c', src: logic, input },
    on: { '*': { actions: ({ event }) => events.push(event as Event) } },
  });
  const actor = createActor(parent);
  actor.start();
  t.after(() => actor.stop());
  return {
    events,
    send: (cmd: ConnectionCommand) =>
      (actor.getSnapshot().children as Record<string, { send(c: unknown): void }>).c!.send(cmd),
    waitFor: async (match: (e: Event) => boolean, ms = 5000): Promise<Event> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const e = events.find(match);
        if (e !== undefined) return e;
        if (Date.now() > deadline)
          throw new Error(`timed out; events: ${events.map((x) => x.type).join(' ')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

/** A TCP listener on 127.0.0.1:`port` (default: any); rejects when the port is taken. */
export async function listen(t: TestContext, onSocket: (s: Socket) => void, port = 0): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as { port: number }).port;
}
