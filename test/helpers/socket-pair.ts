/**
 * Two ends of one real TCP connection on 127.0.0.1 (Nagle off on the dialling end), and `close`,
 * which destroys both and closes the listening server: the send-queue tests write to one end and
 * decode what the other reads.
 */
import { connect, createServer, type Socket } from 'node:net';

export async function socketPair(): Promise<[Socket, Socket, () => void]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect({ host: '127.0.0.1', port, noDelay: true });
  const b = await accepted;
  return [
    a,
    b,
    () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  ];
}
