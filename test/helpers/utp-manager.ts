/**
 * A uTP socket manager (src/utp/utp-socket-manager.ts) on a real UDP socket bound to 127.0.0.1, for
 * tests: `port` 0 for any. `onDatagram` sees every datagram before the manager does. Closed by the
 * test (close()).
 */
import { createSocket } from 'node:dgram';
import { UtpSocketManager } from '../../src/utp/utp-socket-manager.js';

export interface TestUtpManager {
  readonly manager: UtpSocketManager;
  readonly port: number;
  close(): Promise<void>;
}

export async function startUtpManager(port = 0, onDatagram?: (msg: Buffer) => void): Promise<TestUtpManager> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  const manager = new UtpSocketManager({
    send: (bytes, p, host) => udp.send(bytes as Uint8Array[], p, host),
  });
  udp.on('message', (msg, from) => {
    onDatagram?.(msg);
    manager.receive(msg, from);
  });
  return {
    manager,
    port: udp.address().port,
    close: async () => {
      manager.close();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}
