/**
 * What a peer connection reads and writes: a TCP socket (node:net) or a uTP one (src/utp/utp-socket.ts),
 * both Node Duplex streams with a remote address and a Nagle switch. The connection
 * (tcp-connection.ts) and its send queue use only this.
 */
import type { Duplex } from 'node:stream';

export type PeerStream = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  setNoDelay(noDelay?: boolean): unknown;
};

export type { PeerTransport } from '../../machines/peer.types.js';
