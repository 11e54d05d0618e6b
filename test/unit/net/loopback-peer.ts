/**
 * A peer on 127.0.0.1 for connection tests: a TCP server that writes what `serve` writes to each
 * socket that connects, and is closed (with its sockets) when the test ends.
 */
import { createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { encodeHandshake } from '../../../src/wire/encode-message.js';

/** Starts the server; answers its port. Each connection first gets a handshake, then `serve(socket)`. */
export async function loopbackPeer(t: TestContext, serve: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.write(
      encodeHandshake({
        reserved: new Uint8Array(8),
        infoHash: new Uint8Array(20),
        peerId: new Uint8Array(20),
      }),
    );
    serve(socket);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(
    () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  );
  return (server.address() as { port: number }).port;
}
