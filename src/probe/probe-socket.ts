/**
 * The probe's TCP connection to its target, and its peer id: shared by the fetching side
 * (probe-connection.ts) and the serving side (serving-connection.ts).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { formatPeerAddress, type PeerAddress } from '../net/address.js';
import { ProbeError } from './probe-error.js';

/** Our peer id: Azureus-style client prefix, random rest (BEP 20). */
export function probePeerId(): Uint8Array {
  const id = randomBytes(20);
  id.set(new TextEncoder().encode('-BS0100-'), 0);
  return id;
}

/** Connects within `timeoutMs`, or a ProbeError `unreachable`. */
export function openProbeSocket(target: PeerAddress, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ProbeError('unreachable', `${formatPeerAddress(target)}: no connection within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // the run's own listeners come next
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new ProbeError('unreachable', `${formatPeerAddress(target)}: ${e.message}`, { cause: e }));
    });
  });
}
